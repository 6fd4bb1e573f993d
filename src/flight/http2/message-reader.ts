/**
 * gRPC request messages read straight off a node:http2 stream.
 *
 * Each message is assembled into ONE buffer allocated at its length (known from the
 * 5-byte prefix), and each received DATA chunk is copied once, into that buffer. The
 * buffer is placed so that the FlightData body (protobuf field 1000) starts on an 8-byte
 * boundary: the decoder then views the Arrow buffers in place, with no realignment. To
 * know where the body starts, the first chunks of a message are held (by reference, not
 * copied) until the field tags before the body have arrived, usually in the first chunk.
 *
 * Pull-based: complete messages wait in a short queue; past it the HTTP/2 stream is
 * paused, so Node stops acknowledging received data and HTTP/2 flow control holds the
 * client back instead of this process buffering without bound.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { gunzipSync, inflateSync } from 'node:zlib';
import { FlightError, Status } from '../errors.js';

/** Complete messages queued before the stream is paused. */
const QUEUE_MESSAGES = 8;
/** ... or bytes of complete messages queued. */
const QUEUE_BYTES = 4 * 1024 * 1024;
/** Bytes of a message's start held while looking for its body field; past it, place it anywhere. */
const MAX_STAGED_BYTES = 1024 * 1024;
/** FlightData.data_body's field number. */
const FIELD_BODY = 1000;

export interface MessageReaderOptions {
  /** Largest message accepted (after decompression), or -1 / undefined for no limit. */
  maxMessageBytes?: number;
  /** The request's grpc-encoding, for messages whose compressed flag is set. */
  encoding?: string;
  /** Called once when the input is unusable (too large, bad frame); the call should end with it. */
  onError(err: FlightError): void;
}

/**
 * Where field 1000 (the body) starts within a message of `messageLength` bytes, of which
 * `chunks` hold the first bytes; 'more' if the tags before it have not all arrived yet,
 * 'none' if the message has no body (or is not protobuf the scan understands: the
 * decoder will say what is wrong).
 */
export function findBodyOffset(chunks: readonly Uint8Array[], available: number, messageLength: number): number | 'more' | 'none' {
  let index = 0;
  let base = 0;
  let pos = 0;
  const byteAt = (at: number): number => {
    while (at >= base + chunks[index]!.byteLength) base += chunks[index++]!.byteLength;
    return chunks[index]![at - base]!;
  };
  const varint = (): number | undefined => {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= available) return undefined;
      const byte = byteAt(pos++);
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    return Number.NaN;
  };
  for (;;) {
    if (pos >= messageLength) return 'none';
    const tag = varint();
    if (tag === undefined) return available >= messageLength ? 'none' : 'more';
    if (Number.isNaN(tag)) return 'none';
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (v === undefined) return available >= messageLength ? 'none' : 'more';
      if (Number.isNaN(v)) return 'none';
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint();
      if (len === undefined) return available >= messageLength ? 'none' : 'more';
      if (Number.isNaN(len)) return 'none';
      if (Math.floor(tag / 8) === FIELD_BODY) return pos <= messageLength ? pos : 'none';
      pos += len;
    } else return 'none';
  }
}

/**
 * Reads the messages of one request stream. `next()` resolves with the next message
 * (a Buffer of exactly its bytes), or undefined once the client half-closed.
 */
export class GrpcMessageReader {
  private readonly prefix = Buffer.alloc(5);
  private prefixFilled = 0;
  private messageLength = 0;
  private compressed = false;
  /** The message being filled, once placed. */
  private message?: Buffer;
  private filled = 0;
  /** The start of a message not yet placed (views into received chunks). */
  private staged: Buffer[] = [];
  private stagedLength = 0;

  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure?: FlightError;
  private discarding = false;
  private waiter?: { resolve(m: Buffer | undefined): void; reject(e: unknown): void };
  private readonly maxMessageBytes: number;

  constructor(private readonly stream: ServerHttp2Stream, private readonly options: MessageReaderOptions) {
    this.maxMessageBytes = options.maxMessageBytes !== undefined && options.maxMessageBytes >= 0 ? options.maxMessageBytes : Infinity;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('end', () => this.onEnd());
  }

  /** The next message, or undefined at the end of the stream. Rejects once the input failed or the call ended. */
  next(): Promise<Buffer | undefined> {
    const message = this.queue.shift();
    if (message) {
      this.queuedBytes -= message.byteLength;
      this.maybeResume();
      return Promise.resolve(message);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    if (this.waiter) return Promise.reject(new Error('GrpcMessageReader.next() called while a read is pending'));
    this.maybeResume();
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /**
   * Fails pending and later reads with `err` (the call ended: cancelled, deadline,
   * status sent) and drops further input, so the client's data does not hold the
   * connection's flow-control window. `err` may be a function that builds the error:
   * it is called only if a read can still fail, which after a client's half-close
   * (every call that read its input to the end) none can, so the usual end of a call
   * builds no Error (and captures no stack).
   */
  fail(err: FlightError | (() => FlightError)): void {
    if (!this.failure && !this.ended) this.failure = typeof err === 'function' ? err() : err;
    this.discard();
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) {
      if (this.failure) waiter.reject(this.failure);
      else waiter.resolve(undefined);
    }
  }

  private discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.staged = [];
    this.message = undefined;
    if (!this.stream.destroyed) this.stream.resume();
  }

  private maybeResume(): void {
    if (this.discarding || this.ended) return;
    if (this.queue.length < QUEUE_MESSAGES && this.queuedBytes < QUEUE_BYTES && this.stream.isPaused()) this.stream.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.discarding) return;
    let off = 0;
    while (off < chunk.length && !this.discarding) {
      if (this.prefixFilled < 5) {
        const take = Math.min(5 - this.prefixFilled, chunk.length - off);
        chunk.copy(this.prefix, this.prefixFilled, off, off + take);
        this.prefixFilled += take;
        off += take;
        if (this.prefixFilled === 5) this.startMessage();
        continue;
      }
      if (!this.message) {
        const take = Math.min(chunk.length - off, this.messageLength - this.stagedLength);
        this.staged.push(chunk.subarray(off, off + take));
        this.stagedLength += take;
        off += take;
        this.tryPlace();
        continue;
      }
      const take = Math.min(chunk.length - off, this.messageLength - this.filled);
      chunk.copy(this.message, this.filled, off, off + take);
      this.filled += take;
      off += take;
      if (this.filled === this.messageLength) this.complete();
    }
    if (!this.discarding && (this.queue.length >= QUEUE_MESSAGES || this.queuedBytes >= QUEUE_BYTES)) this.stream.pause();
  }

  private startMessage(): void {
    const flag = this.prefix[0]!;
    this.messageLength = this.prefix.readUInt32BE(1);
    if (flag > 1) return this.error(new FlightError(Status.INTERNAL, `invalid gRPC message flag ${flag} (must be 0 or 1)`));
    this.compressed = flag === 1;
    if (this.compressed) {
      const encoding = this.options.encoding ?? 'identity';
      if (encoding === 'identity') {
        return this.error(new FlightError(Status.INTERNAL, 'message has the compressed flag set but the request has no grpc-encoding'));
      }
      if (encoding !== 'gzip' && encoding !== 'deflate') {
        return this.error(new FlightError(Status.UNIMPLEMENTED, `received a message compressed with unsupported encoding "${encoding}" (accepted: identity, deflate, gzip)`));
      }
    }
    if (this.messageLength > this.maxMessageBytes) {
      return this.error(FlightError.resourceExhausted(`Received message larger than max (${this.messageLength} vs. ${this.maxMessageBytes})`));
    }
    this.staged = [];
    this.stagedLength = 0;
    this.filled = 0;
    this.message = undefined;
    if (this.messageLength === 0) {
      this.message = Buffer.alloc(0);
      this.complete();
    }
  }

  /** Allocates the message once the body's position is known (or cannot be soon), and copies what was staged. */
  private tryPlace(): void {
    let shift = 0;
    if (!this.compressed) {
      const found = findBodyOffset(this.staged, this.stagedLength, this.messageLength);
      if (found === 'more' && this.stagedLength < MAX_STAGED_BYTES && this.stagedLength < this.messageLength) return;
      if (typeof found === 'number') shift = (8 - (found % 8)) % 8;
    }
    // allocUnsafeSlow: a fresh ArrayBuffer (offset 0, 8-aligned), never a slice of the pool.
    const backing = Buffer.allocUnsafeSlow(this.messageLength + shift);
    this.message = backing.subarray(shift);
    for (const part of this.staged) {
      this.message.set(part, this.filled);
      this.filled += part.byteLength;
    }
    this.staged = [];
    this.stagedLength = 0;
    if (this.filled === this.messageLength) this.complete();
  }

  private complete(): void {
    let message = this.message!;
    this.message = undefined;
    this.prefixFilled = 0;
    if (this.compressed) {
      try {
        const limit = Number.isFinite(this.maxMessageBytes) ? { maxOutputLength: Math.max(1, this.maxMessageBytes) } : {};
        message = this.options.encoding === 'gzip' ? gunzipSync(message, limit) : inflateSync(message, limit);
      } catch (err) {
        const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
        this.error(tooLarge
          ? FlightError.resourceExhausted(`Received message that decompresses to a size larger than ${this.maxMessageBytes}`)
          : new FlightError(Status.INTERNAL, `failed to decompress a ${this.options.encoding} message: ${(err as Error).message}`));
        return;
      }
      if (message.byteLength > this.maxMessageBytes) {
        this.error(FlightError.resourceExhausted(`Received message that decompresses to a size larger than ${this.maxMessageBytes}`));
        return;
      }
    }
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      waiter.resolve(message);
      return;
    }
    this.queue.push(message);
    this.queuedBytes += message.byteLength;
  }

  private onEnd(): void {
    if (this.discarding) return;
    if (this.prefixFilled > 0) {
      this.error(new FlightError(Status.INTERNAL, `request stream ended inside a message (${this.prefixFilled < 5 ? 'in its 5-byte prefix' : `${this.filled + this.stagedLength} of ${this.messageLength} bytes`})`));
      return;
    }
    this.ended = true;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(undefined);
  }

  private error(err: FlightError): void {
    this.fail(err);
    this.options.onError(err);
  }
}
