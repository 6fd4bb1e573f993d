/**
 * The elements of one V2 tensor, read from whichever form they arrived in: raw bytes
 * (gRPC raw_input_contents, REST binary data), typed lists (gRPC InferTensorContents)
 * or JSON values (REST). Every size and count is checked against the tensor's shape
 * before anything is allocated, so a hostile request costs only its own error.
 */
import { floatToHalf, typedArrayFor, type DType, type TypedArray } from '../codecs/dtypes.js';
import { splitBytes } from '../codecs/v2-bytes.js';
import { FlightError } from '../flight/index.js';
import { ELEMENT_BYTES } from './datatypes.js';
import { int64BigInt, type InferTensorContents } from './messages.js';

/** A tensor's data as it arrived. */
export type TensorData =
  | { raw: Uint8Array }
  | { contents: InferTensorContents }
  | { values: unknown[] };

/** Which InferTensorContents list holds each dtype (FP16 has none: raw only). */
const CONTENTS_FIELD: Record<DType, keyof InferTensorContents | undefined> = {
  bool: 'bool_contents',
  int8: 'int_contents', int16: 'int_contents', int32: 'int_contents',
  uint8: 'uint_contents', uint16: 'uint_contents', uint32: 'uint_contents',
  int64: 'int64_contents', uint64: 'uint64_contents',
  float16: undefined, float32: 'fp32_contents', float64: 'fp64_contents',
};

/** Value ranges of the integer dtypes carried in 32-bit lists or JSON numbers. */
const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295],
};

const LIST_NAMES: (keyof InferTensorContents)[] = [
  'bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents',
];

/** The one non-empty contents list, checked to be `expected`. */
function contentsList(contents: InferTensorContents, expected: keyof InferTensorContents | undefined, datatype: string, where: string): unknown[] {
  const used = LIST_NAMES.filter((name) => (contents[name]?.length ?? 0) > 0);
  if (!expected) throw FlightError.invalidArgument(`${where}: ${datatype} data cannot travel in typed contents; send it in raw_input_contents`);
  const wrong = used.filter((name) => name !== expected);
  if (wrong.length) {
    throw FlightError.invalidArgument(`${where}: ${datatype} data goes in contents.${expected}, but the request filled contents.${wrong.join(', contents.')}`);
  }
  return (contents[expected] ?? []) as unknown[];
}

function countMismatch(where: string, got: number, count: number, shape: readonly number[], unit = 'elements'): FlightError {
  return FlightError.invalidArgument(`${where}: shape [${shape.join(',')}] needs ${count} ${unit}, the request carries ${got}`);
}

/**
 * The `count` elements of a numeric tensor as a typed array of `dtype` (bool: one byte
 * per element, 0 or 1). Raw data is viewed in place when aligned, copied otherwise.
 */
export function numericElements(
  dtype: DType, datatype: string, count: number, shape: readonly number[], data: TensorData, where: string,
): TypedArray {
  const Out = typedArrayFor(dtype);
  const size = ELEMENT_BYTES[dtype];
  if ('raw' in data) {
    const raw = data.raw;
    if (raw.byteLength !== count * size) {
      throw FlightError.invalidArgument(
        `${where}: raw data of ${raw.byteLength} bytes does not fit shape [${shape.join(',')}] of ${datatype} (${count} elements x ${size} bytes = ${count * size} bytes)`,
      );
    }
    // A view when aligned; else a copy (new Uint8Array(raw) copies, where a Buffer's slice() would not).
    const aligned = raw.byteOffset % size === 0;
    const values = aligned ? new Out(raw.buffer as ArrayBuffer, raw.byteOffset, count) : new Out(new Uint8Array(raw).buffer, 0, count);
    if (dtype === 'bool') {
      for (let i = 0; i < count; i++) {
        if (values[i]! > 1) throw FlightError.invalidArgument(`${where}: BOOL element ${i} is byte ${values[i]}; each element must be 0 or 1`);
      }
    }
    return values;
  }
  const list = 'contents' in data ? contentsList(data.contents, CONTENTS_FIELD[dtype], datatype, where) : data.values;
  if (list.length !== count) throw countMismatch(where, list.length, count, shape);
  const out = new Out(count);
  const json = 'values' in data;
  for (let i = 0; i < count; i++) out[i] = element(dtype, datatype, list[i], i, json, where) as never;
  return out;
}

/** One typed-list or JSON element as the value a typed array of `dtype` holds. */
function element(dtype: DType, datatype: string, v: unknown, i: number, json: boolean, where: string): number | bigint {
  const bad = (why: string) => FlightError.invalidArgument(`${where}: element ${i} ${why}`);
  if (dtype === 'bool') {
    if (typeof v !== 'boolean') throw bad(`is ${JSON.stringify(v)}; BOOL elements are true or false`);
    return v ? 1 : 0;
  }
  if (dtype === 'int64' || dtype === 'uint64') {
    if (json) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw bad(`is ${JSON.stringify(v)}; ${datatype} JSON elements are integers within ±(2^53-1) (send larger values as binary data)`);
      }
      if (dtype === 'uint64' && v < 0) throw bad(`is ${v}; UINT64 elements are not negative`);
      return BigInt(v);
    }
    return int64BigInt(v as Parameters<typeof int64BigInt>[0], dtype === 'uint64');
  }
  if (typeof v !== 'number') throw bad(`is ${JSON.stringify(v)}; ${datatype} elements are numbers`);
  const range = INT_RANGE[dtype];
  if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) throw bad(`is ${v}, outside ${datatype}'s range ${range[0]}..${range[1]}`);
  return dtype === 'float16' ? floatToHalf(v) : v;
}

/**
 * The `count` elements of a BYTES tensor, as views of the request where possible.
 * Raw BYTES data is a 4-byte little-endian length before each element, nothing after
 * the last; JSON BYTES elements are strings (their UTF-8 bytes).
 */
export function bytesElements(count: number, shape: readonly number[], data: TensorData, where: string): Uint8Array[] {
  if ('raw' in data) {
    try {
      return splitBytes(data.raw, count);
    } catch (err) {
      throw FlightError.invalidArgument(`${where}: ${(err as Error).message} (shape [${shape.join(',')}])`);
    }
  }
  if ('contents' in data) {
    const list = contentsList(data.contents, 'bytes_contents', 'BYTES', where) as Uint8Array[];
    if (list.length !== count) throw countMismatch(where, list.length, count, shape);
    return list;
  }
  if (data.values.length !== count) throw countMismatch(where, data.values.length, count, shape);
  return data.values.map((v, i) => {
    if (typeof v !== 'string') throw FlightError.invalidArgument(`${where}: BYTES element ${i} is ${JSON.stringify(v)?.slice(0, 40)}; JSON BYTES elements are strings`);
    return Buffer.from(v, 'utf8');
  });
}
