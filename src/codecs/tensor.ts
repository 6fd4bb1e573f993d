/**
 * Tensors in JS, and their Arrow columns: `arrow.fixed_shape_tensor` (one tensor of a
 * fixed shape per row, row-major in a FixedSizeList) and `arrow.variable_shape_tensor`
 * (a data list and a shape per row). Reading a single-chunk column without nulls is
 * zero-copy: the tensor's data is a view of the Arrow buffer.
 */
import {
  type Data, FixedSizeList, Field, Int32, List, Struct, Type, makeData, makeVector, type DataType, type Vector,
} from 'apache-arrow';
import { arrowType, dtypeOf, floatToHalf, halfToFloat, isDType, typedArrayFor, type DType, type TypedArray } from './dtypes.js';
import { fixedSizeListData, numberData } from '../flight/arrow-internals.js';

/**
 * An n-dimensional array: a typed array of values in row-major order plus a shape.
 *
 * @example
 * const x = new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [2, 2]);
 * const y = Tensor.from([[1, 2], [3, 4]], 'float32');
 */
export class Tensor {
  constructor(readonly dtype: DType, readonly data: TypedArray, readonly shape: readonly number[]) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) {
      throw new RangeError(`tensor of shape [${shape.join(',')}] needs ${size} values, got ${data.length}`);
    }
  }

  /** Number of elements. */
  get size(): number {
    return this.data.length;
  }

  /** The i-th sub-tensor along the first dimension, as a view. */
  row(i: number): Tensor {
    const inner = this.shape.slice(1);
    const n = inner.reduce((a, b) => a * b, 1);
    return new Tensor(this.dtype, this.data.subarray(i * n, (i + 1) * n) as TypedArray, inner);
  }

  /**
   * Iterates the first dimension: values of a 1-D tensor (float16 as numbers, bool as
   * booleans, as toArray() gives them), rows (sub-tensors) otherwise. So
   * `Array.from(labels)` gives one label per example.
   */
  *[Symbol.iterator](): Iterator<unknown> {
    const rows = this.shape[0] ?? 0;
    if (this.shape.length === 1) {
      for (let i = 0; i < rows; i++) {
        yield this.dtype === 'float16' ? halfToFloat((this.data as Uint16Array)[i]!) : this.dtype === 'bool' ? this.data[i] !== 0 : this.data[i];
      }
    } else {
      for (let i = 0; i < rows; i++) yield this.row(i);
    }
  }

  /** Nested JS arrays (float16 as numbers, 64-bit integers as bigint). */
  toArray(): unknown {
    const read = this.dtype === 'float16'
      ? (i: number) => halfToFloat((this.data as Uint16Array)[i]!)
      : this.dtype === 'bool' ? (i: number) => this.data[i] !== 0 : (i: number) => this.data[i];
    const build = (dim: number, offset: number): unknown => {
      if (dim === this.shape.length) return read(offset);
      const stride = this.shape.slice(dim + 1).reduce((a, b) => a * b, 1);
      return Array.from({ length: this.shape[dim]! }, (_, i) => build(dim + 1, offset + i * stride));
    };
    return build(0, 0);
  }

  /**
   * A tensor from a Tensor, an onnxruntime tensor (`{type, data, dims}`), a typed array
   * (1-D, or with `shape`), or nested number arrays.
   */
  static from(value: unknown, dtype?: DType, shape?: number[]): Tensor {
    if (value instanceof Tensor) return dtype && dtype !== value.dtype ? castTensor(value, dtype) : value;
    if (isOrtTensor(value)) {
      const t = new Tensor(value.type as DType, value.data as TypedArray, value.dims.map(Number));
      return dtype && dtype !== t.dtype ? castTensor(t, dtype) : t;
    }
    if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
      const data = value as TypedArray;
      const own = dtypeOfTypedArray(data);
      const t = new Tensor(own, data, shape ?? [data.length]);
      return dtype && dtype !== own ? castTensor(t, dtype) : t;
    }
    if (Array.isArray(value) || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
      const dims = shape ?? nestedShape(value);
      const flat = (Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value]) as (number | boolean | bigint)[];
      return new Tensor(dtype ?? 'float32', fillTyped(dtype ?? 'float32', flat), dims);
    }
    throw new TypeError(`cannot make a tensor from ${describeValue(value)}`);
  }
}

function isOrtTensor(v: unknown): v is { type: string; data: unknown; dims: readonly number[] } {
  return typeof v === 'object' && v !== null && 'dims' in v && 'data' in v && 'type' in v
    && isDType((v as { type: unknown }).type);
}

/** The dtype a typed array holds by default (Uint16Array -> uint16; use Tensor's dtype for float16). */
export function dtypeOfTypedArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Uint32Array) return 'uint32';
  return 'uint64';
}

function nestedShape(value: unknown): number[] {
  const shape: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function fillTyped(dtype: DType, values: (number | boolean | bigint)[]): TypedArray {
  const Out = typedArrayFor(dtype);
  const out = new Out(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (dtype === 'int64' || dtype === 'uint64') (out as BigInt64Array)[i] = BigInt(v as number);
    else if (dtype === 'float16') (out as Uint16Array)[i] = floatToHalf(Number(v));
    else (out as Float64Array)[i] = Number(v);
  }
  return out;
}

function castTensor(t: Tensor, dtype: DType): Tensor {
  const values = t.toArray();
  const flat = (Array.isArray(values) ? (values as unknown[]).flat(Infinity) : [values]) as (number | boolean | bigint)[];
  return new Tensor(dtype, fillTyped(dtype, flat), [...t.shape]);
}

/** For error messages: what kind of thing a value is. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  if (typeof v === 'object') return `a ${(v as object).constructor?.name ?? 'object'}`;
  return `a ${typeof v}`;
}

/**
 * Values [start, start + length) of a primitive Data (no nulls), counted from the Data's
 * first element, as a typed array of the dtype; bools unpacked to 0/1.
 *
 * Why no `data.offset` for non-bool types: apache-arrow's Data.slice already moves the
 * values buffer to the slice's start and keeps `offset` for bit-packed buffers only
 * (validity, and bool values, which it does not slice).
 */
function primitiveValues(data: Data, dtype: DType, start: number, length: number): TypedArray {
  if (dtype === 'bool') {
    const bits = data.values as Uint8Array;
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      const bit = data.offset + start + i;
      out[i] = (bits[bit >> 3]! >> (bit & 7)) & 1;
    }
    return out;
  }
  return (data.values as TypedArray).subarray(start, start + length) as TypedArray;
}

function packBools(values: TypedArray): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 8));
  for (let i = 0; i < values.length; i++) if (values[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function concatTyped(parts: TypedArray[], dtype: DType): TypedArray {
  if (parts.length === 1) return parts[0]!;
  const Out = typedArrayFor(dtype);
  const out = new Out(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    (out as Float64Array).set(p as Float64Array, pos);
    pos += p.length;
  }
  return out;
}

/** Primitive data of `dtype` holding `values`. */
export function primitiveData(dtype: DType, values: TypedArray, type: DataType = arrowType(dtype)): Data {
  if (dtype === 'bool') return makeData({ type, length: values.length, nullCount: 0, data: packBools(values) } as never);
  return numberData(type, values.length, values);
}

/** A primitive column (one value per row) from a typed array. */
export function primitiveColumn(dtype: DType, values: TypedArray): Vector {
  return makeVector(primitiveData(dtype, values));
}

/** Reads a primitive column (no nulls) as a typed array; zero-copy for one chunk. */
export function readPrimitiveColumn(vector: Vector, dtype: DType): TypedArray {
  return concatTyped(vector.data.map((d) => primitiveValues(d, dtype, 0, d.length)), dtype);
}

/**
 * A fixed_shape_tensor column: row i holds `tensor.row(i)`. The field's extension
 * metadata comes from the payload type (see payload.ts); this builds the storage.
 */
export function fixedShapeColumn(tensor: Tensor, type?: FixedSizeList): Vector {
  const rows = tensor.shape[0] ?? 1;
  let size = 1;
  for (let i = 1; i < tensor.shape.length; i++) size *= tensor.shape[i]!;
  // A caller answering many calls passes its field's type, so every column shares it.
  const fits = type !== undefined && type.listSize === size && dtypeOf(type.children[0]!.type) === tensor.dtype;
  const listType = fits ? type : new FixedSizeList(size, new Field('item', arrowType(tensor.dtype), false));
  const child = primitiveData(tensor.dtype, tensor.data, listType.children[0]!.type);
  return makeVector(fixedSizeListData(listType, rows, child));
}

/**
 * Reads a FixedSizeList column as a tensor of shape [rows, ...innerShape]. The element
 * dtype is the child's; one chunk without offset is read without copying.
 */
export function readFixedShapeColumn(vector: Vector, innerShape: readonly number[]): Tensor {
  const type = vector.type as FixedSizeList;
  const dtype = dtypeOf(type.children[0]!.type)!;
  const size = type.listSize;
  // A fixed-size list's slice slices its child too, so the child starts at row 0.
  const parts = vector.data.map((d) => primitiveValues(d.children[0]!, dtype, 0, d.length * size));
  return new Tensor(dtype, concatTyped(parts, dtype), [vector.length, ...innerShape]);
}

/** A variable_shape_tensor column from per-row tensors (any shapes of the same rank). */
export function variableShapeColumn(tensors: Tensor[], dtype: DType, ndim: number): Vector {
  const offsets = new Int32Array(tensors.length + 1);
  const shapes = new Int32Array(tensors.length * ndim);
  tensors.forEach((t, i) => {
    if (t.shape.length !== ndim) throw new RangeError(`row ${i} has rank ${t.shape.length}, expected ${ndim}`);
    offsets[i + 1] = offsets[i]! + t.size;
    shapes.set(t.shape, i * ndim);
  });
  const values = concatTyped(tensors.map((t) => (t.dtype === dtype ? t.data : Tensor.from(t, dtype).data)), dtype);
  const itemField = new Field('item', arrowType(dtype), false);
  const dataType = new List(itemField);
  const shapeType = new FixedSizeList(ndim, new Field('item', new Int32(), false));
  const listData = makeData({ type: dataType, length: tensors.length, nullCount: 0, valueOffsets: offsets, child: primitiveData(dtype, values) });
  const shapeData = makeData({ type: shapeType, length: tensors.length, nullCount: 0, child: primitiveData('int32', shapes) } as never) as Data;
  const type = new Struct([new Field('data', dataType, false), new Field('shape', shapeType, false)]);
  return makeVector(makeData({ type, length: tensors.length, nullCount: 0, children: [listData, shapeData] }));
}

/** Reads a variable_shape_tensor column into one tensor per row (views where possible). */
export function readVariableShapeColumn(vector: Vector): Tensor[] {
  const out: Tensor[] = [];
  for (const d of vector.data) {
    const [listData, shapeData] = d.children as [Data, Data];
    const dtype = dtypeOf((listData.type as List).children[0]!.type)!;
    const ndim = (shapeData.type as FixedSizeList).listSize;
    const offsets = listData.valueOffsets as Int32Array;
    const shapeValues = shapeData.children[0]!.values as Int32Array;
    const valuesData = listData.children[0]!;
    // Sliced struct: its children are sliced; the list's offsets are, its values are not.
    for (let i = 0; i < d.length; i++) {
      const begin = offsets[i]!;
      const end = offsets[i + 1]!;
      const shape = Array.from(shapeValues.subarray(i * ndim, (i + 1) * ndim));
      out.push(new Tensor(dtype, primitiveValues(valuesData, dtype, begin, end - begin), shape));
    }
  }
  return out;
}

/** True if an Arrow type is a variable_shape_tensor storage struct. */
export function isVariableShapeStorage(type: DataType): boolean {
  return type.typeId === Type.Struct && type.children.length === 2
    && type.children[0]!.name === 'data' && type.children[1]!.name === 'shape';
}
