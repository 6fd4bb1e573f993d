/**
 * A gRPC client of a V2 peer's `inference.GRPCInferenceService` (the KServe Open
 * Inference Protocol, with Triton's ModelConfig extension), from the .proto files the
 * OIP server serves (src/oip/proto). Unary calls only, each with a deadline and
 * cancellation; 64-bit integers are read as strings, so no value is rounded.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Metadata, credentials, loadPackageDefinition, type ChannelCredentials, type Client, type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** src/oip/proto/inference.proto, found above this module (src/backends/kserve or dist/src/backends/kserve). */
function findProto(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    for (const candidate of [join(dir, 'oip', 'proto', 'inference.proto'), join(dir, 'src', 'oip', 'proto', 'inference.proto')]) {
      if (existsSync(candidate)) return candidate;
    }
  }
  throw new Error(`src/oip/proto/inference.proto not found above ${fileURLToPath(import.meta.url)}`);
}

type ClientConstructor = new (address: string, creds: ChannelCredentials, options?: Record<string, unknown>) => Client;
let serviceClass: ClientConstructor | undefined;

/** The client class, loaded on first use (a config without kserve runners never reads the .proto). */
function clientClass(): ClientConstructor {
  if (!serviceClass) {
    const proto = findProto();
    const definition = loadSync(proto, {
      keepCase: true, longs: String, enums: String, defaults: false, arrays: true, oneofs: true, includeDirs: [dirname(proto)],
    });
    const pkg = loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: ClientConstructor } };
    serviceClass = pkg.inference.GRPCInferenceService;
  }
  return serviceClass;
}

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
  /** Largest answer accepted, in bytes (grpc-js refuses a larger message from its length prefix). */
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
  private readonly client: Client;
  private readonly metadata = new Metadata();

  constructor(readonly options: V2ClientOptions) {
    const creds = options.tls
      ? credentials.createSsl(options.tls.ca ?? null, options.tls.key ?? null, options.tls.cert ?? null)
      : credentials.createInsecure();
    const Service = clientClass();
    this.client = new Service(options.url, creds, {
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes,
      'grpc.max_send_message_length': -1,
    });
    if (options.token) this.metadata.set('authorization', `Bearer ${options.token}`);
  }

  /** One unary call; rejects with the grpc-js ServiceError the peer (or the channel) gave. */
  call<T>(method: V2Method, request: unknown, options: V2CallOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fn = (this.client as unknown as Record<string, (...args: unknown[]) => { cancel(): void }>)[method]!;
      const call = fn.call(this.client, request, this.metadata, { deadline: options.deadline }, (err: ServiceError | null, res: T) => {
        options.signal?.removeEventListener('abort', cancel);
        if (err) reject(err);
        else resolve(res);
      });
      const cancel = () => call.cancel();
      if (options.signal?.aborted) call.cancel();
      else options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
