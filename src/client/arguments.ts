/**
 * How `runner.run(...)` arguments become an input batch, and an output batch becomes
 * return values. Positional arguments fill the declared inputs in order, an object of
 * input names fills them by name. A value may be one example (a tensor of the
 * per-example shape, a number, a string) or a batch of examples (one more dimension,
 * an array); results come back in the same form.
 */
import { Table, type DataType, type RecordBatch } from 'apache-arrow';
import { columnToValue, tableToBatch, valuesToBatch } from '../codecs/columns.js';
import { isDataFrame } from '../codecs/dataframe.js';
import { Tensor } from '../codecs/tensor.js';
import { PARAMS_METADATA_KEY } from '../runner/params.js';
import type { PayloadType } from '../runner/payload.js';
import type { CallParams } from '../runner/runner.js';
import type { MethodSignature, ParamSpec } from '../runner/signature.js';
import { tableInput } from '../runner/signature.js';

/** An encoded call: the batch to send, and whether results are unwrapped to one example. */
export interface EncodedCall {
  batch: RecordBatch;
  single: boolean;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** Assigns positional and named arguments to the declared inputs. */
export function bindArguments(sig: MethodSignature, args: unknown[]): Record<string, unknown> {
  const names = sig.inputs.map((p) => p.name);
  const bound: Record<string, unknown> = {};
  let positional = args;
  const last = args[args.length - 1];
  const looksNamed = isPlainObject(last) && Object.keys(last).length > 0 && Object.keys(last).every((k) => names.includes(k))
    && !(args.length === 1 && sig.inputs.length === 1 && sig.inputs[0]!.type.kind === 'json' && !(names[0]! in last));
  if (looksNamed) {
    positional = args.slice(0, -1);
    Object.assign(bound, last);
  }
  if (positional.length > names.length) {
    throw new TypeError(`${sig.name} takes ${names.length} argument(s) (${names.join(', ')}), got ${positional.length}`);
  }
  positional.forEach((value, i) => {
    if (names[i]! in bound) throw new TypeError(`${sig.name}: '${names[i]}' given both by position and by name`);
    bound[names[i]!] = value;
  });
  const missing = names.filter((n) => !(n in bound));
  if (missing.length) throw new TypeError(`${sig.name}: missing argument(s) ${missing.map((n) => `'${n}'`).join(', ')}`);
  return bound;
}

/** True if `value` is one example of `type` (rather than a batch of them). */
export function isSingleExample(value: unknown, type: PayloadType): boolean {
  switch (type.kind) {
    case 'tensor': return rankOf(value) === type.shape.length;
    case 'scalar': return typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean';
    case 'string': return typeof value === 'string';
    case 'bytes': return value instanceof Uint8Array;
    case 'json': return !Array.isArray(value);
    case 'table': return false;
  }
}

function rankOf(value: unknown): number {
  if (value instanceof Tensor) return value.shape.length;
  if (value && typeof value === 'object' && 'dims' in value) return (value as { dims: unknown[] }).dims.length;
  if (ArrayBuffer.isView(value)) return 1;
  let rank = 0;
  let v = value;
  while (Array.isArray(v)) {
    rank++;
    v = v[0];
  }
  // An array of tensors (or typed arrays) is a batch of them: their rank adds to its own.
  return rank === 0 ? 0 : rank + rankOf(v);
}

function asBatchOfOne(value: unknown, type: PayloadType): unknown {
  switch (type.kind) {
    case 'tensor': {
      const t = Tensor.from(value, type.dtype);
      return new Tensor(t.dtype, t.data, [1, ...t.shape]);
    }
    case 'scalar': return [value];
    default: return [value];
  }
}

/** Encodes bound arguments (and call params) as one input batch. */
export function encodeCall(sig: MethodSignature, args: unknown[], params: CallParams = {}): EncodedCall {
  const metadata = Object.keys(params).length ? new Map([[PARAMS_METADATA_KEY, JSON.stringify(params)]]) : undefined;
  const table = tableInput(sig);
  if (table) {
    const value = args.length === 1 && !isPlainObject(args[0]) ? args[0] : bindArguments(sig, args)[table.name];
    return { batch: tableToBatch(value, table.name, metadata, table.type.columns), single: false };
  }
  const bound = bindArguments(sig, args);
  const singles = sig.inputs.map((p) => isSingleExample(bound[p.name], p.type));
  const single = singles.every(Boolean);
  if (!single && singles.some(Boolean)) {
    const which = sig.inputs.filter((_, i) => singles[i]).map((p) => `'${p.name}'`).join(', ');
    throw new TypeError(`${sig.name}: ${which} given as one example while other inputs are batches; give all as one or all as batches`);
  }
  const values = single ? Object.fromEntries(sig.inputs.map((p) => [p.name, asBatchOfOne(bound[p.name], p.type)])) : bound;
  return { batch: valuesToBatch(sig.inputs, values, metadata), single };
}

/** Decodes an output batch: one output as its value, several keyed by name; unwraps single examples. */
export function decodeResult(sig: MethodSignature, batch: RecordBatch, single: boolean): unknown {
  if (sig.outputs.length === 1 && sig.outputs[0]!.type.kind === 'table') return batch;
  const values: Record<string, unknown> = {};
  for (const p of sig.outputs as (ParamSpec & { type: Exclude<PayloadType, { kind: 'table' }> })[]) {
    const column = batch.getChild(p.name);
    if (!column) throw new TypeError(`result has no output '${p.name}'`);
    const value = columnToValue(column, p.type);
    values[p.name] = single ? firstExample(value) : value;
  }
  return sig.outputs.length === 1 ? values[sig.outputs[0]!.name] : values;
}

function firstExample(value: unknown): unknown {
  if (value instanceof Tensor) return value.shape.length > 1 ? value.row(0) : (value.dtype === 'float16' ? value.toArray() as unknown[] : Array.from(value.data as ArrayLike<unknown>))[0];
  if (ArrayBuffer.isView(value)) return (value as unknown as ArrayLike<unknown>)[0];
  if (Array.isArray(value)) return value[0];
  return value;
}

/**
 * Splits a DataFrame, Table or RecordBatch into record batches of at most `rows` rows,
 * for streaming. Tables are sliced batch by batch (zero-copy).
 */
export function* chunksOf(value: unknown, rows: number, columns?: Record<string, DataType>): Iterable<RecordBatch> {
  // `columns`: a table input's declared column types, which a DataFrame's columns take.
  const batches = value instanceof Table ? value.batches : [tableToBatch(value, 'input', undefined, columns)];
  for (const batch of batches) {
    for (let start = 0; start < batch.numRows; start += rows) {
      yield start === 0 && batch.numRows <= rows ? batch : batch.slice(start, Math.min(batch.numRows, start + rows));
    }
  }
}

export { isDataFrame };
