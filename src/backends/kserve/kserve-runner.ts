/**
 * A runner whose model lives on a V2 (KServe Open Inference Protocol) server such as
 * Triton or MLServer. At load it reads the model's metadata (and ModelConfig where the
 * peer has it) to make the signature; a call sends the batch as one ModelInfer and turns
 * the answer back into Arrow, checking every part of it. The peer's errors come back as
 * statuses whose message names the remote model.
 */
import type { RecordBatch } from 'apache-arrow';
import { FlightError, Status } from '../../flight/index.js';
import type { InvokeContext, Runner, RunnerMethod } from '../../runner/runner.js';
import { outputSchema } from '../../runner/signature.js';
import { inferRequest } from './request.js';
import { MalformedAnswer, answerToBatch, type InferResponseMessage } from './response.js';
import { kservePlan, type KserveModelPlan, type KserveSignatureOptions, type V2ModelMetadata } from './signature.js';
import { V2Client, type V2Tls } from './v2-client.js';

/** Options of a kserve runner. */
export interface KserveRunnerOptions extends KserveSignatureOptions {
  /** Runner name (default: the remote model's name). */
  name?: string;
  /** `host:port` of the peer's gRPC endpoint. */
  url: string;
  /** The model's name on the peer. */
  model: string;
  /** The model version to call (default: the peer's choice). */
  version?: string;
  /** Bearer token sent to the peer. */
  token?: string;
  /** TLS to the peer. */
  tls?: V2Tls;
  /** Longest a call to the peer (or the load) may take, in ms. Default 30000. */
  timeoutMs?: number;
  /** Largest answer accepted from the peer, in bytes. Default 256 MiB. */
  maxAnswerBytes?: number;
}

/** Default largest answer accepted from a peer (256 MiB). */
export const DEFAULT_MAX_ANSWER_BYTES = 256 * 1024 * 1024;

/** What a failed call to the peer carries (GrpcCallError). */
interface PeerError { code?: number; details?: string; message?: string }

/**
 * The status our caller gets for a peer's failure. The peer's NOT_FOUND means the model
 * went away there, which for our caller is this runner being unavailable, not a name
 * they got wrong; a peer refusing our credentials is our configuration's fault.
 */
function peerStatus(code: number | undefined): Status {
  switch (code) {
    case Status.INVALID_ARGUMENT: return Status.INVALID_ARGUMENT;
    case Status.RESOURCE_EXHAUSTED: return Status.RESOURCE_EXHAUSTED;
    case Status.DEADLINE_EXCEEDED: return Status.DEADLINE_EXCEEDED;
    case Status.CANCELLED: return Status.CANCELLED;
    case Status.UNAVAILABLE: case Status.NOT_FOUND: return Status.UNAVAILABLE;
    default: return Status.INTERNAL;
  }
}

function describePeerError(err: unknown): string {
  const e = err as PeerError;
  const code = e.code !== undefined ? Status[e.code] ?? String(e.code) : 'ERROR';
  return `${code}: ${e.details || e.message || String(err)}`;
}

/**
 * Loads a runner for a model on a V2 server. Rejects, naming the model and the peer,
 * when the peer cannot be reached, the model is not ready there, or its metadata
 * describes something the backend cannot serve exactly.
 *
 * @example
 * const add = await loadKserveRunner({ url: '127.0.0.1:8001', model: 'add_sub' });
 */
export async function loadKserveRunner(options: KserveRunnerOptions): Promise<Runner> {
  const where = `kserve model '${options.model}'${options.version ? ` version ${options.version}` : ''} at ${options.url}`;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const client = new V2Client({
    url: options.url, ...(options.token ? { token: options.token } : {}), ...(options.tls ? { tls: options.tls } : {}),
    // The peer's answers are untrusted too: one larger than this is refused from its length prefix.
    maxReceiveMessageBytes: options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES,
  });
  const ask = <T>(method: 'ModelReady' | 'ModelMetadata' | 'ModelConfig', what: string) =>
    client.call<T>(method, { name: options.model, version: options.version ?? '' }, { deadline: new Date(Date.now() + timeoutMs) })
      .catch((err: unknown) => {
        throw new Error(`${where}: cannot read its ${what}: ${describePeerError(err)}`, { cause: err });
      });
  try {
    // Metadata first: for a model the peer does not have, its error says so (Triton's
    // ModelReady just answers false).
    const metadata = await ask<V2ModelMetadata>('ModelMetadata', 'metadata');
    const ready = await ask<{ ready?: boolean }>('ModelReady', 'readiness');
    if (!ready.ready) throw new Error(`${where}: the peer has the model but says it is not ready`);
    const maxBatchSize = await client.call<{ config?: { max_batch_size?: number } }>(
      'ModelConfig', { name: options.model, version: options.version ?? '' }, { deadline: new Date(Date.now() + timeoutMs) },
    ).then((res) => res.config?.max_batch_size ?? 0, (err: PeerError) => {
      // MLServer has no ModelConfig (a Triton extension): the shapes decide instead.
      if (err.code === Status.UNIMPLEMENTED) return undefined;
      throw new Error(`${where}: cannot read its ModelConfig: ${describePeerError(err)}`, { cause: err });
    });
    const plan = kservePlan(where, { ...metadata, inputs: metadata.inputs ?? [], outputs: metadata.outputs ?? [] }, maxBatchSize, options);
    const versions = options.version ? [options.version] : metadata.versions?.length ? [...metadata.versions] : ['1'];
    return {
      name: options.name ?? options.model,
      platform: 'kserve',
      versions,
      methods: [kserveMethod(client, plan, options, where, timeoutMs)],
      close: async () => client.close(),
    };
  } catch (err) {
    client.close();
    throw err;
  }
}

let nextId = 0;

function kserveMethod(client: V2Client, plan: KserveModelPlan, options: KserveRunnerOptions, where: string, timeoutMs: number): RunnerMethod {
  const schema = outputSchema(plan.signature);
  return {
    signature: plan.signature,
    async invoke(input: RecordBatch, _params, ctx: InvokeContext): Promise<RecordBatch> {
      const id = `flight-runner-${++nextId}`;
      const request = inferRequest(plan, options.model, options.version ?? '', id, input);
      const timeout = Date.now() + timeoutMs;
      const deadline = new Date(ctx.deadline ? Math.min(timeout, ctx.deadline.getTime()) : timeout);
      let response: InferResponseMessage;
      try {
        response = await client.call<InferResponseMessage>('ModelInfer', request, { deadline, ...(ctx.signal ? { signal: ctx.signal } : {}) });
      } catch (err) {
        const code = (err as PeerError).code;
        throw new FlightError(peerStatus(code), `${where} failed: ${describePeerError(err)}`, { cause: err });
      }
      try {
        return answerToBatch(plan, schema, response, input.numRows, id);
      } catch (err) {
        if (err instanceof MalformedAnswer) throw FlightError.internal(`${where} sent a malformed answer: ${err.message}`, err);
        throw err;
      }
    },
  };
}
