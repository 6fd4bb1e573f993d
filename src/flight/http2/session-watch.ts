/**
 * Log lines for HTTP/2 connections (sessions) that do not end cleanly, each naming the
 * peer and the HTTP/2 or Node error code. Without them a connection closed by an error
 * leaves no trace: nothing else in the server logs these events, and Node reports a session's
 * error only to the server's 'sessionError' listeners.
 *
 * One GOAWAY is never reported by Node: the one nghttp2 sends by itself when a peer
 * resets streams faster than its rapid-reset limit allows (CVE-2023-44487: a burst of
 * 1000 RST_STREAM frames per connection, then 33 a second; not configurable on Node 20).
 * It carries INTERNAL_ERROR and is graceful: calls already started finish, later ones
 * are refused and gRPC clients retry them on a new connection. So this watcher counts
 * the resets it can see with the same token bucket and logs when a connection goes past
 * it: streams the peer reset before the server finished them, and streams the server
 * finished while the peer was still sending that then close without the peer's
 * END_STREAM (grpc-core clients, pyarrow's, reset such a call with RST_STREAM(NO_ERROR)
 * as soon as they read its status: a refusal before the request was read,
 * RESOURCE_EXHAUSTED, NOT_FOUND, a server-side deadline). Resets that cross the
 * server's status are not seen, so the count may fall short of nghttp2's.
 * See docs/protocol.md, "GOAWAY with INTERNAL_ERROR under floods".
 */
import { constants, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { log } from '../../util/log.js';

/** nghttp2's default incoming RST_STREAM burst per connection (NGHTTP2_DEFAULT_STREAM_RESET_BURST). */
export const RAPID_RESET_BURST = 1000;
/** ... and the resets per second it grants after the burst (NGHTTP2_DEFAULT_STREAM_RESET_RATE). */
export const RAPID_RESET_RATE = 33;

/** HTTP/2 error code names (RFC 9113 section 7), for log lines. */
const ERROR_CODE_NAMES: Record<number, string> = {
  [constants.NGHTTP2_NO_ERROR]: 'NO_ERROR',
  [constants.NGHTTP2_PROTOCOL_ERROR]: 'PROTOCOL_ERROR',
  [constants.NGHTTP2_INTERNAL_ERROR]: 'INTERNAL_ERROR',
  [constants.NGHTTP2_FLOW_CONTROL_ERROR]: 'FLOW_CONTROL_ERROR',
  [constants.NGHTTP2_SETTINGS_TIMEOUT]: 'SETTINGS_TIMEOUT',
  [constants.NGHTTP2_STREAM_CLOSED]: 'STREAM_CLOSED',
  [constants.NGHTTP2_FRAME_SIZE_ERROR]: 'FRAME_SIZE_ERROR',
  [constants.NGHTTP2_REFUSED_STREAM]: 'REFUSED_STREAM',
  [constants.NGHTTP2_CANCEL]: 'CANCEL',
  [constants.NGHTTP2_COMPRESSION_ERROR]: 'COMPRESSION_ERROR',
  [constants.NGHTTP2_CONNECT_ERROR]: 'CONNECT_ERROR',
  [constants.NGHTTP2_ENHANCE_YOUR_CALM]: 'ENHANCE_YOUR_CALM',
  [constants.NGHTTP2_INADEQUATE_SECURITY]: 'INADEQUATE_SECURITY',
  [constants.NGHTTP2_HTTP_1_1_REQUIRED]: 'HTTP_1_1_REQUIRED',
};

/** A stream's reset watch: whether its reset was counted, and where it is counted. */
const WATCH = Symbol('flight-runner.reset-watch');
type WatchedStream = ServerHttp2Stream & { [WATCH]?: { counted: boolean; peerReset(): void } };

/** Counts a stream's reset by the peer, once ('aborted': closed by the peer before the server finished the response). */
function countPeerReset(this: WatchedStream): void {
  const watch = this[WATCH];
  if (!watch || watch.counted) return;
  watch.counted = true;
  watch.peerReset();
}

/**
 * 'finish': finished by the server while the peer was still sending. A gRPC client resets
 * such a stream when it reads the status, unless its own END_STREAM was already on the
 * way. (A stream whose input was read to its end was half-closed by the peer: no need
 * to ask nghttp2 for its state.)
 */
function watchFinished(this: WatchedStream): void {
  if (this.readableEnded || this.destroyed || this.closed || this.state.remoteClose !== 0) return;
  watchForReset(this, () => countPeerReset.call(this));
}

/**
 * What nghttp2's "Protocol error" on a session usually is. grpc-go clients end every
 * connection with a GOAWAY whose last-stream-id is their own last (odd) stream, where
 * RFC 9113 section 6.8 wants the highest stream the receiver (the server) opened; nghttp2
 * refuses such a frame as a protocol error. A raw node:http2 server gets the same
 * session error (it just does not log it).
 */
export const PROTOCOL_ERROR_HINT = 'the peer sent a frame HTTP/2 forbids; grpc-go clients do so when they close a connection '
  + '(their GOAWAY names their own last stream), which is harmless: the connection was ending anyway';

/** The name of an HTTP/2 error code, or the number when it has none. */
export function http2ErrorName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? String(code);
}

/**
 * nghttp2's rate limiter (nghttp2_ratelim), on the same whole-second clock: `burst`
 * tokens, `rate` more each second up to `burst`; a reset without a token is over the limit.
 */
export class ResetBucket {
  private tokens: number;
  private second: number;

  constructor(private readonly burst = RAPID_RESET_BURST, private readonly rate = RAPID_RESET_RATE, nowSeconds = monotonicSeconds()) {
    this.tokens = burst;
    this.second = nowSeconds;
  }

  /** Takes one token; false when there was none (nghttp2 would send GOAWAY now). */
  take(nowSeconds = monotonicSeconds()): boolean {
    if (nowSeconds !== this.second) {
      const elapsed = nowSeconds > this.second ? nowSeconds - this.second : 1;
      this.second = nowSeconds;
      this.tokens = Math.min(this.burst, this.tokens + this.rate * elapsed);
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Whole seconds of CLOCK_MONOTONIC, the clock nghttp2 counts in (same second boundaries). */
function monotonicSeconds(): number {
  return Number(process.hrtime.bigint() / 1_000_000_000n);
}

/**
 * Calls `onReset` if `stream` closes without the peer's END_STREAM, that is, reset by the
 * peer. Node ends the readable side of a stream either way; only the order tells them
 * apart: END_STREAM ends it while the stream is open, a reset after closing it.
 */
function watchForReset(stream: ServerHttp2Stream, onReset: () => void): void {
  let resetFirst: boolean | undefined;
  const push = stream.push;
  stream.push = function (this: ServerHttp2Stream, chunk: unknown, encoding?: BufferEncoding): boolean {
    if (chunk === null && resetFirst === undefined) resetFirst = stream.closed;
    return push.call(this, chunk, encoding);
  };
  stream.once('close', () => {
    if (resetFirst !== false) onReset();
  });
}

/**
 * Watches one server session: logs its error, a GOAWAY the peer sends with an error
 * code, and the moment its peer's stream resets go past nghttp2's rapid-reset limit.
 * Adds no 'frameError' listener on purpose: with one, Node closes the whole session
 * after a frame fails to send; without, it only ends that stream.
 */
export function watchSession(session: ServerHttp2Session): void {
  const socket = session.socket;
  const peer = socket?.remoteAddress ? (socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress) : 'unknown';
  const opened = performance.now();
  const bucket = new ResetBucket();
  let resets = 0;
  let overLimit = false;

  const peerReset = () => {
    // A reset while the session itself is going away is the session's doing, not the peer's.
    if (session.destroyed) return;
    resets += 1;
    if (bucket.take() || overLimit) return;
    overLimit = true;
    log('warn', 'HTTP/2 connection over the rapid-reset limit: nghttp2 answers GOAWAY INTERNAL_ERROR', {
      peer,
      code: 'INTERNAL_ERROR',
      resets,
      seconds: Math.round((performance.now() - opened) / 100) / 10,
      limit: `${RAPID_RESET_BURST} stream resets, then ${RAPID_RESET_RATE}/s (CVE-2023-44487)`,
      why: 'the peer cancelled calls, or the server ended calls before the peer finished sending (a gRPC client resets each one);'
        + ' calls in progress finish, the client reconnects for new ones',
    });
  };

  session.on('stream', (stream: WatchedStream) => {
    stream[WATCH] = { counted: false, peerReset };
    // Each fires at most once per stream: plain listeners, shared by all streams (no
    // closures, no once() wrapper per call).
    stream.on('aborted', countPeerReset);
    stream.on('finish', watchFinished);
  });

  let peerGoaway = false;
  session.on('goaway', (code: number, lastStreamID: number) => {
    if (code === constants.NGHTTP2_NO_ERROR) return;
    peerGoaway = true;
    log('warn', 'HTTP/2 peer closed the connection with an error (GOAWAY)', { peer, code: http2ErrorName(code), lastStreamID });
  });

  session.on('error', (err: Error & { code?: string }) => {
    // Node's echo of the peer's GOAWAY, already logged.
    if (peerGoaway && err.code === 'ERR_HTTP2_SESSION_ERROR') return;
    // Node destroys the session: a GOAWAY (INTERNAL_ERROR for an nghttp2 or socket error)
    // goes out if the socket still works, and every stream of the connection ends.
    log('warn', 'HTTP/2 connection ended with an error', {
      peer, code: err.code ?? 'unknown', error: err.message,
      ...(err.code === 'ERR_HTTP2_ERROR' && err.message === 'Protocol error' ? { hint: PROTOCOL_ERROR_HINT } : {}),
    });
  });
}
