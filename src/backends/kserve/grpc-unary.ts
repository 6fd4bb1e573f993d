/**
 * Unary gRPC calls on node:http2 (PROTOCOL-HTTP2.md in the grpc repository): one HTTP/2
 * connection, each call one stream carrying one length-prefixed message each way.
 *
 * Why not grpc-js: its unary call path (interceptors, resolving, retrying and
 * load-balancing call layers, a subchannel call, a stream decoder) cost about 1 ms of CPU
 * per call here, twice the whole node:http2 exchange underneath it, and a relay pays it
 * on every batch (bench/kserve). This client does only what a unary call needs.
 *
 * The peer's bytes are untrusted: an answer longer than the limit is refused from its
 * length prefix (the stream is cancelled before the body is read), a compressed answer
 * (none was asked for), a second message, or a missing status is an error, never a
 * result built from what happened to arrive.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { Status } from '../../flight/index.js';

/** A failed call: the peer's (or the connection's) gRPC status and message. */
export class GrpcCallError extends Error {
  constructor(readonly code: Status, readonly details: string, options?: { cause?: unknown }) {
    super(`${Status[code] ?? code}: ${details}`, options);
    this.name = 'GrpcCallError';
  }
}

/** TLS to the peer: trusted roots and, for mutual TLS, this client's certificate and key. PEM bytes. */
export interface UnaryTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/** Where and how to connect. */
export interface UnaryChannelOptions {
  /** `host:port`. */
  address: string;
  /** TLS instead of plaintext h2c. */
  tls?: UnaryTls;
  /** Metadata sent on every call (e.g. `authorization`). */
  metadata?: Record<string, string>;
  /** Largest answer message accepted, in bytes. */
  maxReceiveMessageBytes: number;
}

/** HTTP/2 stream window: a 64-row answer arrives without waiting for window updates. */
const STREAM_WINDOW_BYTES = 1024 * 1024;

/** grpc-timeout ("up to 8 digits and a unit"): milliseconds while they fit, else seconds. */
function grpcTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  return whole < 1e8 ? `${whole}m` : `${Math.min(99_999_999, Math.ceil(whole / 1000))}S`;
}

/** grpc-message is percent-encoded UTF-8; a malformed one is shown as it came. */
function decodeMessage(value: unknown): string {
  const text = Array.isArray(value) ? value.join(',') : value === undefined ? '' : String(value);
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The status of an HTTP response that has no grpc-status (the gRPC spec's mapping). */
function httpStatus(code: number): Status {
  switch (code) {
    case 400: return Status.INTERNAL;
    case 401: return Status.UNAUTHENTICATED;
    case 403: return Status.PERMISSION_DENIED;
    case 404: return Status.UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return Status.UNAVAILABLE;
    default: return Status.UNKNOWN;
  }
}

/** The status of a stream the peer reset (the gRPC spec's mapping of RST_STREAM codes). */
function resetStatus(rstCode: number): Status {
  switch (rstCode) {
    case constants.NGHTTP2_REFUSED_STREAM: return Status.UNAVAILABLE;
    case constants.NGHTTP2_CANCEL: return Status.CANCELLED;
    case constants.NGHTTP2_ENHANCE_YOUR_CALM: return Status.RESOURCE_EXHAUSTED;
    case constants.NGHTTP2_INADEQUATE_SECURITY: return Status.PERMISSION_DENIED;
    default: return Status.INTERNAL;
  }
}

/**
 * One HTTP/2 connection to a gRPC server, made on first use and again after it closes
 * (the peer restarted, sent GOAWAY, or the network dropped it).
 *
 * @example
 * const channel = new UnaryChannel({ address: '127.0.0.1:8001', maxReceiveMessageBytes: 1 << 20 });
 * const answer = await channel.call('/inference.GRPCInferenceService/ServerLive', new Uint8Array(0), new Date(Date.now() + 1000));
 */
export class UnaryChannel {
  private session: ClientHttp2Session | undefined;
  private active = 0;
  private closed = false;
  private readonly authority: string;
  private readonly baseHeaders: OutgoingHttpHeaders;

  constructor(private readonly options: UnaryChannelOptions) {
    this.authority = `${options.tls ? 'https' : 'http'}://${options.address}`;
    this.baseHeaders = {
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_SCHEME]: options.tls ? 'https' : 'http',
      [constants.HTTP2_HEADER_AUTHORITY]: options.address,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
      [constants.HTTP2_HEADER_TE]: 'trailers',
      [constants.HTTP2_HEADER_USER_AGENT]: 'flight-runner-kserve',
      // Answers must come uncompressed: a compressed one is refused, not inflated here.
      'grpc-accept-encoding': 'identity',
      ...options.metadata,
    };
  }

  private connection(): ClientHttp2Session {
    const current = this.session;
    if (current && !current.closed && !current.destroyed) return current;
    const tls = this.options.tls;
    // Nagle's algorithm stays on (Node's default, as with grpc-js): with TCP_NODELAY a relay
    // at concurrency 8 served about half the calls per second (bench/kserve/README.md).
    const session = connect(this.authority, {
      settings: { initialWindowSize: STREAM_WINDOW_BYTES, enablePush: false },
      ...(tls ? { ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}) } : {}),
    });
    const forget = () => { if (this.session === session) this.session = undefined; };
    // Each stream reports the failure to its own call; the session's event only needs a
    // listener (without one it would be thrown) and to make the next call reconnect.
    session.on('error', forget);
    session.on('goaway', forget);
    session.on('close', forget);
    this.session = session;
    return session;
  }

  /**
   * One unary call: `message` (already encoded) to `path`; resolves with the answer's
   * message bytes or rejects with a GrpcCallError. The deadline travels as grpc-timeout
   * and is enforced here too; an aborted `signal` cancels the stream.
   */
  call(path: string, message: Uint8Array, deadline: Date, signal?: AbortSignal): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      if (this.closed) return reject(new GrpcCallError(Status.UNAVAILABLE, 'the channel is closed'));
      if (signal?.aborted) return reject(new GrpcCallError(Status.CANCELLED, 'cancelled before it was sent'));
      const timeoutMs = deadline.getTime() - Date.now();
      if (timeoutMs <= 0) return reject(new GrpcCallError(Status.DEADLINE_EXCEEDED, 'deadline exceeded before the call was sent'));
      let stream: ClientHttp2Stream;
      const session = this.connection();
      try {
        stream = session.request({ ...this.baseHeaders, [constants.HTTP2_HEADER_PATH]: path, 'grpc-timeout': grpcTimeout(timeoutMs) });
      } catch (err) {
        return reject(new GrpcCallError(Status.UNAVAILABLE, `cannot start a call to ${this.options.address}: ${(err as Error).message}`, { cause: err }));
      }
      if (this.active++ === 0) session.ref();
      let settled = false;
      let failure: GrpcCallError | undefined;
      let headers: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders | undefined;
      let streamError: Error | undefined;
      const prefix = Buffer.alloc(5);
      let prefixBytes = 0;
      let body: Buffer | undefined;
      let bodyBytes = 0;

      const finish = (err: GrpcCallError | undefined, value?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (--this.active === 0 && !session.destroyed) session.unref();
        if (err) reject(err);
        else resolve(value!);
      };
      /** Ends the stream early with `err` (reported when the stream closes). */
      const fail = (err: GrpcCallError) => {
        failure ??= err;
        if (!stream.closed) stream.close(constants.NGHTTP2_CANCEL);
      };
      const onAbort = () => fail(new GrpcCallError(Status.CANCELLED, 'cancelled by the caller'));
      const timer = setTimeout(() => fail(new GrpcCallError(Status.DEADLINE_EXCEEDED, `deadline of ${Math.ceil(timeoutMs)} ms exceeded`)), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });

      stream.on('response', (h) => { headers = h; });
      stream.on('trailers', (t) => { trailers = t; });
      stream.on('error', (err) => { streamError = err; });
      stream.on('data', (chunk: Buffer) => {
        let pos = 0;
        while (pos < chunk.length && !failure) {
          if (!body) {
            const n = Math.min(5 - prefixBytes, chunk.length - pos);
            chunk.copy(prefix, prefixBytes, pos, pos + n);
            prefixBytes += n;
            pos += n;
            if (prefixBytes < 5) return;
            if (prefix[0] !== 0) return fail(new GrpcCallError(Status.INTERNAL, `the server sent a message with compression flag ${prefix[0]} though only identity was accepted`));
            const length = prefix.readUInt32BE(1);
            if (length > this.options.maxReceiveMessageBytes) {
              return fail(new GrpcCallError(Status.RESOURCE_EXHAUSTED, `the server's answer is ${length} bytes, more than the ${this.options.maxReceiveMessageBytes} accepted (maxAnswerBytes)`));
            }
            // A chunk holding the rest of the message is used as it is; otherwise one buffer at its length.
            if (chunk.length - pos === length) {
              body = chunk.subarray(pos);
              bodyBytes = length;
              return;
            }
            body = Buffer.allocUnsafe(length);
            bodyBytes = 0;
            continue;
          }
          if (bodyBytes === body.length) {
            return fail(new GrpcCallError(Status.INTERNAL, 'the server sent more than one message in answer to a unary call'));
          }
          const n = Math.min(body.length - bodyBytes, chunk.length - pos);
          chunk.copy(body, bodyBytes, pos, pos + n);
          bodyBytes += n;
          pos += n;
        }
      });
      // The answer is complete (or the stream failed) only at 'close', which always comes last.
      stream.on('close', () => {
        if (failure) return finish(failure);
        const statusField = trailers?.['grpc-status'] ?? headers?.['grpc-status'];
        if (statusField === undefined) {
          const http = Number(headers?.[constants.HTTP2_HEADER_STATUS] ?? 0);
          if (headers && http !== 200) return finish(new GrpcCallError(httpStatus(http), `the server answered HTTP ${http} without a gRPC status`));
          if (streamError || stream.rstCode !== constants.NGHTTP2_NO_ERROR) {
            const reason = streamError?.message ?? `stream reset with HTTP/2 code ${stream.rstCode}`;
            // No answer headers at all: the connection failed (refused, closed, TLS) rather than the call.
            const code = !headers ? Status.UNAVAILABLE : resetStatus(stream.rstCode ?? 0);
            return finish(new GrpcCallError(code, `${this.options.address}: ${reason}`, { cause: streamError }));
          }
          return finish(new GrpcCallError(Status.UNKNOWN, 'the server ended the call without a grpc-status'));
        }
        const code = Number(statusField);
        if (!Number.isInteger(code) || code < 0 || code > 16) {
          return finish(new GrpcCallError(Status.UNKNOWN, `the server sent grpc-status ${JSON.stringify(statusField)}`));
        }
        if (code !== Status.OK) return finish(new GrpcCallError(code, decodeMessage(trailers?.['grpc-message'] ?? headers?.['grpc-message'])));
        if (!body && prefixBytes === 0) return finish(new GrpcCallError(Status.INTERNAL, 'the server answered OK without a message'));
        if (!body || bodyBytes !== body.length) {
          return finish(new GrpcCallError(Status.INTERNAL, body ? `the server's answer ended after ${bodyBytes} of its ${body.length} bytes` : 'the server\'s answer ended inside its length prefix'));
        }
        finish(undefined, body!);
      });

      const frame = Buffer.allocUnsafe(5 + message.length);
      frame[0] = 0;
      frame.writeUInt32BE(message.length, 1);
      frame.set(message, 5);
      stream.end(frame);
    });
  }

  /** Closes the connection; calls in flight end with it. */
  close(): void {
    this.closed = true;
    this.session?.destroy();
    this.session = undefined;
  }
}
