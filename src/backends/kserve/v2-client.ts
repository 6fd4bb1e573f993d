/**
 * A gRPC client of a V2 peer's `inference.GRPCInferenceService` (the KServe Open
 * Inference Protocol, with Triton's ModelConfig extension), from the .proto files the
 * OIP server serves (src/oip/proto), encoded with protobufjs and sent with the unary
 * client of grpc-unary.ts. Unary calls only, each with a deadline and cancellation;
 * 64-bit integers are read as strings, so no value is rounded.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { Status } from '../../flight/index.js';
import { GrpcCallError, UnaryChannel } from './grpc-unary.js';

export { GrpcCallError } from './grpc-unary.js';

/** src/oip/proto/inference.proto, found above this module (src/backends/kserve or dist/src/backends/kserve). */
function findProto(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    for (const candidate of [join(dir, 'oip', 'proto', 'inference.proto'), join(dir, 'src', 'oip', 'proto', 'inference.proto')]) {
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(`src/oip/proto/inference.proto not found above ${fileURLToPath(import.meta.url)}`);
}

const SERVICE = 'inference.GRPCInferenceService';

/** The request and answer types of one RPC. */
interface Rpc { path: string; request: protobuf.Type; response: protobuf.Type }
let rpcs: Map<string, Rpc> | undefined;

/** The service's RPCs, read from the .proto on first use (a config without kserve runners never reads it). */
function rpcOf(method: V2Method): Rpc {
  if (!rpcs) {
    // keepCase: the objects carry the .proto's own field names (raw_input_contents).
    const root = new protobuf.Root().loadSync(findProto(), { keepCase: true });
    const service = root.lookupService(SERVICE);
    rpcs = new Map(service.methodsArray.map((m) => {
      m.resolve();
      return [m.name, { path: `/${SERVICE}/${m.name}`, request: m.resolvedRequestType!, response: m.resolvedResponseType! }];
    }));
  }
  return rpcs.get(method)!;
}

/**
 * Answers as plain objects, as the rest of the backend reads them: 64-bit integers as
 * strings (no value rounded), enums by name, absent repeated fields as empty arrays;
 * bytes fields stay views of the received message (no copy).
 */
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: String, defaults: false, arrays: true, oneofs: true };

/** TLS settings: trusted roots and, for mutual TLS, this client's certificate. PEM bytes. */
export interface V2Tls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** How to reach the peer. */
export interface V2ClientOptions {
  /** `host:port` of the peer's gRPC endpoint. */
  url: string;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  /** TLS instead of plaintext h2c. */
  tls?: V2Tls;
  /** Largest answer accepted, in bytes (refused from its length prefix, before it is read). */
  maxReceiveMessageBytes: number;
}

/** Per-call options. */
export interface V2CallOptions {
  deadline: Date;
  signal?: AbortSignal;
}

/** The unary RPCs the backend uses. */
export type V2Method = 'ServerLive' | 'ModelReady' | 'ModelMetadata' | 'ModelConfig' | 'ModelInfer';

/**
 * @example
 * const peer = new V2Client({ url: '127.0.0.1:8001', maxReceiveMessageBytes: 64 << 20 });
 * const meta = await peer.call('ModelMetadata', { name: 'add' }, { deadline: new Date(Date.now() + 5000) });
 */
export class V2Client {
  private readonly channel: UnaryChannel;

  constructor(readonly options: V2ClientOptions) {
    this.channel = new UnaryChannel({
      address: options.url,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.token ? { metadata: { authorization: `Bearer ${options.token}` } } : {}),
      maxReceiveMessageBytes: options.maxReceiveMessageBytes,
    });
  }

  /**
   * One unary call; rejects with a GrpcCallError carrying the peer's (or the connection's)
   * status. The request is a plain object of the method's request type, encoded as it is
   * (the backend builds it with the right field types).
   */
  async call<T>(method: V2Method, request: object, options: V2CallOptions): Promise<T> {
    const rpc = rpcOf(method);
    const bytes = rpc.request.encode(request).finish();
    const answer = await this.channel.call(rpc.path, bytes, options.deadline, options.signal);
    let decoded: protobuf.Message;
    try {
      decoded = rpc.response.decode(answer);
    } catch (err) {
      throw new GrpcCallError(Status.INTERNAL, `the server's ${method} answer is not a ${rpc.response.name}: ${(err as Error).message}`, { cause: err });
    }
    return rpc.response.toObject(decoded, TO_OBJECT) as T;
  }

  /** Closes the connection. */
  close(): void {
    this.channel.close();
  }
}
