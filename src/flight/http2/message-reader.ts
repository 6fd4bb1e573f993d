/**
 * gRPC request messages read straight off a node:http2 stream, treating every byte as
 * hostile.
 *
 * Each message is assembled into ONE buffer allocated at its length (known from the
 * 5-byte prefix), and each received DATA chunk is copied once into it. Before anything
 * is allocated the announced length is checked against the largest message accepted and
 * reserved from the server-wide ReceiveBudget, so neither one absurd prefix nor many
 * half-sent messages can make the process allocate more than it allows. The buffer is
 * placed so that the FlightData body (protobuf field 1000) starts on an 8-byte boundary:
 * the decoder then views the Arrow buffers in place. To know where the body starts, the
 * first bytes of a message are staged (at most MAX_STAGED_BYTES) until the field tags
 * before the body have arrived, usually in the first chunk.
 *
 * Compressed messages (grpc-encoding gzip or deflate) are inflated by a zlib stream on
 * libuv's thread pool, never on the event loop, each output chunk counted against the
 * message limit and the budget as it appears, so a small bomb is refused as soon as it
 * grows past either (or at its first bytes, when they are not protobuf).
 *
 * Large messages are received into buffers of their own. A call that is done with one
 * may give it back (recycle): it is then reused for a later message of the call instead of
 * a fresh allocation. Why: a streamed batch of several MiB lives until its answer has been
 * written, past the next one's arrival, so V8 promotes its ArrayBuffer and only a full
 * mark-compact GC (one per 64 MB of such memory) frees it; a 16 MiB-batch echo spent a
 * quarter of its CPU in GC and page faults that way (bench/flight/README.md).
 *
 * Pull-based: complete messages wait in a short queue; past it the HTTP/2 stream is
 * paused, so Node stops acknowledging received data and HTTP/2 flow control holds the
 * client back instead of this process buffering without bound.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { createGunzip, createInflate } from 'node:zlib';
import { FlightError, Status } from '../errors.js';
import { ProtoReader } from '../proto-reader.js';
import type { ReceiveBudget } from '../receive-budget.js';

/** Complete messages queued before the stream is paused. */
const QUEUE_MESSAGES = 8;
/** ... or bytes of complete messages queued. */
const QUEUE_BYTES = 4 * 1024 * 1024;
/** Bytes of a message's start staged while looking for its body field; past it, place it anywhere. */
const MAX_STAGED_BYTES = 64 * 1024;
/** Output chunk of the inflater: few event-loop callbacks per megabyte, small enough to stop a bomb early. */
const INFLATE_CHUNK_BYTES = 256 * 1024;
/** Largest message placed straight from the chunk that holds all of it (see takeWhole). */
const WHOLE_MESSAGE_BYTES = 64 * 1024;
/** Bytes a placed message may be shifted by so that its body starts 8-byte aligned. */
const ALIGNMENT_ROOM = 7;
/** Receive buffers a call may have given back and not yet reused (see recycle). */
const SPARE_BUFFERS = 2;
/** FlightData.data_body's field number. */
const FIELD_BODY = 1000;

/** The limits a reader enforces: the same object for every call of a method. */
export interface MessageReaderOptions {
  /** Largest message accepted, before and after decompression. */
  maxMessageBytes: number;
  /** The server-wide budget for bytes held in messages not yet handed to the call. */
  budget?: ReceiveBudget;
}

/** Who is told when the input is unusable. */
export interface MessageReaderOwner {
  /** Called once when the input is unusable (too large, bad frame); the call should end with it. */
  inputRefused(err: FlightError): void;
}

/** The reader of a stream, for the shared 'data' and 'end' listeners below. */
const READER = Symbol('flight-runner.message-reader');
type ReadStream = ServerHttp2Stream & { [READER]?: GrpcMessageReader };

// One function each for every stream (`this` is the stream): no closures per call.
// Nothing thrown here may reach the stream's emitter: it would end the process.
function onStreamData(this: ReadStream, chunk: Buffer): void {
  this[READER]!.received(chunk);
}
function onStreamEnd(this: ReadStream): void {
  this[READER]!.receivedEnd();
}

/**
 * Where field 1000 (the body) starts within a message of `messageLength` bytes, of which
 * the first `available` are in `buf`; 'more' if the tags before it have not all arrived,
 * 'none' if the message has no body or is not protobuf the scan understands (the decoder
 * then says what is wrong). `scan.pos` keeps the end of the last whole field between
 * calls, so a message that arrives a byte at a time is still scanned once.
 */
export function findBodyOffset(buf: Uint8Array, available: number, messageLength: number, scan: { pos: number }): number | 'more' | 'none' {
  const at = cursor;
  at.pos = scan.pos;
  for (;;) {
    scan.pos = at.pos;
    if (at.pos >= messageLength) return 'none';
    const tag = readVarint(buf, available, at);
    if (tag === undefined) return available >= messageLength ? 'none' : 'more';
    if (Number.isNaN(tag) || tag < 8) return 'none';
    const wire = tag & 7;
    if (wire === 0) {
      const v = readVarint(buf, available, at);
      if (v === undefined) return available >= messageLength ? 'none' : 'more';
      if (Number.isNaN(v)) return 'none';
    } else if (wire === 1) at.pos += 8;
    else if (wire === 5) at.pos += 4;
    else if (wire === 2) {
      const len = readVarint(buf, available, at);
      if (len === undefined) return available >= messageLength ? 'none' : 'more';
      if (Number.isNaN(len)) return 'none';
      if (Math.floor(tag / 8) === FIELD_BODY) return at.pos <= messageLength ? at.pos : 'none';
      at.pos += len;
    } else return 'none';
  }
}

/** findBodyOffset's position while it scans (one object for all scans: they never overlap). */
const cursor = { pos: 0 };

/** A varint at `at.pos` (moved past it); undefined if it runs past `available`, NaN if longer than 10 bytes. */
function readVarint(buf: Uint8Array, available: number, at: { pos: number }): number | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= available) return undefined;
    const byte = buf[at.pos++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 128;
  }
  return Number.NaN;
}

/** A complete message and the budget it holds until the call takes it. */
interface Received {
  message: Buffer;
  reserved: number;
}

/**
 * Reads the messages of one request stream. `next()` resolves with the next message
 * (a Buffer of exactly its bytes), or undefined once the client half-closed.
 */
export class GrpcMessageReader {
  /**
   * A message's 5-byte prefix, gathered here when a chunk ends inside it. Made on first
   * need, from Node's pool: Buffer.alloc(5) per call was a fresh ArrayBuffer each time,
   * most of a reader's construction cost, for a buffer small calls never use.
   */
  private prefixBytes?: Buffer;
  private prefixFilled = 0;
  private messageLength = 0;
  private compressed = false;
  /** Budget bytes held for the message being received. */
  private reserved = 0;
  /** The message being filled, once placed. */
  private message?: Buffer;
  private filled = 0;
  /** The start of a message not yet placed, and how far its fields have been scanned. */
  private staging?: Buffer;
  private stagedLength = 0;
  private readonly scan = { pos: 0 };
  /** A compressed message is being inflated: input waits in `backlog` meanwhile, in order. */
  private inflating = false;
  private backlog: Buffer[] = [];
  private endPending = false;

  private readonly queue: Received[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure?: FlightError;
  private discarding = false;
  private waiter?: { resolve(m: Buffer | undefined): void; reject(e: unknown): void };
  /** The receive buffers of large messages handed out and not given back (see recycle). */
  private issued?: WeakSet<ArrayBuffer>;
  /** Receive buffers given back, waiting for a later message; their bytes are reserved from the budget. */
  private spare?: Buffer[];
  /** The spare buffer the message being staged will be placed in. */
  private spareTaken?: Buffer;

  /**
   * @param encoding the request's grpc-encoding, for messages whose compressed flag is set
   * @param owner told once when the input is unusable
   */
  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly options: MessageReaderOptions,
    private readonly encoding: string | undefined,
    private readonly owner: MessageReaderOwner,
  ) {
    (stream as ReadStream)[READER] = this;
    stream.on('data', onStreamData);
    stream.on('end', onStreamEnd);
  }

  /** A DATA chunk of the stream ('data' listener); never throws. */
  received(chunk: Buffer): void {
    try {
      this.onData(chunk);
    } catch (err) {
      this.failed(err);
    }
  }

  /** The client half-closed ('end' listener); never throws. */
  receivedEnd(): void {
    try {
      this.onEnd();
    } catch (err) {
      this.failed(err);
    }
  }

  /** The next message, or undefined at the end of the stream. Rejects once the input failed or the call ended. */
  next(): Promise<Buffer | undefined> {
    const received = this.queue.shift();
    if (received) return Promise.resolve(this.handOver(received));
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(undefined);
    if (this.waiter) return Promise.reject(new Error('GrpcMessageReader.next() called while a read is pending'));
    this.maybeResume();
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /**
   * What next() would resolve with, when it is known now: the next message if it has
   * arrived, null at the end of the stream; undefined when the next message has not
   * arrived yet. Throws once the input failed or the call ended. Lets a reader go through
   * the messages of one received chunk without a promise turn each.
   */
  poll(): Buffer | null | undefined {
    if (this.waiter) return undefined;
    const received = this.queue.shift();
    if (received) return this.handOver(received);
    if (this.failure) throw this.failure;
    return this.ended ? null : undefined;
  }

  /**
   * Gives back the receive buffer of a message this reader returned (`bytes`: the message
   * or any view into it), for a later message of this call to be received into. The caller
   * promises that nothing reads any view of that message any more: its bytes will be
   * overwritten. Ignored for what this reader does not own (small messages share Node's
   * Buffer pool, inflated messages are separate), for a buffer given back already, once no
   * more messages can come, and when the budget has no room to keep it.
   */
  recycle(bytes: Uint8Array): void {
    const buffer = bytes.buffer;
    if (!(buffer instanceof ArrayBuffer) || !this.issued?.delete(buffer)) return;
    if (this.discarding || this.ended) return;
    const spare = this.spare ??= [];
    if (spare.length >= SPARE_BUFFERS || this.options.budget?.tryReserve(buffer.byteLength) === false) return;
    spare.push(Buffer.from(buffer));
  }

  /**
   * A spare receive buffer for a message of `bytes`, if one is at least that large and not
   * more than twice (a far larger one would hold memory the message does not need).
   */
  private takeSpare(bytes: number): Buffer | undefined {
    const spare = this.spare;
    if (!spare) return undefined;
    const at = spare.findIndex((b) => b.byteLength >= bytes && b.byteLength <= 2 * bytes);
    if (at < 0) return undefined;
    const taken = spare.splice(at, 1)[0]!;
    this.options.budget?.release(taken.byteLength);
    return taken;
  }

  /** Drops the spare receive buffers and returns their budget: no message will use them. */
  private dropSpare(): void {
    if (!this.spare) return;
    for (const b of this.spare) this.options.budget?.release(b.byteLength);
    this.spare = undefined;
  }

  /** A queued message leaves the queue for the call: its budget is released. */
  private handOver(received: Received): Buffer {
    this.queuedBytes -= received.message.byteLength;
    this.options.budget?.release(received.reserved);
    this.maybeResume();
    return received.message;
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

  /** Drops everything held, returns its budget, and reads the rest of the input into nothing. */
  private discard(): void {
    if (this.discarding) return;
    this.discarding = true;
    for (const received of this.queue) this.options.budget?.release(received.reserved);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.releaseCurrent();
    this.dropSpare();
    this.backlog = [];
    // Only a paused stream needs it: resume() on a flowing one still schedules a tick.
    if (!this.stream.destroyed && !this.stream.readableEnded && this.stream.isPaused()) this.stream.resume();
  }

  private releaseCurrent(): void {
    this.options.budget?.release(this.reserved);
    this.reserved = 0;
    this.staging = undefined;
    this.message = undefined;
    this.spareTaken = undefined;
  }

  private guard(run: () => void): void {
    try {
      run();
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    this.error(err instanceof FlightError ? err : FlightError.internal(`failed reading the request: ${(err as Error).message}`, err));
  }

  private maybeResume(): void {
    if (this.discarding || this.ended || this.inflating) return;
    if (this.queue.length < QUEUE_MESSAGES && this.queuedBytes < QUEUE_BYTES && this.stream.isPaused()) this.stream.resume();
  }

  private onData(chunk: Buffer): void {
    if (this.discarding) return;
    if (this.inflating) {
      this.backlog.push(chunk);
      return;
    }
    let off = 0;
    while (off < chunk.length && !this.discarding && !this.inflating) {
      if (this.prefixFilled === 0 && this.takeWhole(chunk, off)) {
        off += 5 + this.messageLength;
        continue;
      }
      if (this.prefixFilled < 5) {
        const take = Math.min(5 - this.prefixFilled, chunk.length - off);
        this.prefixBytes ??= Buffer.allocUnsafe(5);
        chunk.copy(this.prefixBytes, this.prefixFilled, off, off + take);
        this.prefixFilled += take;
        off += take;
        if (this.prefixFilled === 5) this.startMessage();
        continue;
      }
      if (!this.message) {
        const staging = this.staging!;
        const take = Math.min(chunk.length - off, staging.byteLength - this.stagedLength);
        chunk.copy(staging, this.stagedLength, off, off + take);
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
    if (this.inflating && off < chunk.length) this.backlog.push(chunk.subarray(off));
    if (!this.discarding && (this.inflating || this.queue.length >= QUEUE_MESSAGES || this.queuedBytes >= QUEUE_BYTES)) this.stream.pause();
  }

  /**
   * The common case of small messages: the whole message, prefix included, lies in
   * `chunk` from `off`. It is then placed at once (one copy, into pooled memory, its body
   * 8-byte aligned), without staging its start first. False (nothing consumed) for
   * anything else, which the general path takes byte by byte.
   */
  private takeWhole(chunk: Buffer, off: number): boolean {
    if (chunk.length - off < 5 || chunk[off] !== 0) return false;
    const length = chunk.readUInt32BE(off + 1);
    if (length === 0 || length > WHOLE_MESSAGE_BYTES || chunk.length - off - 5 < length) return false;
    this.messageLength = length;
    this.compressed = false;
    this.checkLength();
    const start = off + 5;
    this.scan.pos = 0;
    const found = findBodyOffset(chunk.subarray(start, start + length), length, length, this.scan);
    // Small sizes come from Node's Buffer pool (no ArrayBuffer of their own, unlike
    // tryPlace's); the message starts where its body falls on an 8-byte boundary.
    const backing = Buffer.allocUnsafe(length + 7);
    const at = typeof found === 'number' ? (8 - ((backing.byteOffset + found) % 8)) % 8 : 0;
    const message = backing.subarray(at, at + length);
    chunk.copy(message, 0, start, start + length);
    this.message = message;
    this.filled = length;
    this.complete();
    return true;
  }

  /** Checks a new message's length against the limit and reserves it from the budget. */
  private checkLength(): void {
    if (this.messageLength > this.options.maxMessageBytes) {
      throw FlightError.resourceExhausted(`Received message larger than max (${this.messageLength} vs. ${this.options.maxMessageBytes})`);
    }
    this.options.budget?.reserve(this.messageLength);
    this.reserved = this.messageLength;
  }

  private startMessage(): void {
    const prefix = this.prefixBytes!;
    const flag = prefix[0]!;
    this.messageLength = prefix.readUInt32BE(1);
    if (flag > 1) throw new FlightError(Status.INTERNAL, `invalid gRPC message flag ${flag} (must be 0 or 1)`);
    this.compressed = flag === 1;
    if (this.compressed) {
      const encoding = this.encoding ?? 'identity';
      if (encoding === 'identity') {
        throw new FlightError(Status.INTERNAL, 'message has the compressed flag set but the request has no grpc-encoding');
      }
      if (encoding !== 'gzip' && encoding !== 'deflate') {
        throw new FlightError(Status.UNIMPLEMENTED, `received a message compressed with unsupported encoding "${encoding}" (accepted: identity, deflate, gzip)`);
      }
    }
    // A spare buffer that will take this message gives its reservation over to it first,
    // so that the two are never counted at once.
    this.spareTaken = this.compressed ? undefined : this.takeSpare(this.messageLength + ALIGNMENT_ROOM);
    this.checkLength();
    this.filled = 0;
    this.stagedLength = 0;
    this.scan.pos = 0;
    this.message = undefined;
    this.staging = undefined;
    if (this.messageLength === 0) {
      this.message = Buffer.alloc(0);
      this.complete();
    } else if (this.compressed) {
      // Inflated later into a fresh buffer: where its body lies here does not matter.
      this.message = Buffer.allocUnsafe(this.messageLength);
    } else {
      this.staging = Buffer.allocUnsafe(Math.min(this.messageLength, MAX_STAGED_BYTES));
    }
  }

  /** Allocates the message once the body's position is known (or cannot be soon), and copies what was staged. */
  private tryPlace(): void {
    const staging = this.staging!;
    const found = findBodyOffset(staging, this.stagedLength, this.messageLength, this.scan);
    if (found === 'more' && this.stagedLength < staging.byteLength) return;
    const shift = typeof found === 'number' ? (8 - (found % 8)) % 8 : 0;
    // allocUnsafeSlow: a fresh ArrayBuffer (offset 0, 8-aligned), never a slice of the pool;
    // 7 bytes more than the message, so that as a spare it takes any later message as long.
    const backing = this.spareTaken ?? Buffer.allocUnsafeSlow(this.messageLength + ALIGNMENT_ROOM);
    this.spareTaken = undefined;
    (this.issued ??= new WeakSet()).add(backing.buffer as ArrayBuffer);
    this.message = backing.subarray(shift, shift + this.messageLength);
    staging.copy(this.message, 0, 0, this.stagedLength);
    this.filled = this.stagedLength;
    this.staging = undefined;
    this.stagedLength = 0;
    if (this.filled === this.messageLength) this.complete();
  }

  private complete(): void {
    const message = this.message!;
    this.message = undefined;
    this.prefixFilled = 0;
    if (this.compressed) {
      this.inflate(message);
      return;
    }
    const reserved = this.reserved;
    this.reserved = 0;
    this.deliver({ message, reserved });
  }

  private deliver(received: Received): void {
    const waiter = this.waiter;
    if (waiter) {
      this.waiter = undefined;
      this.options.budget?.release(received.reserved);
      waiter.resolve(received.message);
      return;
    }
    this.queue.push(received);
    this.queuedBytes += received.message.byteLength;
  }

  /**
   * Inflates one compressed message off the event loop. Input that arrives meanwhile
   * waits in the backlog (and the stream is paused), so messages stay in order.
   */
  private inflate(compressed: Buffer): void {
    this.inflating = true;
    this.stream.pause();
    const encoding = this.encoding!;
    const limit = this.options.maxMessageBytes;
    const inflater = encoding === 'gzip' ? createGunzip({ chunkSize: INFLATE_CHUNK_BYTES }) : createInflate({ chunkSize: INFLATE_CHUNK_BYTES });
    const parts: Buffer[] = [];
    let total = 0;
    let reservedOut = 0;
    let settled = false;
    const settle = (err?: FlightError) => {
      if (settled) return;
      settled = true;
      inflater.removeAllListeners('data');
      inflater.destroy();
      // The compressed bytes are no longer held; the output holds its own reservation.
      this.options.budget?.release(this.reserved);
      this.reserved = 0;
      this.inflating = false;
      if (this.discarding) {
        this.options.budget?.release(reservedOut);
        return;
      }
      if (err) {
        this.options.budget?.release(reservedOut);
        this.error(err);
        return;
      }
      this.deliver({ message: parts.length === 1 ? parts[0]! : Buffer.concat(parts, total), reserved: reservedOut });
      const backlog = this.backlog;
      this.backlog = [];
      this.guard(() => {
        for (const chunk of backlog) this.onData(chunk);
        if (this.endPending && !this.inflating) this.onEnd();
      });
      this.maybeResume();
    };
    inflater.on('data', (part: Buffer) => {
      if (settled) return;
      try {
        total += part.byteLength;
        if (total > limit) throw FlightError.resourceExhausted(`Received message that decompresses to a size larger than ${limit}`);
        this.options.budget?.reserve(part.byteLength);
        reservedOut += part.byteLength;
        if (parts.length === 0) checkStartsAsProtobuf(part);
        parts.push(part);
      } catch (err) {
        settle(err instanceof FlightError ? err : FlightError.internal(String(err)));
      }
    });
    inflater.on('error', (err) => settle(new FlightError(Status.INTERNAL, `failed to decompress a ${encoding} message: ${err.message}`)));
    inflater.on('end', () => settle());
    inflater.end(compressed);
  }

  private onEnd(): void {
    if (this.discarding) return;
    if (this.inflating) {
      this.endPending = true;
      return;
    }
    if (this.prefixFilled > 0) {
      throw new FlightError(Status.INTERNAL, `request stream ended inside a message (${this.prefixFilled < 5 ? 'in its 5-byte prefix' : `${this.message ? this.filled : this.stagedLength} of ${this.messageLength} bytes`})`);
    }
    this.ended = true;
    this.dropSpare();
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve(undefined);
  }

  private error(err: FlightError): void {
    if (this.discarding) return;
    this.fail(err);
    this.owner.inputRefused(err);
  }
}

/**
 * Refuses inflated output whose first bytes are no protobuf field (a bomb of zeros is
 * field 0), so it is stopped at its first chunk instead of after inflating to the limit.
 */
function checkStartsAsProtobuf(firstPart: Buffer): void {
  const head = new ProtoReader(firstPart.subarray(0, 10), 'decompressed message');
  try {
    head.tag();
  } catch (err) {
    if (firstPart.byteLength >= 10 || !/truncated/.test((err as Error).message)) throw err;
  }
}
