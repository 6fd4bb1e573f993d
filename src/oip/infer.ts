/**
 * One V2 inference, the same for gRPC and REST: resolve the model, build the input
 * batch, and run it through the runner service's own exchange, so a V2 call gets the
 * conform step, batching, queue limits, deadlines, metrics and `stats` of a Flight call
 * (and shares batches with concurrent Flight callers).
 */
import type { RecordBatch } from 'apache-arrow';
import { FlightError, type CallContext } from '../flight/index.js';
import { callMethod, type CallListener, type MethodTarget } from '../runner/exchange.js';
import type { RunnerRegistry } from '../runner/registry.js';
import type { StatsRegistry } from '../runner/stats.js';
import { log } from '../util/log.js';
import { resolveModel } from './models.js';
import { requestBatch, responseOutputs, type V2Input, type V2Output } from './tensors.js';

/** What the V2 endpoints serve: the registry, and where calls are counted (as the Flight service counts them). */
export interface OipBackend {
  registry: RunnerRegistry;
  /** The server's `stats` (the Flight service's own): V2 calls count there too. */
  stats: StatsRegistry;
  /** The server's call listener (metrics), as the Flight service has it. */
  onCall?: CallListener;
}

/** A V2 inference request, decoded from either protocol. */
export interface InferRequest {
  model: string;
  version: string;
  id: string;
  inputs: V2Input[];
  /** Outputs asked for, in order; empty for all. */
  outputs: string[];
  /** Request parameters other than the protocol's own: the runner's call params. */
  params: Record<string, unknown>;
}

/** A V2 inference answer. */
export interface InferResult {
  model: string;
  version: string;
  id: string;
  outputs: V2Output[];
}

/**
 * Request parameters that belong to the V2 protocols (Triton's clients send them), not
 * to the runner: the rest become the call's params, as a Flight call's CMD params.
 */
export const PROTOCOL_PARAMETERS = new Set([
  'binary_data_output', 'binary_data', 'binary_data_size', 'sequence_id', 'sequence_start', 'sequence_end', 'priority', 'timeout', 'headers',
]);

/**
 * Runs one request; throws a FlightError with the status to answer. The batch goes
 * through the runner layer's one-batch entry (callMethod): the Flight service's pipeline
 * without a stream, a descriptor or an IPC step around it.
 */
export async function infer(backend: OipBackend, request: InferRequest, ctx: CallContext): Promise<InferResult> {
  const ref = resolveModel(backend.registry, request.model, request.version);
  const { runner, method } = ref;
  const sig = method.signature;
  const batch = requestBatch(request.model, sig, request.inputs);
  const target: MethodTarget = {
    runner, method, stats: backend.stats.of(runner.name, sig.name), logFailures: true, ...(backend.onCall ? { onCall: backend.onCall } : {}),
  };
  const started = performance.now();
  let code = 'OK';
  let output: RecordBatch;
  try {
    output = await callMethod(target, batch, {
      params: request.params, ...(ctx.signal ? { signal: ctx.signal } : {}), ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
    });
  } catch (err) {
    code = err instanceof FlightError ? err.codeName : 'INTERNAL';
    throw err;
  } finally {
    // One line per call, as the Flight service logs an exchange; debug level, as a busy server makes thousands a second.
    log('debug', 'v2 infer', { model: request.model, runner: runner.name, method: sig.name, peer: ctx.peer, code, ms: Math.round(performance.now() - started) });
  }
  return {
    model: request.model,
    version: request.version || (runner.versions[0] ?? ''),
    id: request.id,
    outputs: responseOutputs(request.model, output, request.outputs),
  };
}
