/**
 * What SDK users hold: a runner (or one of its methods) to `run` with plain arguments
 * or to `stream` batches through. The same class serves local and remote runners; only
 * the Caller behind it differs.
 */
import type { RecordBatch } from 'apache-arrow';
import type { FlightChunk } from '../flight/index.js';
import { FlightError } from '../flight/index.js';
import { batchFromColumns } from '../codecs/batch.js';
import { PARAMS_METADATA_KEY } from '../runner/params.js';
import type { CallParams } from '../runner/runner.js';
import { tableInput, type MethodSignature } from '../runner/signature.js';
import { chunksOf, decodeResult, encodeCall, isDataFrame } from './arguments.js';
import type { CallOptions, Caller, RunnerDescription } from './caller.js';

/** Options of `stream()`. */
export interface StreamOptions extends CallOptions {
  /** Rows per batch when splitting a DataFrame or Table (default 65,536). */
  batchRows?: number;
  /** Yield Arrow record batches instead of decoded values. */
  arrow?: boolean;
}

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
    private readonly callOptions: CallOptions = {},
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
    return new RunnerHandle(this.caller, this.description, name, this.params, this.callOptions);
  }

  /** A handle whose calls carry call-level parameters (a threshold, top_k). */
  withParams(params: CallParams): RunnerHandle {
    return new RunnerHandle(this.caller, this.description, this.methodName, { ...this.params, ...params }, this.callOptions);
  }

  /** A handle whose calls use these options (deadline, abort signal). */
  withOptions(options: CallOptions): RunnerHandle {
    return new RunnerHandle(this.caller, this.description, this.methodName, this.params, { ...this.callOptions, ...options });
  }

  /**
   * Calls the method. Arguments fill the inputs by position, or by name as one object.
   * One example in, one example out; a batch in, a batch out. One output is returned
   * as its value; several as an object keyed by output name.
   */
  async run(...args: unknown[]): Promise<unknown> {
    const sig = this.signature;
    const { batch, single } = encodeCall(sig, args, this.params);
    const result = await this.caller.call(this.name, sig.name, batch, this.callOptions);
    return decodeResult(sig, result, single);
  }

  /**
   * Streams many batches through one call (batch scoring). `input` is a DataFrame or
   * Arrow Table (split into `batchRows`-row batches) or an (async) iterable of
   * RecordBatches, DataFrames or argument objects. Yields one result per batch, in order.
   */
  async *stream(input: unknown, options: StreamOptions = {}): AsyncIterable<unknown> {
    const sig = this.signature;
    const rows = options.batchRows ?? 65_536;
    const params = this.params;
    const batches = async function* (): AsyncIterable<FlightChunk> {
      if (isDataFrame(input) || isTableLike(input)) {
        for (const batch of chunksOf(input, rows, tableInput(sig)?.type.columns)) yield { batch: withParams(batch, params) };
        return;
      }
      for await (const item of input as AsyncIterable<unknown>) {
        const batch = isRecordBatch(item) ? withParams(item, params) : encodeCall(sig, [item], params).batch;
        yield { batch };
      }
    };
    for await (const chunk of this.caller.stream(this.name, sig.name, batches(), { ...this.callOptions, ...options })) {
      if (!chunk.batch) continue;
      yield options.arrow ? chunk.batch : decodeResult(sig, chunk.batch, false);
    }
  }
}

function isTableLike(v: unknown): boolean {
  return typeof v === 'object' && v !== null && 'batches' in v && 'schema' in v;
}

function isRecordBatch(v: unknown): v is RecordBatch {
  return typeof v === 'object' && v !== null && 'numRows' in v && 'schema' in v && 'data' in v;
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
