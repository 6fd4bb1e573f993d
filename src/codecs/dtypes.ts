/**
 * Element types of tensors and scalars, and their Arrow, typed-array and KServe V2
 * counterparts. One table, so every codec and every error message agrees.
 */
import {
  Bool, Float16, Float32, Float64, Int16, Int32, Int64, Int8, Uint16, Uint32, Uint64, Uint8, Type,
  type DataType,
} from 'apache-arrow';

/** A tensor or scalar element type. */
export type DType =
  | 'bool' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'float16' | 'float32' | 'float64';

/** The typed array that holds each dtype's values (float16 as raw IEEE half bits). */
export type TypedArray =
  | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array
  | BigUint64Array | Float32Array | Float64Array;

interface DTypeInfo {
  arrow: () => DataType;
  array: { new (n: number): TypedArray; new (b: ArrayBuffer, o: number, n: number): TypedArray; BYTES_PER_ELEMENT: number };
  kserve: string;
}

const info: Record<DType, DTypeInfo> = {
  bool: { arrow: () => new Bool(), array: Uint8Array, kserve: 'BOOL' },
  int8: { arrow: () => new Int8(), array: Int8Array, kserve: 'INT8' },
  int16: { arrow: () => new Int16(), array: Int16Array, kserve: 'INT16' },
  int32: { arrow: () => new Int32(), array: Int32Array, kserve: 'INT32' },
  int64: { arrow: () => new Int64(), array: BigInt64Array, kserve: 'INT64' },
  uint8: { arrow: () => new Uint8(), array: Uint8Array, kserve: 'UINT8' },
  uint16: { arrow: () => new Uint16(), array: Uint16Array, kserve: 'UINT16' },
  uint32: { arrow: () => new Uint32(), array: Uint32Array, kserve: 'UINT32' },
  uint64: { arrow: () => new Uint64(), array: BigUint64Array, kserve: 'UINT64' },
  float16: { arrow: () => new Float16(), array: Uint16Array, kserve: 'FP16' },
  float32: { arrow: () => new Float32(), array: Float32Array, kserve: 'FP32' },
  float64: { arrow: () => new Float64(), array: Float64Array, kserve: 'FP64' },
};

/** Every dtype name. */
export const DTYPES = Object.keys(info) as DType[];

export function isDType(x: unknown): x is DType {
  return typeof x === 'string' && x in info;
}

/** The Arrow type of a dtype. */
export function arrowType(dtype: DType): DataType {
  return info[dtype].arrow();
}

/** The typed-array constructor holding a dtype's values. */
export function typedArrayFor(dtype: DType) {
  return info[dtype].array;
}

/** The KServe V2 datatype name (BOOL, INT64, FP32, ...). */
export function kserveDatatype(dtype: DType): string {
  return info[dtype].kserve;
}

/** The dtype of an Arrow type, or undefined if it is not a primitive numeric/bool type. */
export function dtypeOf(type: DataType): DType | undefined {
  switch (type.typeId) {
    case Type.Bool: return 'bool';
    case Type.Int: {
      const { bitWidth, isSigned } = type as Int8;
      return `${isSigned ? 'int' : 'uint'}${bitWidth}` as DType;
    }
    case Type.Float: {
      const precision = (type as Float32).precision;
      return precision === 0 ? 'float16' : precision === 1 ? 'float32' : 'float64';
    }
    default: return undefined;
  }
}

/**
 * Safe widenings a call may send instead of the declared dtype: no value changes.
 * (int32 -> int64, float32 -> float64, and the like.)
 */
const widenings: Partial<Record<DType, DType[]>> = {
  int64: ['int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32'],
  int32: ['int8', 'int16', 'uint8', 'uint16'],
  int16: ['int8', 'uint8'],
  uint64: ['uint8', 'uint16', 'uint32'],
  uint32: ['uint8', 'uint16'],
  uint16: ['uint8'],
  float64: ['float32', 'float16', 'int8', 'int16', 'int32', 'uint8', 'uint16', 'uint32'],
  float32: ['float16', 'int8', 'int16', 'uint8', 'uint16'],
};

/** True if a value of dtype `from` may be passed where `to` is declared. */
export function canWiden(from: DType, to: DType): boolean {
  return from === to || (widenings[to]?.includes(from) ?? false);
}

/** Converts values between dtypes (used for safe widenings only). */
export function convertValues(values: TypedArray, from: DType, to: DType): TypedArray {
  if (from === to) return values;
  const Out = typedArrayFor(to);
  const out = new Out(values.length);
  const read = from === 'float16' ? (i: number) => halfToFloat((values as Uint16Array)[i]!) : (i: number) => Number(values[i]!);
  if (to === 'int64' || to === 'uint64') {
    for (let i = 0; i < values.length; i++) (out as BigInt64Array)[i] = BigInt(read(i));
  } else {
    for (let i = 0; i < values.length; i++) (out as Float64Array)[i] = read(i);
  }
  return out;
}

/** IEEE 754 half (as its 16 bits) to a JS number. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A JS number to IEEE 754 half bits (round to nearest). */
export function floatToHalf(value: number): number {
  const f32 = new Float32Array([value]);
  const x = new Uint32Array(f32.buffer)[0]!;
  const sign = (x >> 16) & 0x8000;
  const exp = ((x >> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 0x1f) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >> (1 - exp);
    return sign | ((m + 0x1000) >> 13);
  }
  return sign | (exp << 10) | ((mant + 0x1000) >> 13);
}
