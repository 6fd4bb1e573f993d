/**
 * Batches in and out of a FlightData stream, with backpressure. Both sides depend only
 * on the smallest seams: a reader needs an async iterable of FlightData, a writer a
 * `write(data) -> Promise`. So a writer can feed a reader in memory, with no gRPC.
 */
import { Table, type RecordBatch, type Schema } from 'apache-arrow';
import { FlightDataDecoder, type FlightMessage } from './decode.js';
import type { FlightDescriptor } from './descriptor.js';
import { FlightDataEncoder, type EncoderOptions } from './encode.js';
import { FlightError, Status } from './errors.js';
import { isMalformed, type FlightData, type MalformedFlightData, type ReceivedFlightData } from './flight-data.js';

/**
 * A FlightData source that can also hand over, without a promise turn, a message it
 * has already received (a server call's input, whose messages often arrive several to
 * a chunk).
 */
export interface PollableFlightData extends AsyncIterator<ReceivedFlightData | MalformedFlightData> {
  /** What next() would resolve with, if known now; undefined when it is not. May throw as next() rejects. */
  poll(): IteratorResult<ReceivedFlightData | MalformedFlightData> | undefined;
}

/**
 * A FlightData source that can take back the receive buffer of a message it gave (a
 * server call's input; see FlightReader.recycle).
 */
export interface RecyclingFlightData {
  /** Reuse the buffer `body` lies in for a later message; the caller reads none of it any more. */
  recycle(body: Uint8Array): void;
}

/**
 * Batches whose bodies are at least this large may have their receive buffer recycled:
 * below it messages share Node's Buffer pool (and GC handles them well).
 */
const RECYCLED_BODY_BYTES = 64 * 1024;

/** readyMessage(): the next message has not arrived yet. */
const NOT_READY = Symbol('not ready');

function isPollable(source: AsyncIterator<unknown>): source is PollableFlightData {
  return typeof (source as Partial<PollableFlightData>).poll === 'function';
}

function isRecycling(source: AsyncIterator<unknown>): source is AsyncIterator<unknown> & RecyclingFlightData {
  return typeof (source as Partial<RecyclingFlightData>).recycle === 'function';
}

/** A batch with the app_metadata sent beside it, or app_metadata alone (`batch` undefined). */
export interface FlightChunk {
  batch?: RecordBatch;
  appMetadata?: Uint8Array;
}

/**
 * FlightReader's iteration, which can also hand over the next chunk without a promise
 * turn when it is already at hand (a one-row call's schema, batch and end usually arrive
 * together).
 */
export interface PollableChunks extends AsyncIterator<FlightChunk> {
  /**
   * The next chunk, or the end, if at hand now; undefined when next() has to wait for it
   * (also while a next() is pending). Throws as next() would reject.
   */
  poll(): IteratorResult<FlightChunk> | undefined;
}

/**
 * Reads a FlightData stream as Arrow: the descriptor (first message), the schema, then
 * batches with their app_metadata. Messages are pulled one at a time, so a slow
 * consumer slows the sender through gRPC flow control instead of buffering.
 *
 * @example
 * const reader = new FlightReader(stream);
 * const schema = await reader.schema();
 * for await (const { batch, appMetadata } of reader) { ... }
 */
export class FlightReader implements AsyncIterable<FlightChunk> {
  private readonly source: AsyncIterator<ReceivedFlightData | MalformedFlightData>;
  private readonly pollable?: PollableFlightData;
  private readonly decoder = new FlightDataDecoder();
  /** Messages read ahead, in order (a promise: one still decompressing, see pollSchema). */
  private readonly pending: (FlightMessage | Promise<FlightMessage>)[] = [];
  private firstDescriptor?: FlightDescriptor;
  private done = false;
  private readonly recycling?: RecyclingFlightData;
  /** The received bodies of large batches not recycled yet (see recycle). */
  private bodies?: WeakMap<RecordBatch, Uint8Array>;

  constructor(source: AsyncIterable<ReceivedFlightData | MalformedFlightData>) {
    this.source = source[Symbol.asyncIterator]();
    if (isPollable(this.source)) this.pollable = this.source;
    if (isRecycling(this.source)) this.recycling = this.source;
  }

  /**
   * Lets the stream receive a later message into the memory of `batch`, a batch this
   * reader returned (from nextMessage() or the iteration), instead of allocating more: for
   * handlers that stream large batches through (an echo, a proxy, a model that copies its
   * input), where each batch would otherwise be left for a full GC to free. With `after`
   * (the call's FlightWriter), once it has written out everything written so far, so that
   * it no longer reads the batch; without it, at once.
   *
   * The caller promises that nothing reads `batch` or the app_metadata that came with it
   * any more (nor anything sliced or viewed from them): their bytes will be overwritten.
   * Does nothing for small batches, batches from a source that does not recycle (in
   * memory), a batch recycled already, or when `after` cannot tell when its writes are done.
   */
  recycle(batch: RecordBatch, after?: WritesReport): void {
    const body = this.bodies?.get(batch);
    if (!body) return;
    this.bodies!.delete(batch);
    const recycling = this.recycling!;
    if (!after) recycling.recycle(body);
    else after.afterWrites(() => recycling.recycle(body));
  }

  /** The descriptor from the stream's first message (DoPut, DoExchange), once read. */
  get descriptor(): FlightDescriptor | undefined {
    return this.firstDescriptor;
  }

  /** Reads the first message, so that `descriptor` is known. Returns this. */
  open(): Promise<this> {
    if (this.pending.length > 0 || this.done || this.firstDescriptor !== undefined) return Promise.resolve(this);
    return this.pull().then((msg) => {
      if (msg) this.pending.push(msg);
      return this;
    });
  }

  /**
   * The stream's schema: reads ahead to the schema message, keeping any messages before
   * it. Undefined if the stream ended without one.
   */
  schema(): Promise<Schema | undefined> {
    if (this.decoder.schema || this.done) return Promise.resolve(this.decoder.schema);
    // A message pollSchema() left decompressing is decoded before any later one.
    const decoding = this.pending.find((m): m is Promise<FlightMessage> => m instanceof Promise);
    if (decoding) {
      return decoding.then((msg) => {
        this.pending[this.pending.indexOf(decoding)] = msg;
        return this.schema();
      });
    }
    return this.pull().then((msg) => {
      if (msg) this.pending.push(msg);
      return this.schema();
    });
  }

  /**
   * The stream's schema if it is at hand now: decoded already, or in messages already
   * received (read ahead without a promise turn, as schema() does). Undefined when it has
   * to be waited for (or the stream ended without one): then call schema(). Throws as
   * schema() would reject.
   */
  pollSchema(): Schema | undefined {
    while (!this.decoder.schema && !this.done) {
      // Read from the source only: what is held was decoded already, and is not the schema.
      if (!this.pollable || this.pending.some((m) => m instanceof Promise)) return undefined;
      const polled = this.pollable.poll();
      if (!polled) return undefined;
      const msg = this.received(polled);
      if (msg instanceof Promise) {
        // A compressed batch before the schema (the decoder refuses it once inflated):
        // kept in order for schema() to wait for; its failure is seen by whoever takes it.
        msg.catch(() => {});
        this.pending.push(msg);
        return undefined;
      }
      if (msg) this.pending.push(msg);
    }
    return this.decoder.schema;
  }

  /** The next decoded message, including schema and dictionary messages. */
  nextMessage(): Promise<FlightMessage | undefined> {
    try {
      const ready = this.readyMessage();
      if (ready === NOT_READY) return this.pull();
      return ready instanceof Promise ? ready : Promise.resolve(ready);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * The next message when it is at hand: held, or already received by a pollable source
   * (decoded now; a promise only for a batch that decompresses in steps). NOT_READY when
   * it has to be waited for. Throws as reading it would reject.
   */
  private readyMessage(): FlightMessage | undefined | Promise<FlightMessage> | typeof NOT_READY {
    const held = this.pending.shift();
    if (held) return held;
    if (this.done) return undefined;
    const polled = this.pollable?.poll();
    return polled ? this.received(polled) : NOT_READY;
  }

  /**
   * Batches and metadata-only messages, in order; schema and dictionary messages are
   * consumed. (A plain iterator rather than an async generator: fewer promise turns per
   * batch.)
   */
  [Symbol.asyncIterator](): PollableChunks {
    const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
    let finished = false;
    // As an async generator does, a next() called while one is pending runs after it:
    // `pending` counts the steps not settled yet.
    let pending = 0;
    let last: Promise<IteratorResult<FlightChunk>> | undefined;
    // Promise callbacks rather than an async loop: a one-row call's batch then costs one
    // promise turn per message read, not an async frame and several turns.
    const settle = (result: IteratorResult<FlightChunk>): IteratorResult<FlightChunk> => {
      pending--;
      return result;
    };
    const fail = (err: unknown): never => {
      pending--;
      finished = true;
      throw err;
    };
    /** What a message gives the iteration: a chunk, the end, or nothing (read on). */
    const chunkOf = (msg: FlightMessage | undefined): IteratorResult<FlightChunk> | undefined => {
      if (!msg || finished) {
        finished = true;
        return done;
      }
      if (msg.kind === 'batch') return { done: false, value: msg.appMetadata ? { batch: msg.batch, appMetadata: msg.appMetadata } : { batch: msg.batch } };
      // app_metadata on schema and dictionary messages is not a chunk of its own: arrow-go
      // copies a batch's app_metadata onto the schema and dictionary messages written with
      // it, and the C++ and Go readers ignore it there, so surfacing it would duplicate it.
      if (msg.kind === 'metadata' && msg.appMetadata) return { done: false, value: { appMetadata: msg.appMetadata } };
      return undefined;
    };
    const handle = (msg: FlightMessage | undefined): IteratorResult<FlightChunk> | Promise<IteratorResult<FlightChunk>> => {
      const result = chunkOf(msg);
      return result ? settle(result) : step();
    };
    // The messages already at hand are gone through here, without a promise turn each:
    // a one-row call's schema and batch usually arrive together.
    const step = (): Promise<IteratorResult<FlightChunk>> => {
      for (;;) {
        if (finished) return Promise.resolve(settle(done));
        let ready: ReturnType<FlightReader['readyMessage']>;
        try {
          ready = this.readyMessage();
        } catch (err) {
          return Promise.reject(err).catch(fail);
        }
        if (ready === NOT_READY) return this.pull().then(handle, fail);
        if (ready instanceof Promise) return ready.then(handle, fail);
        const result = chunkOf(ready);
        if (result) return Promise.resolve(settle(result));
      }
    };
    // A step poll() began (a batch decompressing in steps): the next next() is its answer.
    let polledStep: Promise<IteratorResult<FlightChunk>> | undefined;
    return {
      next: () => {
        if (polledStep) {
          last = polledStep;
          polledStep = undefined;
          return last;
        }
        last = pending++ > 0 && last ? last.then(step, step) : step();
        return last;
      },
      poll: () => {
        if (pending > 0) return undefined;
        for (;;) {
          if (finished) return done;
          let ready: ReturnType<FlightReader['readyMessage']>;
          try {
            ready = this.readyMessage();
          } catch (err) {
            finished = true;
            throw err;
          }
          if (ready === NOT_READY) return undefined;
          if (ready instanceof Promise) {
            pending++;
            polledStep = ready.then(handle, fail);
            return undefined;
          }
          const result = chunkOf(ready);
          if (result) return result;
        }
      },
      return: async () => {
        finished = true;
        return done;
      },
    };
  }

  /** Every batch, skipping metadata-only messages. */
  async *batches(): AsyncIterable<RecordBatch> {
    for await (const chunk of this) if (chunk.batch) yield chunk.batch;
  }

  /** Reads the rest of the stream into a Table. */
  async readAll(): Promise<Table> {
    const batches: RecordBatch[] = [];
    for await (const batch of this.batches()) batches.push(batch);
    const schema = await this.schema();
    return batches.length ? new Table(batches) : new Table(schema ?? ([] as never));
  }

  private pull(): Promise<FlightMessage | undefined> {
    if (this.done) return Promise.resolve(undefined);
    return this.source.next().then(this.received);
  }

  /** Decodes what the source gave (a property, so pull() makes no closure per message). */
  private readonly received = (next: IteratorResult<ReceivedFlightData | MalformedFlightData>): FlightMessage | undefined | Promise<FlightMessage> => {
    if (next.done) {
      this.done = true;
      return undefined;
    }
    const data = next.value;
    if (isMalformed(data)) throw data.malformed;
    // Large compressed batches inflate in steps, other callers served in between.
    const decompressing = this.decoder.decompressAhead(data);
    return decompressing ? decompressing.then((buffers) => this.decoded(data, buffers)) : this.decoded(data);
  };

  private decoded(data: ReceivedFlightData, decompressed?: Uint8Array[]): FlightMessage {
    const msg = this.decoder.decode(data, decompressed);
    if (msg.descriptor && this.firstDescriptor === undefined) this.firstDescriptor = msg.descriptor;
    const body = data.dataBody;
    if (this.recycling && msg.kind === 'batch' && body && body.byteLength >= RECYCLED_BODY_BYTES) (this.bodies ??= new WeakMap()).set(msg.batch, body);
    return msg;
  }
}

/** The one thing a FlightWriter needs: send a message, resolving when it may send more. */
export type FlightDataSink = (data: FlightData) => Promise<void>;

/** A transport that reports when what it was given has been written out (see FlightWriter.afterWrites). */
export interface WritesReport {
  /** Calls `callback` once every message sent so far no longer needs its buffers, or returns false if it cannot tell. */
  afterWrites(callback: () => void): boolean;
}

/**
 * Writes Arrow into a FlightData stream: the schema once, then batches (and their
 * dictionaries), each write resolving when the transport can take more.
 *
 * @example
 * const writer = new FlightWriter(sink);
 * await writer.begin(table.schema);
 * for (const batch of table.batches) await writer.write(batch);
 */
export class FlightWriter {
  private readonly encoder: FlightDataEncoder;
  private writtenSchema?: Schema;
  private descriptorToSend?: FlightDescriptor;

  /**
   * @param writes the transport's report of completed writes (see afterWrites); a writer
   * without one cannot tell
   */
  constructor(private readonly sink: FlightDataSink, options: EncoderOptions & { descriptor?: FlightDescriptor } = {}, private readonly writes?: WritesReport) {
    this.encoder = new FlightDataEncoder(options);
    this.descriptorToSend = options.descriptor;
  }

  /**
   * Calls `callback` once every message written so far has been written out, so that
   * nothing here reads the written batches' buffers any more. Returns false, and never
   * calls it, when that cannot be known: the call has ended, or the sink does not report
   * it (a writer feeding a reader in memory hands the batches themselves on).
   */
  afterWrites(callback: () => void): boolean {
    return this.writes?.afterWrites(callback) ?? false;
  }

  /** The schema written, if any. */
  get schema(): Schema | undefined {
    return this.writtenSchema;
  }

  /** Writes the schema message. Must come once, before any batch. */
  begin(schema: Schema, appMetadata?: Uint8Array): Promise<void> {
    try {
      if (this.writtenSchema) throw new FlightError(Status.FAILED_PRECONDITION, 'schema already written on this stream');
      this.writtenSchema = schema;
      const descriptor = this.takeDescriptor();
      return this.sink(this.encoder.encodeSchema(schema, descriptor, appMetadata));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Writes one batch with optional app_metadata; begins the stream with its schema if needed. */
  write(batch: RecordBatch, appMetadata?: Uint8Array): Promise<void> {
    // Not async: a one-row answer is one message, sent without an async frame around it.
    try {
      if (!this.writtenSchema) return this.begin(batch.schema).then(() => this.write(batch, appMetadata));
      if (batch.schema !== this.writtenSchema && !sameFields(batch.schema, this.writtenSchema)) {
        throw FlightError.invalidArgument('batch schema differs from the schema this stream began with');
      }
      const messages = this.encoder.encodeBatch(batch, appMetadata);
      return messages.length === 1 ? this.sink(messages[0]!) : this.sendAll(messages);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private async sendAll(messages: FlightData[]): Promise<void> {
    for (const data of messages) await this.sink(data);
  }

  /** Writes a message carrying app_metadata only. */
  async writeMetadata(appMetadata: Uint8Array): Promise<void> {
    const descriptor = this.takeDescriptor();
    await this.sink({ ...this.encoder.encodeMetadata(appMetadata), ...(descriptor ? { descriptor } : {}) });
  }

  /** Writes every batch of a table (and its schema, if the stream has not begun). */
  async writeTable(table: Table): Promise<void> {
    if (!this.writtenSchema) await this.begin(table.schema);
    for (const batch of table.batches) await this.write(batch);
  }

  /** Sends a descriptor-only message (DoPut/DoExchange without a schema yet). */
  async sendDescriptor(): Promise<void> {
    const descriptor = this.takeDescriptor();
    if (descriptor) await this.sink({ descriptor });
  }

  private takeDescriptor(): FlightDescriptor | undefined {
    const d = this.descriptorToSend;
    this.descriptorToSend = undefined;
    return d;
  }
}

function sameFields(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length
    && a.fields.every((f, i) => f.name === b.fields[i]!.name && String(f.type) === String(b.fields[i]!.type));
}

/** The part of a Node object-mode writable (a grpc-js call) that a sink uses. */
export interface ObjectWritable<T> {
  write(chunk: T): boolean;
  // biome-ignore lint/suspicious/noExplicitAny: Node's emitters type listener arguments as any[]; unknown[] would not accept them.
  on(event: string, listener: (...args: any[]) => void): unknown;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  off(event: string, listener: (...args: any[]) => void): unknown;
  destroyed?: boolean;
}

/**
 * Writes to a Node writable (a grpc-js call) and resolves when its buffer has room, or
 * rejects if the stream closes or fails first.
 */
export function writableSink<T = FlightData>(stream: ObjectWritable<T>): (data: T) => Promise<void> {
  return (data) => new Promise<void>((resolve, reject) => {
    if (stream.destroyed) {
      reject(new FlightError(Status.CANCELLED, 'stream closed before the write'));
      return;
    }
    if (stream.write(data)) {
      resolve();
      return;
    }
    const cleanup = () => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onError);
    };
    const onDrain = () => { cleanup(); resolve(); };
    const onClose = () => { cleanup(); reject(new FlightError(Status.CANCELLED, 'stream closed while waiting to write')); };
    const onError = (err: unknown) => { cleanup(); reject(err); };
    stream.on('drain', onDrain);
    stream.on('close', onClose);
    stream.on('error', onError);
  });
}

/**
 * Reads a duplex call without destroying it at the end: a plain `for await` over a Node
 * readable destroys the stream when the loop ends, which for a gRPC duplex call also
 * kills the writing side before the response and status are sent.
 */
export function readKeepingWritable<T>(call: { iterator(options: { destroyOnReturn: boolean }): AsyncIterableIterator<unknown> }): AsyncIterable<T> {
  return call.iterator({ destroyOnReturn: false }) as AsyncIterable<T>;
}

/** The part of a Node readable (a grpc-js server call) that `readServerCall` uses. */
interface ReadableCall {
  read(): unknown;
  readonly readableEnded: boolean;
  readonly destroyed: boolean;
  readonly errored: Error | null;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}

/**
 * Reads a server call's messages, like `readKeepingWritable`, but never destroys the call,
 * not even when it sees an error. A handler ends a failed call by emitting 'error' on it
 * (grpc-js then ends the writing side and sends the status); Node's own async iterator,
 * if a read is pending then, destroys the stream first, so the status is never sent and
 * the client waits for its deadline. That happens whenever a handler fails while waiting
 * for the client's next message (a runner error answered before the client sends more).
 */
export function readServerCall<T>(call: ReadableCall): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        const message = call.read();
        if (message !== null) {
          yield message as T;
          continue;
        }
        if (call.errored) throw call.errored;
        if (call.readableEnded) return;
        if (call.destroyed) throw new FlightError(Status.CANCELLED, 'the call was closed before its end');
        await new Promise<void>((resolve, reject) => {
          const settle = (err?: unknown) => {
            call.off('readable', onWake);
            call.off('end', onWake);
            call.off('close', onWake);
            call.off('error', onError);
            if (err === undefined) resolve();
            else reject(err);
          };
          const onWake = () => settle();
          const onError = (err: unknown) => settle(err);
          call.on('readable', onWake);
          call.on('end', onWake);
          call.on('close', onWake);
          call.on('error', onError);
        });
      }
    },
  };
}
