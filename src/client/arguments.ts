/**
 * How `runner.run(...)` arguments become an input batch, and an output batch becomes
 * return values. Positional arguments fill the declared inputs in order, an object of
 * input names fills them by name. A value may be one example (a tensor of the
 * per-example shape, a number, a string) or a batch of examples (one more dimension,
 * an array); results come back in the same form.
 */
import { Table, type DataType, type Field, type RecordBatch, type Vector } from 'apache-arrow';
import { batchFromColumns } from '../codecs/batch.js';
import { tableToBatch, valueToColumn } from '../codecs/columns.js';
import { isDataFrame } from '../codecs/dataframe.js';
import { Tensor } from '../codecs/tensor.js';
import { PARAMS_METADATA_KEY } from '../runner/params.js';
import { describePayload, type PayloadType, type TableType } from '../codecs/payload.js';
import type { CallParams } from '../runner/runner.js';
import { describeParams, tableInput, type MethodSignature, type ParamSpec } from '../runner/signature.js';
import { columnsToBatch, isColumnObject, isPlainObject, isRowArray, rowsToColumns } from './rows.js';

/** An encoded call: the batch to send, and whether results are unwrapped to one example. */
export interface EncodedCall {
  batch: RecordBatch;
  single: boolean;
}

/**
 * Assigns positional and named arguments to the declared inputs. A plain object as the
 * last argument holds named arguments, unless it is the value of a JSON input at that
 * position; a key that names no input is an error listing the inputs.
 */
export function bindArguments(sig: MethodSignature, args: unknown[]): Record<string, unknown> {
  const names = sig.inputs.map((p) => p.name);
  const bound: Record<string, unknown> = {};
  let positional = args;
  const last = args[args.length - 1];
  if (isPlainObject(last) && Object.keys(last).length > 0 && !isJsonValueAt(sig, args.length - 1, last)) {
    const unknown = Object.keys(last).filter((k) => !names.includes(k));
    if (unknown.length) {
      throw new TypeError(`${sig.name}: unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ${listInputs(sig)}`);
    }
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
  if (missing.length) throw new TypeError(`${sig.name}: missing argument(s) ${missing.map((n) => `'${n}'`).join(', ')}; ${listInputs(sig)}`);
  return bound;
}

/** "the inputs are features: tensor<float32>[4], ..." for messages. */
export function listInputs(sig: MethodSignature): string {
  return sig.inputs.length ? `the inputs are ${describeParams(sig.inputs)}` : 'the method takes no inputs';
}

/**
 * True if a plain object at argument `position` is a JSON input's value rather than
 * named arguments: the input there is JSON, and the object is not keyed by input names
 * (`{doc: {...}}` names the input `doc`; `{title: 'x'}` is a document).
 */
function isJsonValueAt(sig: MethodSignature, position: number, value: Record<string, unknown>): boolean {
  if (sig.inputs[position]?.type.kind !== 'json') return false;
  const names = sig.inputs.map((p) => p.name);
  return !Object.keys(value).every((k) => names.includes(k));
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

/**
 * Encodes arguments (and call params) as one input batch. Besides values per input, a
 * table method takes a DataFrame, an Arrow Table or RecordBatch, an array of row objects,
 * a column object or one row object; any method takes an array of row objects keyed by
 * its input names (a batch).
 */
export function encodeCall(sig: MethodSignature, args: unknown[], params: CallParams = {}): EncodedCall {
  const metadata = Object.keys(params).length ? new Map([[PARAMS_METADATA_KEY, JSON.stringify(params)]]) : undefined;
  const table = tableInput(sig);
  if (table) {
    const only = args[0];
    const named = args.length !== 1 || (isPlainObject(only) && Object.keys(only).length === 1 && table.name in only);
    const value = named ? bindArguments(sig, args)[table.name] : only;
    const oneRow = isPlainObject(value) && !isColumnObject(value) && Object.keys(value).length > 0;
    return { batch: tableBatch(oneRow ? [value] : value, table, metadata), single: oneRow };
  }
  if (args.length === 1 && isRowArray(args[0]) && !(sig.inputs.length === 1 && sig.inputs[0]!.type.kind === 'json')) {
    // Row objects keyed by input names: a batch, one example per row. (For a single JSON
    // input, an array of objects is a batch of documents instead.)
    return { batch: encodeInputs(sig, rowsToColumns(checkRows(sig, args[0])), metadata), single: false };
  }
  const bound = bindArguments(sig, args);
  for (const p of sig.inputs) checkMissing(sig, p, bound[p.name]);
  const singles = sig.inputs.map((p) => isSingleExample(bound[p.name], p.type));
  const single = singles.every(Boolean);
  if (!single && singles.some(Boolean)) {
    const which = sig.inputs.filter((_, i) => singles[i]).map((p) => `'${p.name}'`).join(', ');
    throw new TypeError(`${sig.name}: ${which} given as one example while other inputs are batches; give all as one or all as batches`);
  }
  const values = single ? Object.fromEntries(sig.inputs.map((p) => [p.name, naming(sig, p, () => asBatchOfOne(bound[p.name], p.type))])) : bound;
  return { batch: encodeInputs(sig, values, metadata), single };
}

/** Rows keyed by input names: every row has every input and nothing else, or a TypeError says which. */
function checkRows(sig: MethodSignature, rows: Record<string, unknown>[]): Record<string, unknown>[] {
  const names = sig.inputs.map((p) => p.name);
  rows.forEach((row, i) => {
    const unknown = Object.keys(row).filter((k) => !names.includes(k));
    if (unknown.length) throw new TypeError(`${sig.name}: row ${i} has unknown input${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}; ${listInputs(sig)}`);
    const missing = sig.inputs.filter((p) => !isNullable(p) && (row[p.name] === undefined || row[p.name] === null)).map((p) => p.name);
    if (missing.length) throw new TypeError(`${sig.name}: row ${i} has no value for ${missing.map((k) => `'${k}'`).join(', ')}; ${listInputs(sig)}`);
  });
  return rows;
}

/** One column per input; a value that cannot be encoded names its input and its type. */
function encodeInputs(sig: MethodSignature, values: Record<string, unknown>, metadata?: Map<string, string>): RecordBatch {
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  for (const p of sig.inputs as (ParamSpec & { type: Exclude<PayloadType, { kind: 'table' }> })[]) {
    if (!(p.name in values)) throw new TypeError(`${sig.name}: missing argument(s) '${p.name}'; ${listInputs(sig)}`);
    checkMissing(sig, p, values[p.name]);
    const { field, vector } = naming(sig, p, () => valueToColumn(values[p.name], p));
    fields.push(field);
    vectors.push(vector);
  }
  const lengths = new Set(vectors.map((v) => v.length));
  if (lengths.size > 1) {
    throw new TypeError(`${sig.name}: inputs have different numbers of examples (${sig.inputs.map((p, i) => `'${p.name}' ${vectors[i]!.length}`).join(', ')})`);
  }
  return batchFromColumns(fields, vectors, vectors[0]?.length ?? 0, metadata);
}

/** Runs `encode`; a TypeError or RangeError it throws is rethrown naming the method, the input and its type. */
function naming<T>(sig: MethodSignature, p: ParamSpec, encode: () => T): T {
  try {
    return encode();
  } catch (err) {
    if (!(err instanceof TypeError || err instanceof RangeError)) throw err;
    if (err.message.startsWith(`${sig.name}: `)) throw err;
    const what = err.message.startsWith(`'${p.name}'`) ? err.message : `input '${p.name}' (${describePayload(p.type)}): ${err.message}`;
    throw new TypeError(`${sig.name}: ${what}`);
  }
}

/** A null or undefined among a tensor's or scalar's JS numbers is an error: Number(null) would make it 0. */
function checkMissing(sig: MethodSignature, p: ParamSpec, value: unknown): void {
  if (p.type.kind !== 'tensor' && p.type.kind !== 'scalar') return;
  if (isNullable(p)) return; // the codec sends its nulls as nulls
  const at = missingAt(value);
  if (!at) return;
  const where = at.length ? ` at [${at.join('][')}]` : '';
  throw new TypeError(`${sig.name}: input '${p.name}' (${describePayload(p.type)}) has a missing value (null or undefined)${where}; numbers cannot be missing`);
}

/** True if an input is declared nullable (payload types that carry `nullable: true`). */
function isNullable(p: ParamSpec): boolean {
  return (p.type as { nullable?: boolean }).nullable === true;
}

/** The index path of the first null or undefined in nested JS arrays, or undefined if none. */
function missingAt(value: unknown, path: number[] = []): number[] | undefined {
  if (value === null || value === undefined) return path;
  if (!Array.isArray(value)) return undefined;
  for (let i = 0; i < value.length; i++) {
    const found = missingAt(value[i], [...path, i]);
    if (found) return found;
  }
  return undefined;
}

/** A table input's value as a batch: rows and column objects get the declared column types. */
function tableBatch(value: unknown, table: ParamSpec & { type: TableType }, metadata?: Map<string, string>): RecordBatch {
  const columns = isRowArray(value) ? rowsToColumns(value) : isColumnObject(value) ? value : undefined;
  if (!columns) return tableToBatch(value, table.name, metadata, table.type.columns);
  const batch = columnsToBatch(columns, table.type.columns);
  return metadata ? batchFromColumns(batch.schema.fields, batch.schema.fields.map((f) => batch.getChild(f.name)!), batch.numRows, metadata) : batch;
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
