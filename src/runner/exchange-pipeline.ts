/**
 * The pipeline of one exchange (see runExchange in exchange.ts): reads input chunks,
 * runs each batch, and writes the answers in input order while reading goes on.
 *
 * Why a state machine and not an async loop: every call of a server goes through here,
 * and a one-row call's share of its server CPU went largely to the async loop's
 * machinery (its frame and the closures it captured were the largest allocation of a
 * call, ~3.5 KB, and each await a promise turn). Here an exchange is one object, its
 * callbacks made once, and chunks already at hand are taken without a promise turn.
 */
import { Schema, type RecordBatch } from 'apache-arrow';
import type { FlightChunk, PollableChunks, WritesReport } from '../flight/index.js';
import { CallPlan, type CallListener, type ExchangeContext, type MethodTarget } from './call-plan.js';
import type { MethodSignature } from './signature.js';
import { outputSchema, tableOutput } from './signature.js';

/** Batches of one exchange that may run at once (so one stream can keep several instances busy). */
export const PIPELINE_DEPTH = 4;

/** Where an exchange reads its input: the schema (which may come with no batch), then chunks. */
export interface ExchangeSource extends AsyncIterable<FlightChunk> {
  /** The input schema, reading ahead (chunks read on the way are kept); undefined if the input ends without one. */
  schema(): Promise<Schema | undefined>;
  /**
   * The input schema if it is at hand now, without a promise turn (FlightReader's);
   * undefined when schema() has to wait for it.
   */
  pollSchema?(): Schema | undefined;
  [Symbol.asyncIterator](): AsyncIterator<FlightChunk> & Partial<Pick<PollableChunks, 'poll'>>;
  /**
   * Lets a later input batch be received into this one's memory once `after` has written
   * out what it was given (FlightReader's; see FlightReader.recycle). Only offered batches
   * whose runner keeps nothing of them once answered.
   */
  recycle?(batch: RecordBatch, after: WritesReport): void;
}

/** Where an exchange writes its answers. */
export interface ExchangeSink {
  /** The schema begun, if any. */
  readonly schema: Schema | undefined;
  /** Begins the output with its schema (before any batch). */
  begin(schema: Schema): Promise<void>;
  /** One answer batch, with its input's app_metadata; begins the output with its schema if needed. */
  write(batch: RecordBatch, appMetadata?: Uint8Array): Promise<void>;
  /** A metadata-only message, passed through in order. */
  writeMetadata(appMetadata: Uint8Array): Promise<void>;
  /** Tells when what was written has been written out (FlightWriter's; see FlightWriter.afterWrites). */
  afterWrites?(callback: () => void): boolean;
}

/**
 * Runs an exchange: the output schema first (for a method with declared outputs), then
 * one answer per input batch, in order, each with its input's app_metadata; metadata-only
 * chunks pass through in order. An input that ends without a schema is answered with the
 * output schema and no batches. Batches of a batchable method run up to
 * {@link PIPELINE_DEPTH} at a time; reading stops while that window is full, so the
 * sink's (and the transport's) flow control bounds what the caller can push. Each batch
 * runs through the call's CallPlan, made for the input schema (which may refuse the call).
 * Rejects with the error that ends the call.
 */
export function runPipeline(
  target: MethodTarget, input: ExchangeSource, output: ExchangeSink, ctx: ExchangeContext, onCall: CallListener | undefined,
): Promise<void> {
  return new Promise((resolve, reject) => new ExchangePipeline(target, input, output, ctx, onCall, resolve, reject).start());
}

class ExchangePipeline {
  private readonly sig: MethodSignature;
  private readonly fixedOutput: boolean;
  private readonly depth: number;
  private plan!: CallPlan;
  private iterator!: ReturnType<ExchangeSource[typeof Symbol.asyncIterator]>;
  /** The output schema is still to be sent (a method with declared outputs sends it first). */
  private schemaPending: boolean;
  /** A batch or metadata chunk was read (the output schema then goes with the first answer). */
  private inputRead = false;
  /** The input ended. */
  private inputDone = false;
  /** A next() on the input is pending. */
  private waiting = false;
  private settled = false;
  /**
   * Chunks whose answer is not yet written. With none, a batch has no earlier batches to
   * wait for (see CallPlan.run) and its answer goes out as soon as it is ready.
   */
  private unanswered = 0;
  /** Settles when the last chunk taken is answered (answers are written in input order). */
  private written: Promise<void> | undefined;
  /**
   * The input batches of the chunks not yet answered, in order, when their memory may be
   * reused once answered (the runner keeps nothing of them and the transport can tell when
   * an answer is out): the answer to a large batch then does not leave it to a full GC.
   */
  private readonly unansweredBatches?: (RecordBatch | undefined)[];

  constructor(
    private readonly target: MethodTarget,
    private readonly input: ExchangeSource,
    private readonly output: ExchangeSink,
    private readonly ctx: ExchangeContext,
    private readonly onCall: CallListener | undefined,
    private readonly resolve: () => void,
    private readonly reject: (err: unknown) => void,
  ) {
    const sig = (this.sig = target.method.signature);
    this.fixedOutput = !tableOutput(sig);
    this.schemaPending = this.fixedOutput;
    this.depth = sig.batchable ? PIPELINE_DEPTH : 1;
    if (target.runner.releasesInputs && input.recycle && output.afterWrites) this.unansweredBatches = [];
  }

  start(): void {
    let schema: Schema | undefined;
    try {
      schema = this.input.pollSchema?.();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (schema) this.begin(schema);
    else this.input.schema().then((s) => (s ? this.begin(s) : this.noSchema()), this.fail);
  }

  /** The input has a schema: plan its batches and read them. */
  private begin(schema: Schema): void {
    let first: IteratorResult<FlightChunk> | undefined;
    try {
      this.plan = new CallPlan(this.target, schema, this.ctx, this.onCall);
      this.iterator = this.input[Symbol.asyncIterator]();
      first = this.iterator.poll?.();
    } catch (err) {
      this.fail(err);
      return;
    }
    // The output schema comes first: with the first answer when the first batch arrives in
    // the same turn of the event loop as the schema (a one-row call's schema, batch and end
    // usually do), so both leave in one write; otherwise at the end of that turn, since a
    // client may wait for it before sending its first batch.
    if (first && !first.done) this.inputRead = true;
    else if (this.schemaPending) deferSchema(this);
    if (first) this.take(first);
    this.read();
  }

  /**
   * No input schema at all: answer with the output schema and no batches, passing on
   * any metadata-only messages the input had (nothing is dropped). Rare: an async loop.
   */
  private noSchema(): void {
    const { output, input } = this;
    (async () => {
      await output.begin(this.fixedOutput ? outputSchema(this.sig) : new Schema([]));
      for await (const chunk of input) if (chunk.appMetadata) await output.writeMetadata(chunk.appMetadata);
    })().then(this.resolve, this.reject);
  }

  /** Takes the chunks at hand while the window has room, then waits for the next one (or ends). */
  private read(): void {
    while (!this.settled && !this.inputDone && !this.waiting && this.unanswered < this.depth) {
      let step: IteratorResult<FlightChunk> | undefined;
      try {
        step = this.iterator.poll?.();
      } catch (err) {
        this.fail(err);
        return;
      }
      if (!step) {
        // A failure meanwhile ends the call at once: this read is then abandoned.
        this.waiting = true;
        let next: Promise<IteratorResult<FlightChunk>>;
        try {
          next = this.iterator.next();
        } catch (err) {
          this.fail(err);
          return;
        }
        next.then(this.stepped, this.fail);
        return;
      }
      this.take(step);
    }
    if (!this.settled && this.inputDone && this.unanswered === 0) this.finish();
  }

  private readonly stepped = (step: IteratorResult<FlightChunk>): void => {
    this.waiting = false;
    if (this.settled) return;
    this.take(step);
    this.read();
  };

  /** One input chunk: its batch run, its answer (or metadata) written after the earlier ones. */
  private take(step: IteratorResult<FlightChunk>): void {
    if (step.done) {
      this.inputDone = true;
      return;
    }
    this.inputRead = true;
    const { batch, appMetadata } = step.value;
    const earlier = this.unanswered > 0 ? this.written : undefined;
    const result = batch ? this.plan.run(batch, earlier) : undefined;
    let answer: Promise<void>;
    if (!earlier) {
      answer = result ? result.then((out) => this.writeAnswer(out, appMetadata)) : this.writeMetadata(appMetadata);
    } else {
      result?.catch(() => {}); // observed when its turn comes; never an unhandled rejection
      answer = earlier.then(() => (result ? result.then((out) => this.writeAnswer(out, appMetadata)) : this.writeMetadata(appMetadata)));
    }
    this.written = answer;
    this.unanswered++;
    this.unansweredBatches?.push(batch);
    answer.then(this.answered, this.fail);
  }

  private readonly answered = (): void => {
    this.unanswered--;
    const batch = this.unansweredBatches?.shift();
    if (batch) this.input.recycle!(batch, this.output as WritesReport);
    if (!this.settled) this.read();
  };

  /** The end of the turn the exchange began in: the output schema goes now unless an input chunk came first. */
  sendDeferredSchema(): void {
    if (!this.inputRead && !this.settled) this.beginOutput()?.catch(() => { /* the call ended: its status says why */ });
  }

  /** Begins the output with the output schema, if that is still to go. */
  private beginOutput(): Promise<void> | undefined {
    if (!this.schemaPending) return undefined;
    this.schemaPending = false;
    return this.beginSink(outputSchema(this.sig));
  }

  // The sink's methods are called through these: a sink that throws instead of rejecting
  // fails the call, never the process (some are called from timers and promise callbacks).
  private beginSink(schema: Schema): Promise<void> {
    try {
      return this.output.begin(schema);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private writeAnswer(answer: RecordBatch, appMetadata: Uint8Array | undefined): Promise<void> {
    const begun = this.beginOutput();
    if (begun) return begun.then(() => this.output.write(answer, appMetadata));
    try {
      return this.output.write(answer, appMetadata);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private writeMetadata(appMetadata: Uint8Array | undefined): Promise<void> {
    if (!appMetadata) return Promise.resolve();
    const begun = this.beginOutput();
    if (begun) return begun.then(() => this.output.writeMetadata(appMetadata));
    try {
      return this.output.writeMetadata(appMetadata);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Every chunk answered and the input ended: the output schema if none went yet, then done. */
  private finish(): void {
    this.settled = true;
    if (this.output.schema) {
      this.resolve();
      return;
    }
    this.schemaPending = false;
    this.beginSink(this.fixedOutput ? outputSchema(this.sig) : new Schema([])).then(this.resolve, this.reject);
  }

  /** Ends the call with `err`; a failed call still sends the output schema before its status. */
  private readonly fail = (err: unknown): void => {
    if (this.settled) return;
    this.settled = true;
    const begun = this.beginOutput();
    if (!begun) {
      this.reject(err);
      return;
    }
    const reject = () => this.reject(err);
    begun.then(reject, reject);
  };
}

/**
 * Exchanges whose output schema waits for the end of this turn of the event loop: one
 * setImmediate for all of them, not one per call (most one-row calls begin this way, their
 * batch arriving a read after the schema).
 */
let deferred: ExchangePipeline[] = [];

function deferSchema(pipeline: ExchangePipeline): void {
  deferred.push(pipeline);
  if (deferred.length === 1) setImmediate(sendDeferredSchemas);
}

function sendDeferredSchemas(): void {
  const pipelines = deferred;
  deferred = [];
  for (const pipeline of pipelines) pipeline.sendDeferredSchema();
}
