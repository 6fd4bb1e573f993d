/**
 * Output batches as the values an SDK user gets back. The codecs read a column as the
 * storage a runner works with (int64 as BigInt64Array, float16 as raw half bits, bools
 * as 0/1 bytes); a TypeScript caller wants what those stand for. So, on the SDK side only:
 *
 * - int64 / uint64: JS numbers when every value of the column is a safe integer
 *   (|v| <= 2^53 - 1): a `number`, a Float64Array of a batch, a `float64` Tensor.
 *   Otherwise (or with `{ int64: 'bigint' }`) bigint, BigInt64Array / BigUint64Array
 *   and an `int64` Tensor, so no value is ever rounded.
 * - float16: the numeric values, as a Float32Array or a `float32` Tensor (every half
 *   value is exact in float32). Float16Array is not used even where the runtime has
 *   it, so a result has the same type on every Node version.
 * - bool: `boolean`, `boolean[]` for a batch of scalars; a bool tensor stays a `bool`
 *   Tensor (its `toArray()` gives nested booleans, one per element).
 */
import type { RecordBatch } from 'apache-arrow';
import { columnToValue } from '../codecs/columns.js';
import { halfToFloat, type DType, type TypedArray } from '../codecs/dtypes.js';
import { Tensor } from '../codecs/tensor.js';
import type { PayloadType } from '../codecs/payload.js';
import type { MethodSignature, ParamSpec } from '../runner/signature.js';

/** How results are handed back (per client or per handle). */
export interface ValueOptions {
  /**
   * 64-bit integer outputs: `'number'` (the default) gives JS numbers when every value of
   * the column is a safe integer, and bigint otherwise; `'bigint'` always gives bigint.
   */
  int64?: 'number' | 'bigint';
}

type ColumnType = Exclude<PayloadType, { kind: 'table' }>;

/** Throws a TypeError for an option value that is not one of the documented ones (a typo). */
export function checkValueOptions(options: ValueOptions): void {
  if (options.int64 !== undefined && options.int64 !== 'number' && options.int64 !== 'bigint') {
    throw new TypeError(`int64 must be 'number' or 'bigint', got ${JSON.stringify(options.int64)}`);
  }
}

/**
 * Decodes an output batch: one output as its value, several as an object keyed by
 * output name; `single` unwraps each to its one example.
 */
export function decodeResult(sig: MethodSignature, batch: RecordBatch, single: boolean, options: ValueOptions = {}): unknown {
  if (sig.outputs.length === 1 && sig.outputs[0]!.type.kind === 'table') return batch;
  const values: Record<string, unknown> = {};
  for (const p of sig.outputs as (ParamSpec & { type: ColumnType })[]) {
    const column = batch.getChild(p.name);
    if (!column) throw new TypeError(`result has no output '${p.name}'`);
    const value = userValue(columnToValue(column, p.type), p.type, options);
    values[p.name] = single ? firstExample(value) : value;
  }
  return sig.outputs.length === 1 ? values[sig.outputs[0]!.name] : values;
}

/**
 * A decoded column (typed array, Tensor, Tensor[] or plain array) as the SDK returns it.
 * The declared type tells a float16 or bool scalar column (Uint16Array / Uint8Array
 * storage) from a uint16 or uint8 one.
 */
export function userValue(value: unknown, type: ColumnType, options: ValueOptions = {}): unknown {
  if (value instanceof Tensor) return userTensor(value, options);
  if (Array.isArray(value)) {
    // A plain array of numbers is how a nullable column reads (null where missing).
    if (type.kind === 'scalar' || (type.kind === 'tensor' && type.shape.length === 0)) return userNumbers(value, type.dtype, options);
    return value.map((v) => (v instanceof Tensor ? userTensor(v, options) : v));
  }
  if (type.kind === 'scalar' && ArrayBuffer.isView(value)) {
    const values = value as TypedArray;
    switch (type.dtype) {
      case 'float16': return halfsToFloats(values as Uint16Array);
      case 'bool': return Array.from(values as Uint8Array, (v) => v !== 0);
      case 'int64':
      case 'uint64': return options.int64 === 'bigint' ? values : safeNumbers(values as BigInt64Array) ?? values;
      default: return values;
    }
  }
  return value;
}

function userTensor(t: Tensor, options: ValueOptions): Tensor {
  if (t.dtype === 'float16') return new Tensor('float32', halfsToFloats(t.data as Uint16Array), t.shape);
  if ((t.dtype === 'int64' || t.dtype === 'uint64') && options.int64 !== 'bigint') {
    const numbers = safeNumbers(t.data as BigInt64Array | BigUint64Array);
    if (numbers) return new Tensor('float64', numbers, t.shape);
  }
  return t;
}

/** Per-row values with nulls: the same conversions as typed arrays get, nulls kept. */
function userNumbers(values: unknown[], dtype: DType, options: ValueOptions): unknown[] {
  switch (dtype) {
    case 'bool': return values.map((v) => (v === null ? null : Boolean(v)));
    case 'float16': return values.map((v) => (v === null ? null : halfToFloat(v as number)));
    case 'int64':
    case 'uint64': {
      if (options.int64 === 'bigint') return values;
      const max = BigInt(Number.MAX_SAFE_INTEGER);
      const safe = values.every((v) => typeof v !== 'bigint' || (v <= max && v >= -max));
      return safe ? values.map((v) => (typeof v === 'bigint' ? Number(v) : v)) : values;
    }
    default: return values;
  }
}

/** Float32 values of half-precision bits. */
function halfsToFloats(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfToFloat(bits[i]!);
  return out;
}

/** The values as float64 when every one is a safe integer; undefined otherwise. */
function safeNumbers(values: BigInt64Array | BigUint64Array): Float64Array | undefined {
  const out = new Float64Array(values.length);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v > max || v < -max) return undefined;
    out[i] = Number(v);
  }
  return out;
}

function firstExample(value: unknown): unknown {
  if (value instanceof Tensor) return value.shape.length > 1 ? value.row(0) : (value.toArray() as unknown[])[0];
  if (ArrayBuffer.isView(value)) return (value as unknown as ArrayLike<unknown>)[0];
  if (Array.isArray(value)) return value[0];
  return value;
}
