/**
 * The per-batch work of one call, planned once for its input schema: every entry point
 * of the runner layer (an exchange's pipeline, one batch from a request/response
 * protocol) runs its batches through a CallPlan. A batch is checked (not aborted, not
 * late, the stream's schema), conformed to the method's signature, invoked (through the
 * runner's scheduler, when it has one), its output checked, and the call counted.
 *
 * Why a class with promise callbacks, not a closure around an async function: one is made
 * per call, and that closure's context and the async function's suspended frame were the
 * runner layer's largest allocations on a one-row call's path.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { FlightError, Status } from '../flight/index.js';
import { log } from '../util/log.js';
import { checkedOutput, invokeFailure } from './call.js';
import { CallCancellation, CancellableInvokeContext } from './cancellation.js';
import { planConform, type Conformer } from './conform.js';
import { paramsFromSchema } from './params.js';
import type { CallParams, InvokeContext, Runner, RunnerMethod } from './runner.js';
import type { MethodStats } from './stats.js';

/** Told of every finished call (one batch), with its gRPC status name: metrics. */
export type CallListener = (runner: string, method: string, rows: number, ms: number, code: string) => void;

/** The runner method calls go to, and where they are counted. */
export interface MethodTarget {
  readonly runner: Runner;
  readonly method: RunnerMethod;
  /** The method's counters (the `stats` action); none in process. */
  readonly stats?: MethodStats;
  readonly onCall?: CallListener;
  /**
   * Log each runner failure (INTERNAL) as a warning: a server's operator sees them in its
   * log. Off in process, where the caller gets the error itself.
   */
  readonly logFailures?: boolean;
}

/** What an exchange knows about its caller. */
export interface ExchangeContext {
  /** Call-level params from outside the input schema (a CMD descriptor); the schema's win. */
  params?: CallParams;
  /** Aborted when the caller cancels or its deadline passes: the exchange then fails at once. */
  signal?: AbortSignal;
  /**
   * The transport's cheaper way to tell of that abort (the Flight server's
   * CallContext.onAbort): when given, `signal` is not read, and no AbortSignal is made
   * unless a runner asks for one.
   */
  onAbort?: (listener: (reason: FlightError) => void) => void;
  /** The caller's deadline: a batch is not started after it, and a scheduler drops it once late. */
  deadline?: Date;
}

/** Whether a stream's earlier batches were answered (tracked only for a batch that has some). */
interface EarlierBatches {
  done: boolean;
  settled: Promise<void>;
}

/**
 * One call's plan. Throws INVALID_ARGUMENT at construction for a schema that does not fit
 * the signature, or bad params.
 *
 * @example
 * const plan = new CallPlan(target, batch.schema, { deadline }, undefined);
 * const answer = await plan.run(batch);
 */
export class CallPlan {
  private readonly params: CallParams;
  private readonly conform: Conformer;
  private readonly deadline: Date | undefined;
  /** With the transport's onAbort, the call's abort travels as a CallCancellation (its signal never read)... */
  private readonly cancellation: CallCancellation | undefined;
  /** ...otherwise as the caller's signal. */
  private readonly signal: AbortSignal | undefined;
  private readonly invokeContext: InvokeContext;

  constructor(
    private readonly target: MethodTarget,
    private readonly schema: Schema,
    ctx: ExchangeContext,
    private readonly onCall: CallListener | undefined,
  ) {
    const { runner, method } = target;
    this.deadline = ctx.deadline;
    this.params = mergeParams(ctx.params, paramsFromSchema(schema));
    this.conform = planConform(runner.name, method.signature, schema);
    if (ctx.onAbort) {
      const cancellation = new CallCancellation();
      ctx.onAbort(cancellation.abort);
      this.cancellation = cancellation;
      this.signal = undefined;
      this.invokeContext = new CancellableInvokeContext(cancellation, this.deadline);
    } else {
      this.cancellation = undefined;
      this.signal = ctx.signal;
      const invokeContext: InvokeContext = {};
      if (this.signal) invokeContext.signal = this.signal;
      if (this.deadline) invokeContext.deadline = this.deadline;
      this.invokeContext = invokeContext;
    }
  }

  /**
   * Runs one batch of the call. `earlier` settles when the stream's previous batches are
   * answered: if the queue is full while they are still in it, this stream is what fills
   * it, so the batch waits for them (backpressure on the stream) instead of failing; only
   * a queue full of other calls' rows is RESOURCE_EXHAUSTED. A single call has none.
   * Rejects with a FlightError saying what ended it.
   */
  run(batch: RecordBatch, earlier?: Promise<void>): Promise<RecordBatch> {
    // Refused before it starts (and so not counted): aborted, late, another schema.
    if (this.cancellation ? this.cancellation.aborted : this.signal?.aborted) return Promise.reject(this.aborted());
    if (this.deadline && this.deadline.getTime() <= Date.now()) {
      return Promise.reject(new FlightError(Status.DEADLINE_EXCEEDED, `deadline passed before ${this.where()} ran`));
    }
    if (batch.schema !== this.schema && !sameFields(batch.schema, this.schema)) {
      // The plan is the first schema's: another schema's columns would be read as if they were those.
      return Promise.reject(FlightError.invalidArgument('batch schema differs from the schema this stream began with'));
    }
    const started = performance.now();
    let conformed: RecordBatch;
    try {
      conformed = this.conform(batch);
    } catch (err) {
      return Promise.reject(this.failed(batch, started, err));
    }
    let tracked: EarlierBatches | undefined;
    if (earlier) {
      const state: EarlierBatches = { done: false, settled: earlier };
      const mark = () => { state.done = true; };
      state.settled = earlier.then(mark, mark);
      tracked = state;
    }
    return this.invoke(batch, conformed, started, tracked);
  }

  private invoke(batch: RecordBatch, conformed: RecordBatch, started: number, earlier: EarlierBatches | undefined): Promise<RecordBatch> {
    let invoked: Promise<RecordBatch>;
    try {
      invoked = this.target.method.invoke(conformed, this.params, this.invokeContext);
    } catch (err) {
      invoked = Promise.reject(err);
    }
    return invoked.then(
      (output) => this.answered(batch, conformed, output, started),
      (err: unknown) => this.invokeFailed(batch, conformed, started, earlier, err),
    );
  }

  /** The method answered: its output checked against the signature, the call counted. */
  private answered(batch: RecordBatch, conformed: RecordBatch, output: RecordBatch, started: number): RecordBatch {
    const { runner, method, stats } = this.target;
    let result: RecordBatch;
    try {
      result = checkedOutput(runner.name, method, conformed, output);
    } catch (err) {
      throw this.failed(batch, started, err);
    }
    const ms = performance.now() - started;
    stats?.recordCall(batch.numRows, ms, false);
    this.onCall?.(runner.name, method.signature.name, batch.numRows, ms, 'OK');
    return result;
  }

  private invokeFailed(batch: RecordBatch, conformed: RecordBatch, started: number, earlier: EarlierBatches | undefined, err: unknown): Promise<RecordBatch> {
    const failure = invokeFailure(this.target.runner.name, this.target.method, err);
    if (failure.code === Status.RESOURCE_EXHAUSTED && earlier && !earlier.done) {
      return earlier.settled.then(() => this.invoke(batch, conformed, started, earlier));
    }
    throw this.failed(batch, started, failure);
  }

  /** A call that started failed: counted, an INTERNAL one logged (on a server). Returns `err`. */
  private failed(batch: RecordBatch, started: number, err: unknown): unknown {
    const { runner, method, stats, logFailures } = this.target;
    const ms = performance.now() - started;
    stats?.recordCall(batch.numRows, ms, true);
    this.onCall?.(runner.name, method.signature.name, batch.numRows, ms, err instanceof FlightError ? err.codeName : 'INTERNAL');
    if (logFailures && (!(err instanceof FlightError) || err.code === Status.INTERNAL)) {
      log('warn', 'call failed', { runner: runner.name, method: method.signature.name, error: (err as Error).message });
    }
    return err;
  }

  /**
   * Why an aborted call ended: the abort's reason when it says (a FlightError: the
   * transport's, or the deadline timer of an in-process call), else by the clock. No
   * batch starts once the call is aborted; one already with the runner (or its queue,
   * which drops it) is not waited for by the caller: the transport (or, in process,
   * inProcessGuard) answers the caller when the call aborts, so no listener is needed here.
   */
  private aborted(): FlightError {
    const reason: unknown = this.cancellation ? this.cancellation.reason : this.signal?.reason;
    if (reason instanceof FlightError) return reason;
    if (this.deadline && this.deadline.getTime() <= Date.now()) return new FlightError(Status.DEADLINE_EXCEEDED, `deadline passed before ${this.where()} answered`);
    return new FlightError(Status.CANCELLED, `${this.where()}: call cancelled`);
  }

  /** How errors name the method (built only when one is thrown). */
  private where(): string {
    return `runner '${this.target.runner.name}' method '${this.target.method.signature.name}'`;
  }
}

/** The call's params: the schema's win over the descriptor's; merged only when both have some. */
function mergeParams(outer: CallParams | undefined, fromSchema: CallParams): CallParams {
  if (!outer || isEmpty(outer)) return fromSchema;
  return isEmpty(fromSchema) ? { ...outer } : { ...outer, ...fromSchema };
}

function isEmpty(params: CallParams): boolean {
  for (const _ in params) return false;
  return true;
}

/** Same column names and types (a stream's batches may be distinct Schema objects in process). */
function sameFields(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length
    && a.fields.every((f, i) => f.name === b.fields[i]!.name && String(f.type) === String(b.fields[i]!.type));
}
