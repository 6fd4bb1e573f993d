/**
 * What SDK users hold: a runner (or one of its methods) to `run` with plain arguments
 * or to `stream` batches through. The same class serves local and remote runners; only
 * the Caller behind it differs.
 */
import type { RecordBatch, Vector } from 'apache-arrow';
import type { FlightChunk } from '../flight/index.js';
import { FlightError } from '../flight/index.js';
import { batchFromColumns } from '../codecs/batch.js';
import { PARAMS_METADATA_KEY } from '../runner/params.js';
import type { CallParams } from '../runner/runner.js';
import { tableInput, tableOutput, type MethodSignature } from '../runner/signature.js';
import { describeValue } from '../codecs/tensor.js';
import { chunksOf, encodeCall, isDataFrame } from './arguments.js';
import { attachKept, checkKeep, takeKept, type KeptColumns } from './keep.js';
import { checkValueOptions, decodeResult, type ValueOptions } from './results.js';
import { columnsToBatch, isPlainObject, isRowArray } from './rows.js';
import type { CallOptions, Caller, RunnerDescription } from './caller.js';

/** Options of `stream()`. */
export interface StreamOptions extends CallOptions, ValueOptions {
  /** Rows per batch when splitting a DataFrame, Table or array of rows (default 65,536). */
  batchRows?: number;
  /** Yield Arrow record batches instead of decoded values. */
  arrow?: boolean;
  /**
   * Input columns copied onto each result (e.g. `['id']`), so results join back to inputs
   * by key. The runner does not see them unless it declares them. Results then are an
   * object of the kept columns (arrays, nulls as null) and the outputs by name, or with
   * `arrow: true` batches whose first columns are the kept ones. Batchable methods only.
   */
  keep?: string[];
}

/** Options of a handle: per-call options and how results are handed back. */
export type HandleOptions = CallOptions & ValueOptions;

/**
 * A runner method bound to a caller.
 *
 * @example
 * const iris = client.runner('iris');
 * const label = await iris.run([5.1, 3.5, 1.4, 0.2]);
 * const probs = await iris.method('predict_proba').run(batchOfRows);
 * for await (const out of iris.stream(bigDataFrame)) console.log(out);
 */
export class RunnerHandle {
  constructor(
    private readonly caller: Caller,
    private readonly description: RunnerDescription,
    private readonly methodName?: string,
    private readonly params: CallParams = {},
    private readonly callOptions: HandleOptions = {},
    private readonly owned?: () => Promise<void>,
  ) {}

  /** The runner's name. */
  get name(): string {
    return this.description.name;
  }

  /** Names of the runner's methods. */
  get methods(): string[] {
    return this.description.methods.map((m) => m.name);
  }

  /** The signature of the method this handle calls (the default one unless chosen). */
  get signature(): MethodSignature {
    const methods = this.description.methods;
    if (this.methodName !== undefined) {
      const found = methods.find((m) => m.name === this.methodName);
      if (!found) throw FlightError.notFound(`runner '${this.name}' has no method '${this.methodName}'; methods: ${this.methods.map((m) => `'${m}'`).join(', ')}`);
      return found;
    }
    const chosen = methods.find((m) => m.isDefault) ?? (methods.length === 1 ? methods[0] : undefined);
    if (!chosen) throw FlightError.notFound(`runner '${this.name}' has several methods and no default; use .method(name) with one of ${this.methods.map((m) => `'${m}'`).join(', ')}`);
    return chosen;
  }

  /** A handle for another method of this runner. */
  method(name: string): RunnerHandle {
    return new RunnerHandle(this.caller, this.description, name, this.params, this.callOptions, this.owned);
  }

  /** A handle whose calls carry call-level parameters (a threshold, top_k). */
  withParams(params: CallParams): RunnerHandle {
    return new RunnerHandle(this.caller, this.description, this.methodName, { ...this.params, ...params }, this.callOptions, this.owned);
  }

  /**
   * A handle whose calls use these options: deadline, abort signal, and how results come
   * back (`{ int64: 'bigint' }` keeps 64-bit integers as bigint).
   */
  withOptions(options: HandleOptions): RunnerHandle {
    checkValueOptions(options);
    return new RunnerHandle(this.caller, this.description, this.methodName, this.params, { ...this.callOptions, ...options }, this.owned);
  }

  /**
   * Calls the method. Arguments fill the inputs by position, or by name as one object;
   * an array of row objects keyed by input names is a batch. One example in, one example
   * out; a batch in, a batch out. One output is returned as its value; several as an
   * object keyed by output name. Values are as src/client/results.ts describes: int64 as
   * numbers when safe, float16 as float32, bools as booleans.
   */
  async run(...args: unknown[]): Promise<unknown> {
    const sig = this.signature;
    const { batch, single } = encodeCall(sig, args, this.params);
    const result = await this.caller.call(this.name, sig.name, batch, this.callOptions);
    return decodeResult(sig, result, single, this.callOptions);
  }

  /**
   * Streams many batches through one call (batch scoring) and yields one result per
   * batch sent, in order. `input` is an Arrow Table or RecordBatch, a DataFrame, an array
   * of row objects (split into `batchRows`-row batches), a column object, or an (async)
   * iterable of any of these or of argument objects.
   *
   * @example
   * for await (const { id, score } of scorer.stream(rows, { keep: ['id'] }) as AsyncIterable<{ id: number[]; score: Float64Array }>) { ... }
   */
  async *stream(input: unknown, options: StreamOptions = {}): AsyncIterable<unknown> {
    const sig = this.signature;
    checkValueOptions(options);
    const rows = options.batchRows ?? 65_536;
    if (!Number.isInteger(rows) || rows < 1) throw new RangeError(`batchRows must be a positive integer, got ${rows}`);
    const keep = options.keep ?? [];
    if (keep.length) checkKeep(this.name, sig, keep);
    const kept: KeptColumns[] = [];
    const params = this.params;
    const batches = async function* (): AsyncIterable<FlightChunk> {
      for await (const batch of inputBatches(sig, input, rows, params, keep)) {
        if (!keep.length) {
          yield { batch };
          continue;
        }
        const { kept: columns, send } = takeKept(batch, keep, sig);
        kept.push(columns);
        yield { batch: send };
      }
    };
    const valueOptions = { ...this.callOptions, ...options };
    for await (const chunk of this.caller.stream(this.name, sig.name, batches(), valueOptions)) {
      if (!chunk.batch) continue;
      if (!keep.length) {
        yield options.arrow ? chunk.batch : decodeResult(sig, chunk.batch, false, valueOptions);
        continue;
      }
      const columns = kept.shift()!;
      // A batch when asked for one, or when the method returns a whole table anyway.
      if (options.arrow || tableOutput(sig)) {
        yield attachKept(columns, chunk.batch);
        continue;
      }
      attachKept(columns, chunk.batch); // checks the rows match
      const outputs = decodeResult(sig, chunk.batch, false, valueOptions);
      const named = sig.outputs.length === 1 ? { [sig.outputs[0]!.name]: outputs } : outputs as Record<string, unknown>;
      const keys = Object.fromEntries(columns.fields.map((f, i) => [f.name, keptValues(columns.vectors[i]!, valueOptions)]));
      yield { ...keys, ...named };
    }
  }

  /**
   * Releases what this handle alone owns: the runner that `local(definition)` loaded for
   * it (its teardown runs). For handles of a client, this does nothing: close the client.
   */
  async close(): Promise<void> {
    await this.owned?.();
  }

  /** @internal A handle that owns what `release` frees (see local()). */
  withOwner(release: () => Promise<void>): RunnerHandle {
    return new RunnerHandle(this.caller, this.description, this.methodName, this.params, this.callOptions, release);
  }
}

/**
 * The record batches of a stream's input, with call params on each. A Table, DataFrame,
 * array of row objects or column object is split into batches of `rows` rows; a RecordBatch
 * is sent as it is; an (async) iterable sends each of its items so.
 */
async function* inputBatches(sig: MethodSignature, input: unknown, rows: number, params: CallParams, keep: readonly string[]): AsyncIterable<RecordBatch> {
  if (isRecordBatch(input)) {
    yield withParams(input, params);
    return;
  }
  if (isDataFrame(input) || isTableLike(input)) {
    for (const batch of chunksOf(input, rows, tableInput(sig)?.type.columns)) yield withParams(batch, params);
    return;
  }
  if (isRowArray(input)) {
    for (let start = 0; start < input.length; start += rows) yield encodeWithKept(sig, input.slice(start, start + rows), params, keep);
    return;
  }
  if (isPlainObject(input)) {
    for (const batch of chunksOf(encodeWithKept(sig, input, params, keep), rows)) yield batch;
    return;
  }
  if (!isIterable(input)) {
    throw new TypeError(`stream() takes an Arrow Table or RecordBatch, a DataFrame, an array of row objects, a column object, or an (async) iterable of these; got ${describeValue(input)}`);
  }
  for await (const item of input) {
    if (isRecordBatch(item) || isDataFrame(item) || isTableLike(item) || isRowArray(item)) yield* inputBatches(sig, item, rows, params, keep);
    else yield encodeWithKept(sig, item, params, keep);
  }
}

/**
 * Encodes rows or argument objects that carry kept columns besides the inputs: the inputs
 * as encodeCall does, the kept columns typed from their values, side by side (takeKept
 * then takes them off again). A table method's rows keep every column anyway.
 */
function encodeWithKept(sig: MethodSignature, value: unknown, params: CallParams, keep: readonly string[]): RecordBatch {
  const extra = keep.filter((k) => !sig.inputs.some((p) => p.name === k));
  if (tableInput(sig) || !extra.length || !(isRowArray(value) || isPlainObject(value))) return encodeCall(sig, [value], params).batch;
  let inputs: RecordBatch;
  let keptColumns: Record<string, unknown>;
  if (isRowArray(value)) {
    // Rows: the inputs as rows (checked as run() checks them), the kept values as columns.
    inputs = encodeCall(sig, [value.map((row) => Object.fromEntries(Object.entries(row).filter(([k]) => !extra.includes(k))))], params).batch;
    keptColumns = Object.fromEntries(extra.map((k) => [k, value.map((row) => row[k] ?? null)]));
  } else {
    // An argument object whose kept entries are arrays (one value per example).
    inputs = encodeCall(sig, [Object.fromEntries(Object.entries(value).filter(([k]) => !extra.includes(k)))], params).batch;
    keptColumns = Object.fromEntries(Object.entries(value).filter(([k]) => extra.includes(k)));
  }
  if (!Object.keys(keptColumns).length) return inputs;
  const notArray = Object.entries(keptColumns).find(([, v]) => !Array.isArray(v) && !(ArrayBuffer.isView(v) && !(v instanceof DataView)));
  if (notArray) throw new TypeError(`keep: '${notArray[0]}' must be an array with one value per example, got ${describeValue(notArray[1])}`);
  const kept = columnsToBatch(keptColumns as Record<string, ArrayLike<unknown>>);
  const fields = [...inputs.schema.fields, ...kept.schema.fields];
  const vectors = [...inputs.schema.fields.map((f) => inputs.getChild(f.name)!), ...kept.schema.fields.map((f) => kept.getChild(f.name)!)];
  return batchFromColumns(fields, vectors, inputs.numRows, inputs.schema.metadata);
}

/** A kept column as a plain array (nulls as null; int64 as numbers when safe, as results are). */
function keptValues(vector: Vector, options: ValueOptions): unknown[] {
  const values = Array.from(vector as Iterable<unknown>);
  if (options.int64 === 'bigint' || !values.some((v) => typeof v === 'bigint')) return values;
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  const safe = values.every((v) => typeof v !== 'bigint' || (v <= max && v >= -max));
  return safe ? values.map((v) => (typeof v === 'bigint' ? Number(v) : v)) : values;
}

function isIterable(v: unknown): v is AsyncIterable<unknown> | Iterable<unknown> {
  return typeof v === 'object' && v !== null && (Symbol.asyncIterator in v || Symbol.iterator in v);
}

function isTableLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'batches' in v && 'schema' in v;
}

function isRecordBatch(v: unknown): v is RecordBatch {
  // By shape, not instanceof: a batch may come from another copy of apache-arrow. A Table
  // has numRows, schema and data too, but also batches.
  return typeof v === 'object' && v !== null && 'numRows' in v && 'schema' in v && 'data' in v && !('batches' in v);
}

function withParams(batch: RecordBatch, params: CallParams): RecordBatch {
  if (!Object.keys(params).length) return batch;
  // Params travel in the schema's metadata. encodeCall would treat a batch as the first
  // argument's value, which only a table input accepts, so set the metadata directly.
  const metadata = new Map(batch.schema.metadata);
  metadata.set(PARAMS_METADATA_KEY, JSON.stringify(params));
  const fields = batch.schema.fields;
  return batchFromColumns(fields, fields.map((f) => batch.getChild(f.name)!), batch.numRows, metadata);
}
