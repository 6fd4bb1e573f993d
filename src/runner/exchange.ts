/**
 * The one call pipeline of the runner layer: a stream of input batches for one runner
 * method in, a stream of answers out, with the same behaviour whoever calls: the Flight
 * service (DoExchange), `local()` in process, and any other protocol that submits a batch
 * (the Open Inference Protocol). Each batch is conformed to the method's signature,
 * invoked (through the runner's scheduler, when it has one: a ScheduledRunner is a
 * Runner), checked, and counted in the method's stats.
 *
 * Entry points:
 * - {@link runExchange}: a whole exchange, from an {@link ExchangeSource} to an
 *   {@link ExchangeSink} (FlightReader and FlightWriter are both, structurally).
 * - {@link exchangeChunks}: the same exchange as an async iterable, and
 *   {@link callInProcess}: one batch, for callers in this process.
 * - {@link callMethod}: one batch in, its answer out, for request/response protocols;
 *   with {@link serverTarget} a server resolves the runner and method by name and counts
 *   the call in its stats, as the Flight service does.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { FlightError, Status, type FlightChunk } from '../flight/index.js';
import { methodOf } from './call.js';
import { CallPlan, type CallListener, type ExchangeContext, type MethodTarget } from './call-plan.js';
import { runPipeline, type ExchangeSink, type ExchangeSource } from './exchange-pipeline.js';
import type { RunnerMethod } from './runner.js';
import type { RunnerRegistry } from './registry.js';
import type { StatsRegistry } from './stats.js';

export type { CallListener, ExchangeContext, MethodTarget } from './call-plan.js';
export { PIPELINE_DEPTH, type ExchangeSink, type ExchangeSource } from './exchange-pipeline.js';

/**
 * The target a server's call names, counted in the server's stats and logged as the
 * Flight service does: NOT_FOUND for an unknown runner or method (listing those there
 * are), UNAVAILABLE for one loading or failed. `method` undefined: the runner's default.
 * Protocols other than Flight (the Open Inference Protocol) resolve their calls here too.
 * Targets are made once per method and `counters` object: pass the same one every call.
 *
 * @example
 * const answer = await callMethod(serverTarget(registry, 'iris', undefined, { stats }), batch, { signal, deadline });
 */
export function serverTarget(
  registry: RunnerRegistry, runnerName: string, methodName: string | undefined, counters: { stats: StatsRegistry; onCall?: CallListener | undefined },
): MethodTarget {
  const runner = registry.get(runnerName);
  const method = methodOf(runner, methodName);
  // One target per method and counters, made on its first call: a method belongs to one
  // runner object (a reloaded runner has new methods), so the cached target is current.
  let byMethod = serverTargets.get(counters);
  if (!byMethod) serverTargets.set(counters, byMethod = new WeakMap());
  let target = byMethod.get(method);
  if (!target) {
    target = {
      runner, method, stats: counters.stats.of(runner.name, method.signature.name), logFailures: true,
      ...(counters.onCall ? { onCall: counters.onCall } : {}),
    };
    byMethod.set(method, target);
  }
  return target;
}

/** serverTarget's targets, by the counters object, then by method. */
const serverTargets = new WeakMap<object, WeakMap<RunnerMethod, MethodTarget>>();

/**
 * One batch through a method: conformed, invoked with the method's scheduler (if any),
 * checked, counted. The entry for request/response protocols (the Open Inference
 * Protocol): the batch's schema may carry `flight-runner.params`, which win over
 * `ctx.params`. Throws a FlightError with the status to answer (INVALID_ARGUMENT for an
 * input that does not fit the signature, RESOURCE_EXHAUSTED when the queue is full,
 * DEADLINE_EXCEEDED, CANCELLED, INTERNAL for a runner error).
 *
 * @example
 * const target = { runner: registry.get('iris'), method: methodOf(registry.get('iris'), undefined), stats: stats.of('iris', 'predict') };
 * const answer = await callMethod(target, batch, { deadline, signal });
 */
export async function callMethod(target: MethodTarget, batch: RecordBatch, ctx: ExchangeContext = {}): Promise<RecordBatch> {
  let plan: CallPlan;
  try {
    plan = new CallPlan(target, batch.schema, ctx, target.onCall);
  } catch (err) {
    // Refused before the batch ran: still a failed call for metrics (as runExchange counts it).
    target.onCall?.(target.runner.name, target.method.signature.name, 0, 0, err instanceof FlightError ? err.codeName : 'INTERNAL');
    throw err;
  }
  return plan.run(batch);
}

/**
 * {@link callMethod} for a caller in this process (`local()`): answered when its signal
 * aborts or its deadline passes, as a server's transport answers a remote caller, not
 * when the runner returns.
 */
export async function callInProcess(target: MethodTarget, batch: RecordBatch, ctx: ExchangeContext = {}): Promise<RecordBatch> {
  if (!ctx.signal && !ctx.deadline) return callMethod(target, batch, ctx);
  const guard = inProcessGuard(target, ctx);
  const answer = callMethod(target, batch, { ...ctx, signal: guard.signal });
  answer.catch(() => {}); // a late failure after the caller was answered is nobody's
  try {
    return await Promise.race([answer, guard.aborted]);
  } finally {
    guard.dispose();
  }
}

/**
 * What a call in process has in place of a transport: its own signal, aborted (with the
 * FlightError that answers the caller) when the caller's signal aborts or its deadline
 * passes; `aborted` rejects then. One listener on the caller's signal, removed by
 * `dispose`: callers share one signal across many calls.
 */
function inProcessGuard(target: MethodTarget, ctx: ExchangeContext): { signal: AbortSignal; aborted: Promise<never>; abort(reason: FlightError): void; dispose(): void } {
  const stop = new AbortController();
  const where = `runner '${target.runner.name}' method '${target.method.signature.name}'`;
  const aborted = new Promise<never>((_, reject) => stop.signal.addEventListener('abort', () => reject(stop.signal.reason), { once: true }));
  aborted.catch(() => {}); // observed by whoever races it
  const cancel = () => stop.abort(new FlightError(Status.CANCELLED, `${where}: call cancelled`));
  ctx.signal?.addEventListener('abort', cancel, { once: true });
  if (ctx.signal?.aborted) cancel();
  const timer = ctx.deadline && setTimeout(
    () => stop.abort(new FlightError(Status.DEADLINE_EXCEEDED, `deadline passed before ${where} answered`)),
    Math.max(0, ctx.deadline.getTime() - Date.now()),
  );
  return {
    signal: stop.signal,
    aborted,
    abort: (reason) => { if (!stop.signal.aborted) stop.abort(reason); },
    dispose: () => {
      clearTimeout(timer);
      ctx.signal?.removeEventListener('abort', cancel);
    },
  };
}

/**
 * The exchange as an async iterable of answers, for callers in this process (`local()`):
 * each answer with its input's app_metadata, metadata-only chunks passed through, in
 * order. Stopping the iteration early cancels the exchange.
 */
export async function* exchangeChunks(
  target: MethodTarget, input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>, ctx: ExchangeContext = {},
): AsyncIterable<FlightChunk> {
  const guard = inProcessGuard(target, ctx);
  const source = chunkSource(input);
  const channel = new Channel();
  // The caller is answered when the signal aborts, not when the runner returns: the
  // pipeline starts no batch after it, and a scheduler drops the queued ones.
  guard.aborted.catch((err: unknown) => channel.fail(err));
  void runExchange(target, source, channel, { ...ctx, signal: guard.signal }).then(() => channel.end(), (err: unknown) => channel.fail(err));
  try {
    yield* channel;
  } finally {
    // Ended, failed or stopped early: cancel what still runs, fail the writes waiting for
    // this reader, and end the caller's input generator. (The exchange is not awaited: it
    // may be waiting for the caller's input, which now will not come.)
    guard.dispose();
    guard.abort(new FlightError(Status.CANCELLED, `runner '${target.runner.name}' method '${target.method.signature.name}': the reader stopped reading the answers`));
    channel.close();
    source.close();
  }
}

/** An {@link ExchangeSource} over chunks given in process: the schema is the first batch's. */
export function chunkSource(input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>): ExchangeSource & { close(): void } {
  const iterator = Symbol.asyncIterator in input ? input[Symbol.asyncIterator]() : (input as Iterable<FlightChunk>)[Symbol.iterator]();
  const pending: FlightChunk[] = [];
  let first: Schema | undefined;
  let done = false;
  const pull = async (): Promise<FlightChunk | undefined> => {
    if (done) return undefined;
    const next = await iterator.next();
    if (next.done) {
      done = true;
      return undefined;
    }
    if (next.value.batch && !first) first = next.value.batch.schema;
    return next.value;
  };
  return {
    async schema() {
      while (!first && !done) {
        const chunk = await pull();
        if (chunk) pending.push(chunk);
      }
      return first;
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const chunk = pending.shift() ?? (await pull());
        if (!chunk) return;
        yield chunk;
      }
    },
    close() {
      // Ends the caller's generator (its finally blocks run) when the exchange stopped early.
      if (!done) void Promise.resolve(iterator.return?.()).catch(() => {});
      done = true;
    },
  };
}

/**
 * One exchange: the output schema first (for a method with declared outputs), then one
 * answer per input batch, in order, each with its input's app_metadata; metadata-only
 * chunks pass through in order. An input that ends without a schema is answered with the
 * output schema and no batches. Batches of a batchable method run up to
 * PIPELINE_DEPTH (exchange-pipeline.ts) at a time and are answered strictly in order; reading stops
 * while that window is full, so the sink's (and the transport's) flow control bounds
 * what the caller can push. Rejects with the FlightError that ends the call.
 */
export function runExchange(target: MethodTarget, input: ExchangeSource, output: ExchangeSink, ctx: ExchangeContext = {}): Promise<void> {
  const onCall = target.onCall;
  // Without a listener, no wrapper: one promise less per call.
  return onCall ? counted(target, onCall, input, output, ctx) : runPipeline(target, input, output, ctx, undefined);
}

/**
 * The exchange, telling `onCall` of each batch, and of a call refused before any batch
 * ran (an input that does not fit the signature, bad params): still a failed call, so
 * metrics count it under its status.
 */
async function counted(target: MethodTarget, onCall: CallListener, input: ExchangeSource, output: ExchangeSink, ctx: ExchangeContext): Promise<void> {
  let calls = 0;
  const started = performance.now();
  try {
    await runPipeline(target, input, output, ctx, (runner, method, rows, ms, code) => {
      calls++;
      onCall(runner, method, rows, ms, code);
    });
  } catch (err) {
    if (!calls) onCall(target.runner.name, target.method.signature.name, 0, performance.now() - started, err instanceof FlightError ? err.codeName : 'INTERNAL');
    throw err;
  }
}

/**
 * An {@link ExchangeSink} read as an async iterable: each write resolves once the reader
 * took it, so a slow reader slows the exchange as a slow client's flow control does.
 */
class Channel implements ExchangeSink, AsyncIterable<FlightChunk> {
  schema: Schema | undefined;
  private readonly queue: { chunk: FlightChunk; taken: () => void; dropped: (err: unknown) => void }[] = [];
  private ended = false;
  private closed = false;
  private failure: { err: unknown } | undefined;
  private wake: (() => void) | undefined;

  async begin(schema: Schema): Promise<void> {
    this.schema = schema;
  }

  write(batch: RecordBatch, appMetadata?: Uint8Array): Promise<void> {
    this.schema ??= batch.schema;
    return this.push(appMetadata ? { batch, appMetadata } : { batch });
  }

  writeMetadata(appMetadata: Uint8Array): Promise<void> {
    return this.push({ appMetadata });
  }

  /** The exchange finished: the reader gets what is queued, then the end. */
  end(): void {
    this.ended = true;
    this.wake?.();
  }

  /** The exchange failed: the reader gets what is queued, then `err`. */
  fail(err: unknown): void {
    this.failure ??= { err };
    this.end();
  }

  /** The reader stopped: queued and later writes fail (as writes to a closed stream do). */
  close(): void {
    this.closed = true;
    for (const item of this.queue.splice(0)) item.dropped(new FlightError(Status.CANCELLED, 'the reader stopped reading the answers'));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<FlightChunk> {
    for (;;) {
      const item = this.queue.shift();
      if (item) {
        item.taken();
        yield item.chunk;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure.err;
        return;
      }
      await new Promise<void>((resolve) => { this.wake = resolve; });
      this.wake = undefined;
    }
  }

  private push(chunk: FlightChunk): Promise<void> {
    if (this.closed) return Promise.reject(new FlightError(Status.CANCELLED, 'the reader stopped reading the answers'));
    return new Promise((taken, dropped) => {
      this.queue.push({ chunk, taken, dropped });
      this.wake?.();
    });
  }
}
