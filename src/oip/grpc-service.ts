/**
 * `inference.GRPCInferenceService` (KServe V2 over gRPC, with Triton's ModelConfig,
 * ModelStatistics and ModelStreamInfer) as methods for the Flight server's gRPC router:
 * one port serves both protocols. Every method authenticates like a Flight call.
 */
import type { ServerAuth } from '../flight/auth.js';
import { FlightError, Status, type CallContext, type GrpcCall, type GrpcMethod } from '../flight/index.js';
import { CONTROL_MESSAGE_MAX_BYTES } from '../flight/server.js';
import { SERVER_NAME, SERVER_VERSION } from '../runner/service.js';
import { authenticateV2 } from './auth.js';
import { encodeElements } from '../codecs/v2-bytes.js';
import type { TensorData } from './elements.js';
import { infer, PROTOCOL_PARAMETERS, type InferRequest, type InferResult, type OipBackend } from './infer.js';
import {
  int64Number, messages, type InferParameter, type InferTensorContents, type MessageCodec, type ModelInferRequest, type ModelInferResponse,
} from './messages.js';
import { modelReady, resolveModel, v2Config, v2Metadata, v2Statistics } from './models.js';
import type { V2Output } from './tensors.js';

/** Protocol extensions ServerMetadata lists. */
export const OIP_EXTENSIONS = ['model_configuration', 'statistics', 'binary_tensor_data'];

/** Requests of one ModelStreamInfer stream that may run at once (answers still go out in order). */
const STREAM_DEPTH = 16;

/** Options of the V2 gRPC service. */
export interface OipGrpcOptions {
  /** The Flight server's credentials: V2 calls need the same. */
  auth?: ServerAuth;
}

/**
 * The methods of `inference.GRPCInferenceService`, for FlightServer.addService.
 *
 * @example
 * server.addService(OIP_SERVICE_NAME, oipGrpcMethods({ registry, stats }, { auth }));
 */
export function oipGrpcMethods(backend: OipBackend, options: OipGrpcOptions = {}): Record<string, GrpcMethod> {
  const { registry, stats } = backend;
  const context = async (call: GrpcCall): Promise<CallContext> => {
    // Without credentials the headers are not read at all (the metadata map is built lazily, per call).
    let identity: string | undefined;
    if (options.auth) {
      const header = call.metadata.get('authorization')[0];
      identity = await authenticateV2(options.auth, header === undefined ? undefined : String(header));
    }
    return {
      metadata: call.metadata, peer: call.peer, signal: call.signal,
      ...(call.deadline ? { deadline: call.deadline } : {}), ...(identity !== undefined ? { identity } : {}),
    };
  };
  /** A unary method: authenticate, decode the one request, answer one message. */
  const unary = <Req, Res>(
    request: MessageCodec<Req>, response: MessageCodec<Res>, run: (req: Req, ctx: CallContext) => Res | Promise<Res>, maxRequestBytes?: number,
  ): GrpcMethod => ({
    kind: 'unary',
    ...(maxRequestBytes ? { maxRequestBytes } : {}),
    handler: async (call) => {
      const ctx = await context(call);
      const req = decode(request, await call.single(), call.path);
      await call.sendMessage(response.encode(await run(req, ctx)));
    },
  });
  const control = CONTROL_MESSAGE_MAX_BYTES;

  return {
    ServerLive: unary(messages.ServerLiveRequest, messages.ServerLiveResponse, () => ({ live: true }), control),
    ServerReady: unary(messages.ServerReadyRequest, messages.ServerReadyResponse, () => ({
      ready: Object.values(registry.states()).every((s) => s === 'ready'),
    }), control),
    ModelReady: unary(messages.ModelReadyRequest, messages.ModelReadyResponse, (req) => ({ ready: modelReady(registry, req.name, req.version) }), control),
    ServerMetadata: unary(messages.ServerMetadataRequest, messages.ServerMetadataResponse, () => ({
      name: SERVER_NAME, version: SERVER_VERSION, extensions: OIP_EXTENSIONS,
    }), control),
    ModelMetadata: unary(messages.ModelMetadataRequest, messages.ModelMetadataResponse, (req) => v2Metadata(resolveModel(registry, req.name, req.version)), control),
    ModelConfig: unary(messages.ModelConfigRequest, messages.ModelConfigResponse, (req) => ({ config: v2Config(resolveModel(registry, req.name, req.version)) }), control),
    ModelStatistics: unary(messages.ModelStatisticsRequest, messages.ModelStatisticsResponse, (req) => ({
      model_stats: v2Statistics(registry, stats, req.name, req.version),
    }), control),
    // The data method: the server's message limit (as DoExchange), not the control one.
    ModelInfer: unary(messages.ModelInferRequest, messages.ModelInferResponse, async (req, ctx) => grpcResponse(await infer(backend, inferRequest(req), ctx))),
    ModelStreamInfer: {
      kind: 'bidi',
      handler: async (call) => {
        const ctx = await context(call);
        // Each request is answered, in order, by a response or by an error_message (the
        // stream goes on, as Triton's does); requests run up to STREAM_DEPTH at a time.
        const inFlight: Promise<void>[] = [];
        let written: Promise<void> = Promise.resolve();
        for await (const message of call.messages()) {
          const answer = (async () => {
            const result = await infer(backend, inferRequest(decode(messages.ModelInferRequest, message, call.path)), ctx);
            return messages.ModelStreamInferResponse.encode({ infer_response: grpcResponse(result) });
          })().catch((err: unknown) => messages.ModelStreamInferResponse.encode({ error_message: errorText(err) }));
          written = written.then(async () => call.sendMessage(await answer));
          inFlight.push(written);
          while (inFlight.length >= STREAM_DEPTH) await inFlight.shift();
        }
        await written;
      },
    },
  };
}

/** A request message decoded, or INVALID_ARGUMENT saying it is not one. */
export function decode<T>(codec: MessageCodec<T>, bytes: Uint8Array, path: string): T {
  try {
    return codec.decode(bytes);
  } catch (err) {
    throw FlightError.invalidArgument(`malformed request message for ${path}: ${(err as Error).message}`);
  }
}

/** An error's message for a stream's error_message (its status name in front). */
function errorText(err: unknown): string {
  if (err instanceof FlightError) return `${Status[err.code]}: ${err.message}`;
  return `INTERNAL: ${err instanceof Error ? err.message : String(err)}`;
}

const has = (o: object, key: string) => Object.hasOwn(o, key);

/** The value of an InferParameter (the one field set), or undefined when none is. */
export function parameterValue(p: InferParameter): unknown {
  if (has(p, 'bool_param')) return p.bool_param;
  if (has(p, 'int64_param')) return int64Number(p.int64_param!) ?? String(p.int64_param);
  if (has(p, 'string_param')) return p.string_param;
  if (has(p, 'double_param')) return p.double_param;
  if (has(p, 'uint64_param')) return int64Number(p.uint64_param!) ?? String(p.uint64_param);
  return undefined;
}

/** The protocol-neutral request of a ModelInferRequest (INVALID_ARGUMENT for what cannot be one). */
export function inferRequest(req: ModelInferRequest): InferRequest {
  const raw = req.raw_input_contents;
  if (raw.length && raw.length !== req.inputs.length) {
    throw FlightError.invalidArgument(`raw_input_contents has ${raw.length} entries for ${req.inputs.length} inputs: give one per input, in the order of inputs, or none`);
  }
  const inputs = req.inputs.map((input, i) => {
    // Named in errors only: not built on the path of a request that is fine.
    const where = () => `model '${req.model_name.slice(0, 100)}' input '${input.name.slice(0, 60)}'`;
    const shape = input.shape.map((d) => {
      const n = int64Number(d);
      if (n === undefined) throw FlightError.invalidArgument(`${where()} has a dimension beyond 2^53: ${String(d)}`);
      return n;
    });
    let data: TensorData;
    if (raw.length) {
      if (input.contents && hasContents(input.contents)) {
        throw FlightError.invalidArgument(`${where()} has both contents and raw_input_contents: send its data in one of them`);
      }
      data = { raw: raw[i]! };
    } else {
      data = { contents: input.contents ?? {} };
    }
    return { name: input.name, datatype: input.datatype, shape, data };
  });
  // fromEntries defines each key as its own property (a key '__proto__' stays a parameter).
  const params = Object.fromEntries(Object.entries(req.parameters ?? {})
    .filter(([key]) => !PROTOCOL_PARAMETERS.has(key)).map(([key, value]) => [key, parameterValue(value)]));
  return { model: req.model_name, version: req.model_version, id: req.id, inputs, outputs: req.outputs.map((o) => o.name), params };
}

function hasContents(c: InferTensorContents): boolean {
  return Object.values(c).some((list) => Array.isArray(list) && list.length > 0);
}

/** The bytes of one output in V2's raw layout. */
export function rawOutput(output: V2Output): Uint8Array {
  const v = output.values;
  if (Array.isArray(v)) return encodeElements(v);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}

/** A ModelInferResponse with every output's data raw (what tritonclient reads). */
function grpcResponse(result: InferResult): ModelInferResponse {
  return {
    model_name: result.model,
    model_version: result.version,
    id: result.id,
    outputs: result.outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })),
    raw_output_contents: result.outputs.map(rawOutput),
  };
}
