/**
 * A gRPC server on node:http2: binds TCP ports and unix sockets (TLS and mutual TLS
 * optional), sets the HTTP/2 windows of transport-options.ts on every session, routes
 * each stream by its `:path` to a registered method, and closes gracefully. Services
 * (Flight, and later others on the same port) register methods with addService.
 */
import {
  constants, createSecureServer, createServer,
  type Http2SecureServer, type Http2Server, type IncomingHttpHeaders, type SecureServerOptions, type ServerHttp2Session, type ServerHttp2Stream,
} from 'node:http2';
import { FlightError, Status } from '../errors.js';
import { log } from '../../util/log.js';
import type { ReceiveBudget } from '../receive-budget.js';
import { MAX_FRAME_BYTES, READING_PEER_CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES, peerReadsWhileWriting, serverConnectionWindowBytes } from '../transport-options.js';
import { GrpcCall, type CallOptions, type MethodKind } from './call.js';
import { watchSession } from './session-watch.js';
import { RESPONSE_HEADERS, statusFields } from './wire.js';

/** One method of a service: its kind and what serves a call. */
export interface GrpcMethod {
  kind: MethodKind;
  /**
   * Serves one call. When it returns the call ends with OK (if it has not ended), when it
   * throws with the error's status.
   */
  handler(call: GrpcCall): Promise<void>;
  /** Largest request message of this method, if below the server's limit. */
  maxRequestBytes?: number;
}

export interface GrpcServerOptions {
  /** Largest request message accepted, before and after decompression. */
  maxReceiveMessageBytes: number;
  /** Server-wide budget for bytes of request messages not yet read. */
  budget?: ReceiveBudget;
  /** PEM key pair; with `rootCerts`, clients must present a certificate they signed (mutual TLS). */
  tls?: { certChain: Buffer; privateKey: Buffer; rootCerts?: Buffer };
}

/** An address to listen on: TCP host and port (0 picks a free one) or a unix socket. */
export type ListenAddress = { host?: string; port: number } | { socketPath: string };

/**
 * Every stream's 'error' listener: an 'error' with no listener would end the process. A
 * call's failure reaches it through 'close' (and the reader); the error itself says nothing more.
 */
function ignoreStreamError(): void { /* reported by 'close' */ }

/** Set on a session once its peer's user-agent has been looked at (see route). */
const PEER_KNOWN = Symbol('flight-runner.peer-known');

export class GrpcHttp2Server {
  private readonly methods = new Map<string, GrpcMethod>();
  private readonly services = new Set<string>();
  private readonly servers: (Http2Server | Http2SecureServer)[] = [];
  private readonly sessions = new Set<ServerHttp2Session>();
  private readonly calls = new Set<GrpcCall>();
  private readonly methodCallOptions = new Map<GrpcMethod, CallOptions>();
  private closing = false;

  constructor(private readonly options: GrpcServerOptions) {}

  /**
   * Serves `methods` as `/<serviceName>/<methodName>`.
   *
   * @example
   * server.addService('inference.GRPCInferenceService', { ServerLive: { kind: 'unary', handler: async (call) => { ... } } });
   */
  addService(serviceName: string, methods: Record<string, GrpcMethod>): void {
    if (this.services.has(serviceName)) throw new Error(`service ${serviceName} is already registered`);
    this.services.add(serviceName);
    for (const [name, method] of Object.entries(methods)) this.methods.set(`/${serviceName}/${name}`, method);
  }

  /** Number of calls whose handler is running. */
  get activeCallCount(): number {
    return this.calls.size;
  }

  /** Binds and starts serving; resolves with the bound port (0 for a unix socket). */
  async listen(address: ListenAddress): Promise<number> {
    const transport = 'socketPath' in address ? 'unix' : 'tcp';
    const server = this.createHttp2Server();
    server.on('session', (session: ServerHttp2Session) => {
      this.sessions.add(session);
      session.on('error', () => { /* the streams see it; the session closes */ });
      session.once('close', () => this.sessions.delete(session));
      // Small on purpose: see serverConnectionWindowBytes (the two-way node:http2 stall).
      session.setLocalWindowSize(serverConnectionWindowBytes(transport));
      watchSession(session);
      if (this.closing) session.close();
    });
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => this.route(stream, headers));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => { server.off('error', reject); resolve(); };
      if ('socketPath' in address) server.listen(address.socketPath, done);
      else server.listen(address.port, address.host ?? '127.0.0.1', done);
    });
    server.on('error', () => { /* after listening: per-connection errors surface on sessions */ });
    this.servers.push(server);
    const bound = server.address();
    return typeof bound === 'object' && bound ? bound.port : 0;
  }

  /**
   * Stops accepting connections and calls (GOAWAY), lets running calls finish, and after
   * `graceMs` ends what is left with UNAVAILABLE and tears the connections down.
   */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    for (const session of this.sessions) session.close();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const call of this.calls) call.cancel(FlightError.unavailable('server shutting down'));
        // Give the statuses a turn of the event loop to be written, then drop the connections.
        setImmediate(() => {
          for (const session of this.sessions) session.destroy();
          resolve();
        });
      }, graceMs);
      timer.unref();
    });
    await Promise.race([closed, expired]);
    clearTimeout(timer);
  }

  private createHttp2Server(): Http2Server | Http2SecureServer {
    const common = {
      // Large frames from the client: fewer, larger chunks per message (see MAX_FRAME_BYTES).
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, maxFrameSize: MAX_FRAME_BYTES },
      // node:http2's default (10 MB per session) refuses new streams (ENHANCE_YOUR_CALM) once
      // large answers are queued; each call bounds its own queue instead (SEND_BUFFER_BYTES).
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER,
    };
    const tls = this.options.tls;
    if (!tls) return createServer(common);
    const secure: SecureServerOptions = { ...common, key: tls.privateKey, cert: tls.certChain };
    if (tls.rootCerts) {
      secure.ca = tls.rootCerts;
      secure.requestCert = true;
      secure.rejectUnauthorized = true;
    }
    return createSecureServer(secure);
  }

  /** Answers what is not a gRPC call as gRPC servers do, and hands the rest to its method. */
  private route(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', ignoreStreamError);
    const session = stream.session as (ServerHttp2Session & { [PEER_KNOWN]?: true }) | undefined;
    if (session && !session[PEER_KNOWN]) {
      // Once per connection: a peer that reads while it writes cannot take part in the
      // node:http2 stall, so it gets a window wide enough for throughput.
      session[PEER_KNOWN] = true;
      if (peerReadsWhileWriting(headers['user-agent']) && !session.destroyed) {
        try {
          session.setLocalWindowSize(READING_PEER_CONNECTION_WINDOW_BYTES);
        } catch {
          // A session closing under us keeps its small window; this is the stream listener,
          // where nothing may be thrown.
        }
      }
    }
    if (headers[constants.HTTP2_HEADER_METHOD] !== 'POST') {
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: constants.HTTP_STATUS_METHOD_NOT_ALLOWED, allow: 'POST' }, { endStream: true });
      stream.resume();
      return;
    }
    const contentType = headers[constants.HTTP2_HEADER_CONTENT_TYPE];
    if (typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
      stream.respond({ [constants.HTTP2_HEADER_STATUS]: constants.HTTP_STATUS_UNSUPPORTED_MEDIA_TYPE }, { endStream: true });
      stream.resume();
      return;
    }
    const path = String(headers[constants.HTTP2_HEADER_PATH]);
    const method = this.methods.get(path);
    if (!method) {
      stream.respond({ ...RESPONSE_HEADERS, ...statusFields(Status.UNIMPLEMENTED, this.unknownMethod(path)) }, { endStream: true });
      stream.resume();
      return;
    }
    const call = new GrpcCall(stream, headers, this.callOptions(method));
    this.calls.add(call);
    let served: Promise<void>;
    try {
      served = method.handler(call);
    } catch (err) {
      served = Promise.reject(err);
    }
    // Two closures and a then(), not an async function: its frame was most of a one-row
    // call's allocation in this file.
    served.then(() => this.finish(call, undefined), (err: unknown) => this.finish(call, err));
  }

  /** Ends `call` with what its handler returned (undefined) or threw. Never throws. */
  private finish(call: GrpcCall, failure: unknown): void {
    try {
      call.end(failure);
    } catch (err) {
      // Writing the status failed (the stream broke under it): reset it so the client is not left waiting.
      log('warn', 'failed to end a call', { rpc: call.path, peer: call.peer, error: (err as Error).message });
      call.reset();
    } finally {
      this.calls.delete(call);
    }
  }

  /** The options of each call of `method` (the same for all of them). */
  private callOptions(method: GrpcMethod): CallOptions {
    let options = this.methodCallOptions.get(method);
    if (!options) {
      const limit = Math.min(this.options.maxReceiveMessageBytes, method.maxRequestBytes ?? Infinity);
      options = { kind: method.kind, reader: { maxMessageBytes: limit, ...(this.options.budget ? { budget: this.options.budget } : {}) } };
      this.methodCallOptions.set(method, options);
    }
    return options;
  }

  private unknownMethod(path: string): string {
    const service = /^\/([^/]+)\//.exec(path)?.[1];
    if (service && this.services.has(service)) return `The server does not implement the method ${path}`;
    return `The server does not implement the method ${path}: unknown service${service ? ` ${service}` : ''} (served here: ${[...this.services].join(', ')})`;
  }
}
