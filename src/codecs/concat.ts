/**
 * Concatenates record batches row-wise into one contiguous batch: what the batcher
 * does to merge concurrent calls into one backend call. Tensor columns (fixed-size
 * lists of numbers) and primitives are a typed-array copy each; strings, lists and
 * structs are rebuilt buffer by buffer; anything rarer goes through JS values.
 */
import { Type, makeData, makeVector, vectorFromArray, type Data, type DataType, type RecordBatch } from 'apache-arrow';
import { fixedSizeListData, isPlain, numberData } from '../flight/arrow-internals.js';
import { batchOfColumns } from '../flight/record-batch.js';

/** One batch holding the rows of `batches`, in order (all share the first one's schema). */
export function concatBatches(batches: RecordBatch[]): RecordBatch {
  if (batches.length === 1) return batches[0]!;
  const schema = batches[0]!.schema;
  const children = schema.fields.map((_, i) => concatData(batches.map((b) => b.data.children[i]!)));
  const length = batches.reduce((n, b) => n + b.numRows, 0);
  return batchOfColumns(schema, length, children);
}

type TypedArrayLike = { length: number; subarray(a: number, b: number): TypedArrayLike; set(a: ArrayLike<unknown>, o: number): void; constructor: { new (n: number): TypedArrayLike } };

function concatTyped(parts: TypedArrayLike[]): TypedArrayLike {
  const out = new parts[0]!.constructor(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p as unknown as ArrayLike<unknown>, pos);
    pos += p.length;
  }
  return out;
}

/** Bits [offset, offset + length) of each bitmap, back to back. */
function concatBits(parts: { bits: Uint8Array | undefined; offset: number; length: number; allSet: boolean }[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(((total + 63) & ~63) >> 3);
  let pos = 0;
  for (const { bits, offset, length, allSet } of parts) {
    for (let i = 0; i < length; i++, pos++) {
      const set = allSet || ((bits![(offset + i) >> 3]! >> ((offset + i) & 7)) & 1) === 1;
      if (set) out[pos >> 3]! |= 1 << (pos & 7);
    }
  }
  return out;
}

/** Concatenates Data of one type (each may be a slice: see tensor.ts on apache-arrow's slices). */
export function concatData(datas: Data[]): Data {
  if (datas.every(isPlain)) return concatPlain(datas);
  const type = datas[0]!.type as DataType;
  const length = datas.reduce((n, d) => n + d.length, 0);
  const nullCount = datas.reduce((n, d) => n + d.nullCount, 0);
  const nullBitmap = nullCount > 0
    ? concatBits(datas.map((d) => ({ bits: d.nullBitmap, offset: d.offset, length: d.length, allSet: d.nullCount === 0 })))
    : undefined;
  const base = { type, length, nullCount, ...(nullBitmap ? { nullBitmap } : {}) };
  switch (type.typeId) {
    case Type.Bool:
      return makeData({ ...base, data: concatBits(datas.map((d) => ({ bits: d.values, offset: d.offset, length: d.length, allSet: false }))) } as never);
    case Type.Int: case Type.Float: case Type.Date: case Type.Time: case Type.Timestamp:
    case Type.Duration: case Type.Decimal: case Type.FixedSizeBinary: case Type.Interval:
      return makeData({ ...base, data: concatTyped(datas.map((d) => (d.values as unknown as TypedArrayLike).subarray(0, d.length * d.stride))) } as never);
    case Type.FixedSizeList: {
      const size = (type as unknown as { listSize: number }).listSize;
      const child = concatData(datas.map((d) => sliceTo(d.children[0]!, d.length * size)));
      return makeData({ ...base, child } as never);
    }
    case Type.Struct:
      return makeData({ ...base, children: type.children.map((_, i) => concatData(datas.map((d) => sliceTo(d.children[i]!, d.length)))) } as never);
    case Type.Utf8: case Type.Binary: case Type.LargeUtf8: case Type.LargeBinary: {
      const { valueOffsets, values } = rebase(datas, (d, begin, end) => (d.values as unknown as TypedArrayLike).subarray(begin, end));
      return makeData({ ...base, valueOffsets, data: concatTyped(values) } as never);
    }
    case Type.List: case Type.LargeList: case Type.Map: {
      const { valueOffsets, values } = rebase(datas, (d, begin, end) => d.children[0]!.slice(begin, end - begin) as unknown as TypedArrayLike);
      return makeData({ ...base, valueOffsets, child: concatData(values as unknown as Data[]) } as never);
    }
    default:
      // Unions, dictionaries, views: rare in model inputs; rebuild from values.
      return vectorFromArray(datas.flatMap((d) => [...makeVector(d)]) as never, type).data[0]!;
  }
}

/**
 * Plain columns (numbers and tensors without nulls: see isPlain), the columns of nearly
 * every model call, concatenated with one typed-array copy per column and the Data built
 * directly. This runs once per merged backend call, too rarely for the JIT to optimize the
 * general path, whose visitors and per-level arrays were a visible share of each call.
 */
function concatPlain(datas: Data[]): Data {
  const type = datas[0]!.type as DataType;
  let length = 0;
  for (const d of datas) length += d.length;
  if (type.typeId === Type.FixedSizeList) {
    const size = (type as unknown as { listSize: number }).listSize;
    const children = new Array<Data>(datas.length);
    for (let i = 0; i < datas.length; i++) children[i] = sliceTo(datas[i]!.children[0]!, datas[i]!.length * size);
    return fixedSizeListData(type, length, concatPlain(children));
  }
  // A number column: its values start at its first row (see tensor.ts on slices).
  const stride = datas[0]!.stride;
  const ArrayType = (type as unknown as { ArrayType: new (n: number) => TypedArrayLike }).ArrayType;
  const out = new ArrayType(length * stride);
  let pos = 0;
  for (const d of datas) {
    const n = d.length * stride;
    out.set((d.values as unknown as TypedArrayLike).subarray(0, n) as unknown as ArrayLike<unknown>, pos);
    pos += n;
  }
  return numberData(type, length, out as unknown as ArrayBufferView);
}

function sliceTo(child: Data, length: number): Data {
  return child.length === length ? child : child.slice(0, length);
}

/** Offsets rebased to one values buffer, and each Data's value range. */
function rebase(datas: Data[], range: (d: Data, begin: number, end: number) => TypedArrayLike) {
  const large = datas[0]!.valueOffsets instanceof BigInt64Array;
  const total = datas.reduce((n, d) => n + d.length, 0);
  const offsets = large ? new BigInt64Array(total + 1) : new Int32Array(total + 1);
  const values: TypedArrayLike[] = [];
  let row = 0;
  let at = 0;
  for (const d of datas) {
    // A slice's offsets buffer is sliced (it starts at the slice's first row).
    const o = d.valueOffsets as Int32Array | BigInt64Array;
    const first = Number(o[0]!);
    for (let i = 1; i <= d.length; i++) {
      const v = at + Number(o[i]!) - first;
      if (large) (offsets as BigInt64Array)[row + i] = BigInt(v);
      else (offsets as Int32Array)[row + i] = v;
    }
    const last = Number(o[d.length]!);
    values.push(range(d, first, last));
    at += last - first;
    row += d.length;
  }
  return { valueOffsets: offsets, values };
}
