/**
 * One gRPC call served on its node:http2 stream: request metadata and deadline from the
 * headers, request messages in through GrpcMessageReader (the message limit and the
 * server-wide receive budget apply to every message of every RPC), response messages out
 * as gRPC frames whose parts go to the socket uncopied, and the final status as trailers
 * (or a trailers-only response when nothing was sent).
 */
import { constants, type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { FlightError, Status, toGrpcStatus } from '../errors.js';
import { log } from '../../util/log.js';
import { GrpcMessageReader, type MessageReaderOptions } from './message-reader.js';
import { RequestMetadata } from './metadata.js';
import { OK_TRAILERS, RESPONSE_HEADERS, parseGrpcTimeout, statusFields } from './wire.js';

/**
 * Bytes a call may have queued on its stream before a write waits for 'drain'. Enough
 * for a few MiB-sized messages in flight (the HTTP/2 stream window is 8 MiB), while a
 * slow client still holds the writer back.
 */
const SEND_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * Frames up to this size, together, are held and go down as one buffer, their parts
 * copied together: cheaper than a write per frame (each a native write request and its
 * completion callbacks) for the small messages of one-row calls, whose schema, batch and
 * status then leave in one write, as a hand-written answer would.
 */
const SMALL_FRAME_BYTES = 4096;

const RESOLVED = Promise.resolve();

/** Sends frames held by `call` (see sendFrame); a setImmediate callback, so no closure per call. */
function flushHeld(call: GrpcCall): void {
  call.flushHeld();
}

/** 'wantTrailers' listener of a call ending with OK: one function for all (`this` is the stream). */
function sendOkTrailers(this: ServerHttp2Stream): void {
  this.sendTrailers(OK_TRAILERS);
}

const NO_BYTES = Buffer.alloc(0);

function framePartsBytes(parts: readonly Uint8Array[]): number {
  let n = 0;
  for (const part of parts) n += part.byteLength;
  return n;
}

/**
 * No `date` header (node:http2 adds one by default): gRPC does not use it, and it was one
 * more header to copy and encode per call.
 */
const RESPOND_OPTIONS = { waitForTrailers: true, sendDate: false } as const;
const TRAILERS_ONLY_OPTIONS = { endStream: true, sendDate: false } as const;

/** Why reads fail once a call has ended with OK while its client still sends input. */
const callEnded = (): FlightError => new FlightError(Status.CANCELLED, 'the call has ended');

/** How many messages each side of a method sends (gRPC's four kinds of method). */
export type MethodKind = 'unary' | 'serverStream' | 'clientStream' | 'bidi';

const KIND_NAMES: Record<MethodKind, string> = {
  unary: 'unary', serverStream: 'server streaming', clientStream: 'client streaming', bidi: 'bidi streaming',
};

/** What every call of one method shares. */
export interface CallOptions {
  /** The method's kind: unary and server-streaming methods take exactly one request message. */
  kind: MethodKind;
  /** The request messages' limits: largest message (before and after decompression) and the server-wide receive budget. */
  reader: MessageReaderOptions;
}

/** The call on a stream, for the shared 'close' listener. */
const CALL = Symbol('flight-runner.grpc-call');
type CallStream = ServerHttp2Stream & { [CALL]?: GrpcCall };

/** 'close' listener of every call's stream (`this` is the stream): no closure per call. */
function onStreamClose(this: CallStream): void {
  this[CALL]!.streamClosed();
}

/** Each connection's peer address, worked out once (a call's session socket is a proxy, its address a system call). */
const peers = new WeakMap<object, string>();

function peerOf(stream: ServerHttp2Stream): string {
  const session = stream.session;
  if (!session) return 'unknown';
  let peer = peers.get(session);
  if (peer === undefined) {
    const socket = session.socket;
    peer = socket?.remoteAddress ? (socket.remotePort ? `${socket.remoteAddress}:${socket.remotePort}` : socket.remoteAddress) : 'unknown';
    peers.set(session, peer);
  }
  return peer;
}

/** A call on its stream. Ends once, with end() or when cancelled (then `signal` aborts). */
export class GrpcCall {
  /** Request metadata. */
  readonly metadata: RequestMetadata;
  /** The client's address. */
  readonly peer: string;
  /** The `:path`, `/package.Service/Method`. */
  readonly path: string;
  /** When the client's grpc-timeout runs out. */
  readonly deadline?: Date;
  /**
   * Made when `signal` is first read: an AbortController was 3% of a one-row call's
   * server CPU, and most calls end without anyone looking.
   */
  private controller?: AbortController;
  /** Why the call was aborted, once it was (whether or not `signal` exists yet). */
  private abortReason?: FlightError;
  /** Told when the call aborts, besides `signal` (see onAbort). */
  private abortListeners?: ((reason: FlightError) => void)[];
  private readonly reader: GrpcMessageReader;
  private headersSent = false;
  private statusSent = false;
  private closed = false;
  private deadlineTimer?: NodeJS.Timeout;
  /** Small frames not yet written (see sendFrame), and their bytes. */
  private held?: Uint8Array[];
  private heldBytes = 0;
  private flushQueued = false;

  constructor(private readonly stream: ServerHttp2Stream, headers: IncomingHttpHeaders, private readonly options: CallOptions) {
    // The server has put an 'error' listener on the stream already (see GrpcHttp2Server.route):
    // 'close' follows an error and reports the cancellation.
    // 'close', 'wantTrailers', 'aborted' and 'finish' fire at most once per stream: plain
    // listeners, without the wrapper once() makes per call.
    (stream as CallStream)[CALL] = this;
    stream.on('close', onStreamClose);
    this.path = String(headers[':path']);
    this.peer = peerOf(stream);
    const encoding = headers['grpc-encoding'];
    this.reader = new GrpcMessageReader(stream, options.reader, typeof encoding === 'string' ? encoding : undefined, this);
    this.metadata = new RequestMetadata(headers);

    const timeout = headers['grpc-timeout'];
    if (typeof timeout === 'string') {
      const ms = parseGrpcTimeout(timeout);
      if (ms === undefined) {
        process.nextTick(() => this.cancel(new FlightError(Status.INTERNAL, `Invalid grpc-timeout value "${timeout}"`)));
      } else {
        this.deadline = new Date(Date.now() + ms);
        this.deadlineTimer = setTimeout(() => this.cancel(new FlightError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded')), Math.min(ms, 2 ** 31 - 1));
      }
    }
  }

  /**
   * Aborted when the call ends before its handler finished it: the client cancelled or
   * reset the stream, its deadline passed, the connection went away, the input was
   * refused or the server is shutting down. The reason is a FlightError.
   */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.abortReason) this.controller.abort(this.abortReason);
    }
    return this.controller.signal;
  }

  /**
   * Calls `listener` once with the reason when the call aborts (as `signal` does), at
   * once if it has: a handler that only needs telling makes no AbortSignal.
   */
  onAbort(listener: (reason: FlightError) => void): void {
    if (this.abortReason) listener(this.abortReason);
    else (this.abortListeners ??= []).push(listener);
  }

  /**
   * The next request message, or undefined once the client half-closed: what messages()
   * yields, without an async generator's extra turns per message.
   */
  nextMessage(): Promise<Buffer | undefined> {
    return this.reader.next();
  }

  /**
   * The next request message if it has arrived (null at the end of the input, undefined
   * when it has not arrived yet): nextMessage() without a promise turn. Throws as
   * nextMessage() rejects.
   */
  pollMessage(): Buffer | null | undefined {
    return this.reader.poll();
  }

  /** Gives back a request message's receive buffer for reuse (see GrpcMessageReader.recycle). */
  recycleMessage(bytes: Uint8Array): void {
    this.reader.recycle(bytes);
  }

  /**
   * Calls `callback` once every frame sent so far has been written to the connection
   * (node:http2 then holds none of their buffers). Returns false, and never calls it, when
   * that cannot be known: the call has ended, or the stream failed before the writes did.
   */
  afterWrites(callback: () => void): boolean {
    if (this.finished) return false;
    this.flushHeld();
    const stream = this.stream;
    if (stream.writableLength === 0) {
      callback();
      return true;
    }
    // Writes complete in order, so an empty one's completion follows every earlier one's;
    // it sends nothing (node:http2 frames no empty DATA). An error means the stream was
    // destroyed: earlier buffers may still be in the socket's hands, so no callback.
    stream.write(NO_BYTES, (err) => {
      if (err) return;
      // Run from the stream's write callback: a throw here would end the process.
      try {
        callback();
      } catch (thrown) {
        log('warn', 'a callback after writes threw', { rpc: this.path, peer: this.peer, error: (thrown as Error)?.message ?? String(thrown) });
      }
    });
    return true;
  }

  /** Whether the call has ended (status sent, or the stream closed). */
  get finished(): boolean {
    return this.statusSent || this.closed;
  }

  /** The request messages in order (for client-streaming and bidi methods). */
  async *messages(): AsyncGenerator<Buffer> {
    for (;;) {
      const message = await this.reader.next();
      if (!message) return;
      yield message;
    }
  }

  /** The one request message of a unary or server-streaming call. */
  async single(): Promise<Buffer> {
    const kind = KIND_NAMES[this.options.kind];
    const first = await this.reader.next();
    if (!first) throw new FlightError(Status.UNIMPLEMENTED, `Received no request message for ${kind} method ${this.path}`);
    const second = await this.reader.next();
    if (second) throw new FlightError(Status.UNIMPLEMENTED, `Received a second request message for ${kind} method ${this.path}`);
    return first;
  }

  /**
   * Sends the response headers now, with `headers` added (response metadata, such as
   * Handshake's bearer token): clients read metadata from the headers, not from the
   * trailers of a trailers-only response.
   */
  sendHeaders(headers: OutgoingHttpHeaders): void {
    if (this.headersSent) throw new Error('response headers were already sent');
    if (this.finished) return;
    this.headersSent = true;
    this.stream.respond({ ...RESPONSE_HEADERS, ...headers }, RESPOND_OPTIONS);
  }

  /** Sends one serialized response message. */
  sendMessage(message: Uint8Array): Promise<void> {
    const prefix = Buffer.allocUnsafe(5);
    prefix[0] = 0;
    prefix.writeUInt32BE(message.byteLength, 1);
    return this.sendFrame(message.byteLength ? [prefix, message] : [prefix]);
  }

  /**
   * Sends one gRPC frame given as parts, the 5-byte prefix included: corked, the parts go
   * down as one writev, with no concatenation and no copy of a batch body (a frame of at
   * most SMALL_FRAME_BYTES is copied into one buffer instead). Resolves at once while
   * little is queued, else when the stream drains.
   */
  sendFrame(parts: readonly Uint8Array[]): Promise<void> {
    if (this.finished) return Promise.reject(this.abortReason ?? new FlightError(Status.CANCELLED, 'stream closed before the write'));
    const stream = this.stream;
    if (!this.headersSent) {
      this.headersSent = true;
      stream.respond(RESPONSE_HEADERS, RESPOND_OPTIONS);
    }
    const bytes = framePartsBytes(parts);
    if (this.heldBytes + bytes <= SMALL_FRAME_BYTES) {
      // Held until the event loop has handled the socket reads at hand (setImmediate: its
      // check phase) or the call ends, whichever is first: frames sent together go down
      // as one write, and none waits past the loop turn it was sent in. (A nextTick came
      // before the rest of the same read: a client's END_STREAM, in the read's last frame,
      // then ended the call in a second write.)
      const held = this.held ??= [];
      for (const part of parts) held.push(part);
      this.heldBytes += bytes;
      if (!this.flushQueued) {
        this.flushQueued = true;
        setImmediate(flushHeld, this);
      }
      return RESOLVED;
    }
    this.flushHeld();
    if (parts.length === 1) stream.write(parts[0]!);
    else {
      stream.cork();
      for (const part of parts) stream.write(part);
      stream.uncork();
    }
    if (stream.writableLength <= SEND_BUFFER_BYTES || !stream.writableNeedDrain) return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      const cleanup = () => {
        stream.off('drain', onDrain);
        stream.off('close', onClose);
      };
      const onDrain = () => { cleanup(); resolve(); };
      const onClose = () => { cleanup(); reject(this.abortReason ?? new FlightError(Status.CANCELLED, 'stream closed while waiting to write')); };
      stream.on('drain', onDrain);
      stream.on('close', onClose);
    });
  }

  /**
   * Ends the call with OK, or with the status `err` maps to (what the handler returned or
   * threw). Queued messages are sent first; the status goes in trailers, or alone
   * (trailers-only) if nothing was sent. Does nothing once the call has ended.
   */
  end(err?: unknown): void {
    if (err === undefined) {
      this.sendStatus(Status.OK, '');
      return;
    }
    const status = toGrpcStatus(err);
    this.sendStatus(status.code, status.details);
  }

  /** The request's input was refused by its reader (too large, bad frame): ends the call with why. */
  inputRefused(err: FlightError): void {
    log('warn', 'request input refused', { rpc: this.path, peer: this.peer, code: Status[err.code], error: err.message });
    this.cancel(err);
  }

  /** Resets the stream (RST_STREAM INTERNAL_ERROR): for when not even a status can be sent. */
  reset(): void {
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
  }

  /** Ends the call from the server's side (deadline, bad input, shutdown) and aborts `signal`. */
  cancel(err: FlightError): void {
    if (this.finished) return;
    this.sendStatus(err.code, err.message);
    this.abort(err);
  }

  /** Writes the frames held by sendFrame, if any (still open: a status not sent yet). */
  flushHeld(): void {
    this.flushQueued = false;
    const held = this.takeHeld();
    if (held && !this.finished) this.stream.write(held);
  }

  /** The held frames as one buffer (undefined when none), no longer held. */
  private takeHeld(): Buffer | undefined {
    const held = this.held;
    if (!held) return undefined;
    const bytes = this.heldBytes;
    this.held = undefined;
    this.heldBytes = 0;
    return held.length === 1 ? Buffer.from(held[0]!.buffer, held[0]!.byteOffset, held[0]!.byteLength) : Buffer.concat(held, bytes);
  }

  private abort(reason: FlightError): void {
    if (this.abortReason) return;
    this.abortReason = reason;
    this.controller?.abort(reason);
    const listeners = this.abortListeners;
    this.abortListeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  private sendStatus(code: Status, details: string): void {
    if (this.statusSent || this.closed) return;
    this.statusSent = true;
    clearTimeout(this.deadlineTimer);
    const stream = this.stream;
    if (!stream.destroyed && !stream.closed) {
      if (!this.headersSent) {
        this.headersSent = true;
        stream.respond({ ...RESPONSE_HEADERS, ...statusFields(code, details) }, TRAILERS_ONLY_OPTIONS);
      } else {
        if (code === Status.OK && details === '') stream.on('wantTrailers', sendOkTrailers);
        else {
          const trailers = statusFields(code, details);
          stream.on('wantTrailers', () => stream.sendTrailers(trailers));
        }
        const tail = this.takeHeld();
        if (tail) stream.end(tail);
        else stream.end();
      }
    }
    // Whatever the client still sends is read and dropped, so it does not hold the connection
    // window. The reason is built only if a read can still see it (not at the end of a call
    // whose input was read to the end): an Error per call showed as 3% of server CPU.
    this.reader.fail(code === Status.OK ? callEnded : () => new FlightError(code, details));
  }

  /** The stream closed ('close' listener). */
  streamClosed(): void {
    this.closed = true;
    clearTimeout(this.deadlineTimer);
    if (this.statusSent) return;
    // Closed before a status: the client reset the stream (cancel, its own deadline) or the connection went away.
    const reason = new FlightError(Status.CANCELLED, 'client cancelled the call');
    this.reader.fail(reason);
    this.abort(reason);
  }
}
