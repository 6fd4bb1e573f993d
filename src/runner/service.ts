/**
 * Runners as a Flight service (docs/protocol.md): discovery through ListFlights,
 * GetFlightInfo and GetSchema; calls through DoExchange; health, metadata and stats
 * through DoAction. Knows runners only through the registry and the Runner interface.
 */
import { Schema, type RecordBatch } from 'apache-arrow';
import {
  FlightDescriptor, FlightError, Status, type ActionType, type CallContext, type FlightChunk, type FlightHandlers, type FlightInfo,
  type FlightReader, type FlightWriter,
} from '../flight/index.js';
import { log } from '../util/log.js';
import { addressOf } from './address.js';
import { invokeChecked, methodOf, type Invoke } from './call.js';
import { planConform } from './conform.js';
import { modelMetadata } from './model-metadata.js';
import { paramsFromSchema } from './params.js';
import type { RunnerRegistry, RunnerState } from './registry.js';
import type { Runner, RunnerMethod } from './runner.js';
import { StatsRegistry } from './stats.js';
import { inputSchema, outputSchema, signatureToJSON, tableOutput } from './signature.js';

/** Batches of one exchange that may run at once (see exchange()). */
const PIPELINE_DEPTH = 4;

/** Server identity for the `server-metadata` action. */
export const SERVER_NAME = 'flight-runner';
export const SERVER_VERSION = '0.1.0';

/** How calls reach a method: directly, or through a scheduler (issue: scheduling). */
export type InvokerFactory = (runner: Runner, method: RunnerMethod) => Invoke;

/** Options of the runner service. */
export interface RunnerServiceOptions {
  /** Locations advertised in FlightInfo endpoints (the server's own). */
  locations: readonly string[];
  /** Wraps each method's invoke, e.g. with adaptive batching. Default: call the backend directly. */
  invoker?: InvokerFactory;
  stats?: StatsRegistry;
  /** Told of every finished call, with its gRPC status name (metrics). */
  onCall?: (runner: string, method: string, rows: number, ms: number, code: string) => void;
}

const ACTIONS: ActionType[] = [
  { type: 'health', description: 'Liveness and readiness: {"live", "ready", "runners": {name: "ready"|"loading"|"failed"}, "errors": {name: reason}}.' },
  { type: 'server-metadata', description: 'Server name, version and protocol extensions.' },
  { type: 'model-metadata', description: 'Body {"runner": name}: versions, platform, inputs and outputs with Arrow and KServe V2 types.' },
  { type: 'list-runners', description: 'Every runner with its state and method signatures (a failed one with its error).' },
  { type: 'stats', description: 'Per method: calls, rows, errors, backend batches, batch rows, latency percentiles.' },
];

const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

/**
 * The Flight handlers that serve `registry`.
 *
 * @example
 * const server = new FlightServer(runnerService(registry, { locations }));
 */
export function runnerService(registry: RunnerRegistry, options: RunnerServiceOptions): FlightHandlers & { stats: StatsRegistry } {
  const stats = options.stats ?? new StatsRegistry();
  const invokers = new Map<RunnerMethod, Invoke>();
  const invokerOf = (runner: Runner, method: RunnerMethod): Invoke => {
    let invoke = invokers.get(method);
    if (!invoke) {
      invoke = options.invoker ? options.invoker(runner, method) : method.invoke.bind(method);
      invokers.set(method, invoke);
    }
    return invoke;
  };

  const infoOf = (runner: Runner, method: RunnerMethod): FlightInfo => {
    const path = [runner.name, method.signature.name];
    return {
      schema: inputSchema(method.signature),
      descriptor: FlightDescriptor.path(...path),
      endpoints: [{ ticket: json({ runner: runner.name, method: method.signature.name }), locations: [...options.locations] }],
      totalRecords: -1,
      totalBytes: -1,
      ordered: true,
      appMetadata: json(signatureToJSON(runner.name, method.signature)),
    };
  };

  const resolve = (descriptor: FlightDescriptor | undefined) => {
    const address = addressOf(descriptor);
    const runner = registry.get(address.runner);
    return { runner, method: methodOf(runner, address.method), params: address.params };
  };

  return {
    stats,

    async *listFlights() {
      const states = registry.states();
      const errors = registry.errors();
      for (const name of registry.names()) {
        if (states[name] === 'ready') {
          const runner = registry.get(name);
          for (const method of runner.methods) yield infoOf(runner, method);
        } else {
          // A runner that is loading or failed is listed too, so discovery shows why it
          // cannot be called: no method, no endpoint, its state (and reason) as metadata.
          yield unavailableInfo(name, states[name]!, errors[name]);
        }
      }
    },

    getFlightInfo(descriptor) {
      const { runner, method } = resolve(descriptor);
      return infoOf(runner, method);
    },

    getSchema(descriptor) {
      return inputSchema(resolve(descriptor).method.signature);
    },

    async doExchange(input, output, ctx) {
      const { runner, method, params: cmdParams } = resolve(input.descriptor);
      const started = performance.now();
      let code = 'OK';
      let recorded = 0;
      const onCall = options.onCall && ((...call: Parameters<NonNullable<RunnerServiceOptions['onCall']>>) => {
        recorded++;
        options.onCall!(...call);
      });
      try {
        await exchange(runner, method, cmdParams, input, output, ctx, invokerOf(runner, method), stats, onCall);
      } catch (err) {
        code = err instanceof FlightError ? err.codeName : 'INTERNAL';
        // Refused before any batch ran (an input that does not fit the signature, bad
        // params): still a failed call, so metrics count it under its status.
        if (!recorded) options.onCall?.(runner.name, method.signature.name, 0, performance.now() - started, code);
        throw err;
      } finally {
        // One line per exchange; debug level, as a busy server makes thousands a second.
        log('debug', 'exchange', { runner: runner.name, method: method.signature.name, peer: ctx.peer, code, ms: Math.round(performance.now() - started) });
      }
    },

    async *doAction(action) {
      switch (action.type) {
        case 'health': {
          const runners = registry.states();
          const ready = Object.values(runners).every((s) => s === 'ready');
          // Scheduled runners also report each instance (idle, busy, restarting, ...).
          const instances = Object.fromEntries(registry.readyRunners().flatMap((r) => {
            const states = (r as Runner & { instanceStates?: () => string[] }).instanceStates?.();
            return states ? [[r.name, states]] : [];
          }));
          yield json({ live: true, ready, runners, instances, errors: registry.errors() });
          return;
        }
        case 'server-metadata':
          yield json({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['arrow.fixed_shape_tensor', 'arrow.variable_shape_tensor', 'arrow.json', 'flight-runner.params'] });
          return;
        case 'model-metadata': {
          const body = parseBody(action.body, 'model-metadata');
          if (typeof body['runner'] !== 'string') throw FlightError.invalidArgument('model-metadata takes a body {"runner": name}');
          yield json(modelMetadata(registry.get(body['runner'])));
          return;
        }
        case 'list-runners': {
          const states = registry.states();
          const errors = registry.errors();
          yield json({
            runners: registry.names().map((name) => {
              const state = states[name];
              const runner = state === 'ready' ? registry.get(name) : undefined;
              return {
                name,
                state,
                ...(runner ? { platform: runner.platform, methods: runner.methods.map((m) => signatureToJSON(name, m.signature)) } : {}),
                ...(errors[name] !== undefined ? { error: errors[name] } : {}),
              };
            }),
          });
          return;
        }
        case 'stats':
          yield json(stats.toJSON());
          return;
        default:
          throw FlightError.unimplemented(`unknown action '${action.type}'; actions: ${ACTIONS.map((a) => a.type).join(', ')}`);
      }
    },

    *listActions() {
      yield* ACTIONS;
    },
  };
}

/**
 * The FlightInfo of a runner that cannot be called (loading or failed): its PATH
 * `[runner]`, an empty schema, no endpoint, and app_metadata `{"runner", "state",
 * "error"}` with no "method" key, which is how clients tell it from a method's info.
 */
function unavailableInfo(name: string, state: RunnerState, error: string | undefined): FlightInfo {
  return {
    schema: new Schema([]),
    descriptor: FlightDescriptor.path(name),
    endpoints: [],
    totalRecords: -1,
    totalBytes: -1,
    ordered: true,
    appMetadata: json({ runner: name, state, ...(error !== undefined ? { error } : {}) }),
  };
}

function parseBody(body: Uint8Array, action: string): Record<string, unknown> {
  const text = new TextDecoder().decode(body);
  try {
    const value = JSON.parse(text || '{}');
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch { /* fall through */ }
  throw FlightError.invalidArgument(`${action} body must be a JSON object, got ${JSON.stringify(text.slice(0, 60))}`);
}

/**
 * One DoExchange: the output schema first, then one output batch per input batch, in
 * order, each with its input's app_metadata. Metadata-only messages pass through.
 */
async function exchange(
  runner: Runner, method: RunnerMethod, cmdParams: Record<string, unknown>,
  input: FlightReader, output: FlightWriter, ctx: CallContext, invoke: Invoke, stats: StatsRegistry,
  onCall: RunnerServiceOptions['onCall'] = () => {},
): Promise<void> {
  const sig = method.signature;
  const methodStats = stats.of(runner.name, sig.name);
  const schema = await input.schema();
  const fixedOutput = !tableOutput(sig);
  if (!schema) {
    // No input schema at all: answer with the output schema and no batches.
    await output.begin(fixedOutput ? outputSchema(sig) : new Schema([]));
    return;
  }
  const params = { ...cmdParams, ...paramsFromSchema(schema) };
  const conform = planConform(runner.name, sig, schema);
  if (fixedOutput) await output.begin(outputSchema(sig));

  const attempt = (batch: RecordBatch) => invokeChecked(runner.name, method, invoke, conform(batch), params,
    { signal: ctx.signal, ...(ctx.deadline ? { deadline: ctx.deadline } : {}) });

  /**
   * Runs one batch. `earlier` settles when this stream's previous batches are answered:
   * if the queue is full while they are still in it, this stream is what fills it, so
   * the batch waits for them (backpressure on the stream) instead of failing; only a
   * queue full of other calls' rows is RESOURCE_EXHAUSTED.
   */
  const run = async (batch: RecordBatch, earlier: Promise<void>): Promise<RecordBatch> => {
    if (ctx.deadline && ctx.deadline.getTime() <= Date.now()) {
      throw new FlightError(Status.DEADLINE_EXCEEDED, `deadline passed before runner '${runner.name}' method '${sig.name}' ran`);
    }
    let earlierDone = false;
    const waitEarlier = earlier.then(() => { earlierDone = true; }, () => { earlierDone = true; });
    const started = performance.now();
    try {
      let result: RecordBatch;
      for (;;) {
        try {
          result = await attempt(batch);
          break;
        } catch (err) {
          const full = err instanceof FlightError && err.code === Status.RESOURCE_EXHAUSTED;
          if (!full || earlierDone) throw err;
          await waitEarlier;
        }
      }
      const ms = performance.now() - started;
      methodStats.recordCall(batch.numRows, ms, false);
      onCall(runner.name, sig.name, batch.numRows, ms, 'OK');
      return result;
    } catch (err) {
      const ms = performance.now() - started;
      methodStats.recordCall(batch.numRows, ms, true);
      onCall(runner.name, sig.name, batch.numRows, ms, err instanceof FlightError ? err.codeName : 'INTERNAL');
      if (!(err instanceof FlightError) || err.code === Status.INTERNAL) {
        log('warn', 'call failed', { runner: runner.name, method: sig.name, error: (err as Error).message });
      }
      throw err;
    }
  };

  // Batches of one stream run up to PIPELINE_DEPTH at a time (so a stream can keep several
  // instances busy), and are answered strictly in order. Reading stops while the window
  // is full, so flow control still bounds what the client can push.
  // Answers are written by their own chain as soon as each is ready, while reading goes
  // on: a client that waits for each answer before sending its next batch (request and
  // response over one exchange) gets it without having to send more, and a failure ends
  // the call at once instead of waiting for the next input message.
  const depth = sig.batchable ? PIPELINE_DEPTH : 1;
  const inFlight: Promise<void>[] = [];
  let written: Promise<void> = Promise.resolve();
  // A failed write interrupts the wait for the next input message. (Not a Promise.race
  // against one long-lived promise: each race would leave a reaction on it holding that
  // step's batch, so a long stream would keep every batch alive.)
  let failure: { err: unknown } | undefined;
  let interrupt: ((err: unknown) => void) | undefined;
  const fail = (err: unknown) => {
    failure ??= { err };
    interrupt?.(err);
  };
  const iterator = input[Symbol.asyncIterator]();
  for (;;) {
    if (failure) throw failure.err;
    const next = iterator.next();
    next.catch(() => {}); // abandoned if the call fails while it waits
    const step = await new Promise<IteratorResult<FlightChunk>>((resolve, reject) => {
      interrupt = reject;
      next.then(resolve, reject);
    });
    interrupt = undefined;
    if (step.done) break;
    const { batch, appMetadata } = step.value;
    const result = batch ? run(batch, written) : undefined;
    result?.catch(() => {}); // observed when its turn comes; never an unhandled rejection
    written = written.then(async () => {
      if (result) await output.write(await result, appMetadata);
      else if (appMetadata) await output.writeMetadata(appMetadata);
    });
    written.catch(fail);
    inFlight.push(written);
    while (inFlight.length >= depth) await inFlight.shift();
  }
  await written;
  if (!output.schema) await output.begin(fixedOutput ? outputSchema(sig) : new Schema([]));
}
