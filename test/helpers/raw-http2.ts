/**
 * Test helper: a gRPC caller below gRPC. It writes whatever bytes a test gives as the
 * request body of one HTTP/2 stream (length prefixes, flags and protobuf of its own
 * making, however wrong) and reports the status the server answered, so tests can send
 * what no gRPC library would.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';

/** How a raw call ended. `code` is undefined if the stream closed without a grpc-status. */
export interface RawHttp2Result {
  code?: number;
  message: string;
  /** Response body bytes received (gRPC frames, unparsed). */
  bodyBytes: number;
  /** The stream was reset or timed out before any status. */
  reset: boolean;
  /** No status came within the call's timeout (the client then cancelled it). */
  timedOut: boolean;
  /** The HTTP/2 RST_STREAM code the stream closed with, when it was reset. */
  rstCode?: number;
  /** The stream's error, if it had one. */
  error?: string;
}

export interface RawHttp2CallOptions {
  /** Extra request headers (grpc-encoding, authorization, grpc-timeout). */
  headers?: Record<string, string>;
  /** Leave the request side open after writing (a partial message that never completes). */
  keepOpen?: boolean;
  /** Give up after this long (the result then has reset: true). */
  timeoutMs?: number;
  /** Trailers the client sends after its messages (gRPC clients never do). */
  trailers?: Record<string, string>;
  /** Called with the stream before its response is read (to pause it: a client that does not read). */
  onResponse?: (stream: ClientHttp2Stream) => void;
}

/** One HTTP/2 connection to a server, for raw calls. */
export class RawHttp2Client {
  readonly session: ClientHttp2Session;

  constructor(location: string) {
    const url = location.replace(/^grpc(\+tcp)?:\/\//, 'http://');
    // node:http2 clients refuse their own new streams (RST ENHANCE_YOUR_CALM) once 10 MB
    // wait in the session's queues; a fuzzer sending many large bodies at once gets there.
    this.session = connect(url, { maxSessionMemory: 1024 });
    this.session.on('error', () => { /* a reset connection shows in the calls */ });
  }

  /**
   * Writes `chunks` as the body of a call to `/arrow.flight.protocol.FlightService/<rpc>`
   * and resolves with how it ended; never rejects.
   */
  call(rpc: string, chunks: readonly Uint8Array[], options: RawHttp2CallOptions = {}): { result: Promise<RawHttp2Result>; cancel(): void; stream: ClientHttp2Stream } {
    const stream = this.session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: `/arrow.flight.protocol.FlightService/${rpc}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...options.headers,
    }, options.trailers ? { waitForTrailers: true } : {});
    if (options.trailers) stream.once('wantTrailers', () => stream.sendTrailers(options.trailers!));
    let bodyBytes = 0;
    let status: { code?: number; message: string } = { message: '' };
    options.onResponse?.(stream);
    stream.on('data', (chunk: Buffer) => { bodyBytes += chunk.byteLength; });
    let error: string | undefined;
    stream.on('error', (err) => { error = err.message; });
    let timedOut = false;
    const result = new Promise<RawHttp2Result>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        resolve({ ...status, bodyBytes, reset: status.code === undefined, timedOut, ...(stream.rstCode ? { rstCode: stream.rstCode } : {}), ...(error ? { error } : {}) });
      };
      const timer = setTimeout(() => { timedOut = true; stream.close(constants.NGHTTP2_CANCEL); }, options.timeoutMs ?? 20_000);
      // A status ends the call even while this side still holds its request open.
      const take = (headers: Record<string, unknown>) => {
        if (headers['grpc-status'] === undefined) return;
        status = { code: Number(headers['grpc-status']), message: decodeURIComponent(String(headers['grpc-message'] ?? '')) };
        finish();
        if (options.keepOpen) stream.close(constants.NGHTTP2_CANCEL);
      };
      stream.on('response', take);
      stream.on('trailers', take);
      stream.on('close', finish);
    });
    const write = async () => {
      for (const chunk of chunks) {
        if (stream.destroyed) return;
        if (!stream.write(chunk)) await new Promise((r) => { stream.once('drain', r); stream.once('close', r); });
      }
      if (!options.keepOpen && !stream.destroyed) stream.end();
    };
    void write();
    return { result, cancel: () => stream.close(constants.NGHTTP2_CANCEL), stream };
  }

  close(): void {
    this.session.destroy();
  }
}

/** A gRPC length prefix: the compressed flag and a big-endian 32-bit length. */
export function grpcPrefix(length: number, flag = 0): Buffer {
  const prefix = Buffer.alloc(5);
  prefix[0] = flag;
  prefix.writeUInt32BE(length >>> 0, 1);
  return prefix;
}
