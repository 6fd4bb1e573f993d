/**
 * Runners as a Flight service (docs/protocol.md): discovery through ListFlights,
 * GetFlightInfo and GetSchema; calls through DoExchange; health, metadata and stats
 * through DoAction. Knows runners only through the registry and the Runner interface.
 */
import { Schema } from 'apache-arrow';
import { FlightDescriptor, FlightError, type ActionType, type FlightHandlers, type FlightInfo } from '../flight/index.js';
import { log, logs } from '../util/log.js';
import { addressOf } from './address.js';
import { methodOf } from './call.js';
import { runExchange, serverTarget, type CallListener, type ExchangeContext } from './exchange.js';
import { modelMetadata } from './model-metadata.js';
import type { RunnerRegistry, RunnerState } from './registry.js';
import type { Runner, RunnerMethod } from './runner.js';
import { StatsRegistry } from './stats.js';
import { inputSchema, signatureToJSON } from './signature.js';

/** Server identity for the `server-metadata` action. */
export const SERVER_NAME = 'flight-runner';
export const SERVER_VERSION = '0.1.0';

/** Options of the runner service. */
export interface RunnerServiceOptions {
  /** Locations advertised in FlightInfo endpoints (the server's own). */
  locations: readonly string[];
  stats?: StatsRegistry;
  /** Told of every finished call, with its gRPC status name (metrics). */
  onCall?: CallListener;
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
  const counters = { stats, onCall: options.onCall };

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

    // Not async: the exchange's own promise is the call's (an async wrapper per call is
    // one more promise and frame); a throw here still fails only this call.
    doExchange(input, output, ctx) {
      const address = addressOf(input.descriptor);
      const target = serverTarget(registry, address.runner, address.method, counters);
      const { runner, method } = target;
      // Told of an abort through onAbort when the transport has it: reading ctx.signal
      // would make an AbortSignal per call.
      const exchangeCtx: ExchangeContext = ctx.onAbort
        ? { params: address.params, onAbort: ctx.onAbort.bind(ctx) }
        : { params: address.params, signal: ctx.signal };
      if (ctx.deadline) exchangeCtx.deadline = ctx.deadline;
      // The wire streams are the pipeline's source and sink as they are: no copy between.
      // One log line per exchange, at debug level, as a busy server makes thousands a
      // second: when debug lines are not written, the exchange runs with no wrapping.
      if (!logs('debug')) return runExchange(target, input, output, exchangeCtx);
      return loggedExchange(runExchange(target, input, output, exchangeCtx), runner.name, method.signature.name, ctx.peer);
    },

    async *doAction(action) {
      switch (action.type) {
        case 'health': {
          const runners = registry.states();
          const ready = Object.values(runners).every((s) => s === 'ready');
          // Scheduled runners also report each instance (idle, busy, restarting, ...).
          const instances = Object.fromEntries(registry.readyRunners().flatMap((r) => {
            const states = r.instanceStates?.();
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

/** An exchange with its debug log line: runner, method, peer, status and time. */
async function loggedExchange(exchange: Promise<void>, runner: string, method: string, peer: string): Promise<void> {
  const started = performance.now();
  let code = 'OK';
  try {
    await exchange;
  } catch (err) {
    code = err instanceof FlightError ? err.codeName : 'INTERNAL';
    throw err;
  } finally {
    log('debug', 'exchange', { runner, method, peer, code, ms: Math.round(performance.now() - started) });
  }
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
