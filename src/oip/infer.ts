/**
 * One V2 inference, the same for gRPC and REST: resolve the model, build the input
 * batch, and run it through the runner service's own exchange, so a V2 call gets the
 * conform step, batching, queue limits, deadlines, metrics and `stats` of a Flight call
 * (and shares batches with concurrent Flight callers).
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import {
  FlightDescriptor, FlightError, type CallContext, type FlightChunk, type FlightHandlers, type FlightReader, type FlightWriter,
} from '../flight/index.js';
import type { RunnerRegistry } from '../runner/registry.js';
import type { StatsRegistry } from '../runner/stats.js';
import { resolveModel } from './models.js';
import { requestBatch, responseOutputs, type V2Input, type V2Output } from './tensors.js';

/** What the V2 endpoints serve: the registry, and the runner service whose calls they make. */
export interface OipBackend {
  registry: RunnerRegistry;
  /** The runner service's handlers (runnerService()): V2 calls go through its doExchange. */
  handlers: Pick<FlightHandlers, 'doExchange'>;
  stats: StatsRegistry;
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

/** Runs one request; throws a FlightError with the status to answer. */
export async function infer(backend: OipBackend, request: InferRequest, ctx: CallContext): Promise<InferResult> {
  const ref = resolveModel(backend.registry, request.model, request.version);
  const sig = ref.method.signature;
  const batch = requestBatch(request.model, sig, request.inputs);
  const method = sig.name;
  const descriptor = Object.keys(request.params).length
    ? FlightDescriptor.cmd(JSON.stringify({ runner: ref.runner.name, method, params: request.params }))
    : FlightDescriptor.path(ref.runner.name, method);
  const output = await exchangeOne(backend.handlers, descriptor, batch, ctx);
  return {
    model: request.model,
    version: request.version || (ref.runner.versions[0] ?? ''),
    id: request.id,
    outputs: responseOutputs(request.model, output, request.outputs),
  };
}

/**
 * The runner service's DoExchange with one input batch, its answer kept in memory: the
 * reader yields the batch once, the writer keeps what comes back. No Arrow IPC is
 * encoded or decoded on the way.
 */
async function exchangeOne(
  handlers: Pick<FlightHandlers, 'doExchange'>, descriptor: FlightDescriptor, batch: RecordBatch, ctx: CallContext,
): Promise<RecordBatch> {
  if (!handlers.doExchange) throw FlightError.unimplemented('this server has no runner service to call');
  const reader = {
    descriptor,
    schema: async () => batch.schema,
    async *[Symbol.asyncIterator](): AsyncIterator<FlightChunk> {
      yield { batch };
    },
  };
  let schema: Schema | undefined;
  let answer: RecordBatch | undefined;
  const writer = {
    get schema() {
      return schema;
    },
    begin: async (s: Schema) => {
      schema = s;
    },
    write: async (b: RecordBatch) => {
      if (answer) throw FlightError.internal('the runner answered one V2 request with two batches');
      schema ??= b.schema;
      answer = b;
    },
    writeMetadata: async () => {},
  };
  await handlers.doExchange(reader as unknown as FlightReader, writer as unknown as FlightWriter, ctx);
  if (!answer) throw FlightError.internal(`the runner answered no batch to a V2 request (${FlightDescriptor.describe(descriptor)})`);
  return answer;
}
