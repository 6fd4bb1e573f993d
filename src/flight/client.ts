/**
 * A Flight client on grpc-js: every RPC, async iterables in and out, deadlines and
 * cancellation on every call, and `grpc://`, `grpc+tls://` and `grpc+unix://` locations.
 */
import {
  Client, Metadata, credentials, type CallOptions as GrpcCallOptions, type ClientDuplexStream,
  type ClientReadableStream, type ChannelCredentials,
} from '@grpc/grpc-js';
import type { RecordBatch, Schema, Table } from 'apache-arrow';
import { descriptorToMessage, type FlightDescriptor } from './descriptor.js';
import type { EncoderOptions } from './encode.js';
import { FlightError, Status, fromGrpcError } from './errors.js';
import type { FlightData, MalformedFlightData, ReceivedFlightData } from './flight-data.js';
import { parseLocation } from './location.js';
import {
  decodeSchemaBytes, flightInfoFromMessage, pollInfoFromMessage,
  type Action, type ActionType, type FlightInfo, type FlightInfoMessage, type PollInfo, type PollInfoMessage,
} from './messages.js';
import { flightServiceDefinition, SERVICE_NAME } from './service.js';
import { FlightReader, FlightWriter, readKeepingWritable, writableSink, type FlightChunk } from './streams.js';
import { CONNECTION_WINDOW_BYTES, channelOptions } from './transport-options.js';

/** Per-call options. */
export interface CallOptions {
  /** An absolute deadline, or a timeout in milliseconds from now. */
  deadline?: Date | number;
  /** Cancels the call when aborted. */
  signal?: AbortSignal;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Client settings. */
export interface FlightClientOptions extends EncoderOptions {
  /** For `grpc+tls://`: trusted roots (PEM); default the system's. */
  rootCerts?: Buffer;
  /** For `grpc+tls://`: skip hostname checks (tests with self-signed certs). */
  tlsServerName?: string;
  /** A bearer token sent on every call. */
  token?: string;
  /** Largest message accepted, in bytes. Default: no limit. */
  maxReceiveMessageBytes?: number;
  /** Extra grpc-js channel options. */
  grpcOptions?: Record<string, unknown>;
}

/** The two ends of a DoExchange: write batches with `writer`, read results from `reader`. */
export interface ExchangeStream {
  writer: FlightWriter;
  reader: FlightReader;
  /** Half-closes the request side: no more batches will be written. */
  end(): void;
  /** Cancels the call. */
  cancel(): void;
}

/** The two ends of a DoPut. */
export interface PutStream {
  writer: FlightWriter;
  /** PutResult app_metadata messages from the server. */
  results: AsyncIterable<Uint8Array>;
  /** Half-closes the request side and waits for the server to finish. */
  finish(): Promise<Uint8Array[]>;
  cancel(): void;
}

type Method = { path: string; requestSerialize: (v: unknown) => Buffer; responseDeserialize: (b: Buffer) => unknown };
const method = (name: string) => flightServiceDefinition[name] as unknown as Method;

/**
 * @example
 * const client = await FlightClient.connect('grpc://127.0.0.1:8815');
 * for await (const info of client.listFlights()) console.log(info.descriptor);
 * const table = await client.doGet(ticket).readAll();
 */
export class FlightClient {
  private readonly grpc: Client;
  private readonly options: FlightClientOptions;
  private token?: string;

  constructor(location: string, options: FlightClientOptions = {}) {
    const loc = parseLocation(location);
    let creds: ChannelCredentials;
    const channel: Record<string, unknown> = {
      ...channelOptions(options.maxReceiveMessageBytes),
      'grpc-node.flow_control_window': CONNECTION_WINDOW_BYTES,
      ...options.grpcOptions,
    };
    if (loc.scheme === 'grpc+tls') {
      creds = credentials.createSsl(options.rootCerts ?? null);
      if (options.tlsServerName) channel['grpc.ssl_target_name_override'] = options.tlsServerName;
    } else {
      creds = credentials.createInsecure();
    }
    this.grpc = new Client(loc.grpcAddress, creds, channel);
    this.options = options;
    this.token = options.token;
  }

  /** Creates a client and waits until its channel is connected (or the deadline passes). */
  static async connect(location: string, options: FlightClientOptions & { timeoutMs?: number } = {}): Promise<FlightClient> {
    const client = new FlightClient(location, options);
    await new Promise<void>((resolve, reject) =>
      client.grpc.waitForReady(Date.now() + (options.timeoutMs ?? 10_000), (err) => {
        if (!err) return resolve();
        client.close();
        // No server there (yet): the status a client retries on, not an INTERNAL error.
        reject(new FlightError(Status.UNAVAILABLE, `cannot connect to ${location}: ${err.message}`, { cause: err }));
      }));
    return client;
  }

  /** Closes the channel. */
  close(): void {
    this.grpc.close();
  }

  /**
   * Handshake with Basic credentials; the bearer token the server returns is kept and
   * sent on every later call (the pyarrow `authenticate_basic_token` flow).
   */
  async authenticateBasic(username: string, password: string, options: CallOptions = {}): Promise<string> {
    const md = this.metadata(options);
    md.set('authorization', `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
    const m = method('Handshake');
    const call = this.grpc.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, md, this.callOptions(options));
    const token = await new Promise<string>((resolve, reject) => {
      let found: string | undefined;
      call.on('metadata', (headers: Metadata) => {
        const value = headers.get('authorization')[0];
        const match = value === undefined ? null : /^Bearer\s+(.+)$/i.exec(String(value));
        if (match) found = match[1]!;
      });
      call.on('data', () => {});
      call.on('error', (err) => reject(fromGrpcError(err)));
      call.on('end', () => (found ? resolve(found) : reject(fromGrpcError({ code: 16, details: 'server returned no bearer token' }))));
      call.end();
    });
    this.token = token;
    return token;
  }

  /** Raw Handshake: sends payloads, returns the server's payloads. */
  async handshake(payloads: Uint8Array[], options: CallOptions = {}): Promise<Uint8Array[]> {
    const m = method('Handshake');
    const call = this.grpc.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.metadata(options), this.callOptions(options));
    for (const payload of payloads) call.write({ protocolVersion: 0, payload: Buffer.from(payload) });
    call.end();
    const out: Uint8Array[] = [];
    for await (const res of readStream<{ payload?: Uint8Array }>(readKeepingWritable(call))) out.push(new Uint8Array(res.payload ?? []));
    return out;
  }

  /** Streams the FlightInfo of every flight matching `criteria`. */
  async *listFlights(criteria: Uint8Array = new Uint8Array(0), options: CallOptions = {}): AsyncIterable<FlightInfo> {
    const call = this.serverStream('ListFlights', { expression: Buffer.from(criteria) }, options);
    for await (const m of readStream<FlightInfoMessage>(call)) yield flightInfoFromMessage(m);
  }

  async getFlightInfo(descriptor: FlightDescriptor, options: CallOptions = {}): Promise<FlightInfo> {
    return flightInfoFromMessage(await this.unary<FlightInfoMessage>('GetFlightInfo', descriptorToMessage(descriptor), options));
  }

  async pollFlightInfo(descriptor: FlightDescriptor, options: CallOptions = {}): Promise<PollInfo> {
    return pollInfoFromMessage(await this.unary<PollInfoMessage>('PollFlightInfo', descriptorToMessage(descriptor), options));
  }

  async getSchema(descriptor: FlightDescriptor, options: CallOptions = {}): Promise<Schema | undefined> {
    const res = await this.unary<{ schema?: Uint8Array }>('GetSchema', descriptorToMessage(descriptor), options);
    return decodeSchemaBytes(res.schema);
  }

  /** Fetches a stream by ticket. Read it with `readAll()`, `batches()` or `for await`. */
  doGet(ticket: Uint8Array | string, options: CallOptions = {}): FlightReader {
    const bytes = typeof ticket === 'string' ? Buffer.from(ticket) : Buffer.from(ticket);
    const call = this.serverStream('DoGet', { ticket: bytes }, options);
    return new FlightReader(readStream<ReceivedFlightData | MalformedFlightData>(call));
  }

  /** Opens a DoPut: write batches with `writer`, then `finish()`. */
  doPut(descriptor: FlightDescriptor, options: CallOptions = {}): PutStream {
    const call = this.bidi<FlightData, { appMetadata?: Uint8Array }>('DoPut', options);
    const writer = new FlightWriter(guardedSink(call), { ...this.options, descriptor });
    const results = (async function* () {
      for await (const r of readStream<{ appMetadata?: Uint8Array }>(readKeepingWritable(call))) yield new Uint8Array(r.appMetadata ?? []);
    })();
    return {
      writer,
      results,
      finish: async () => {
        if (!writer.schema) await writer.sendDescriptor();
        call.end();
        const out: Uint8Array[] = [];
        for await (const r of results) out.push(r);
        return out;
      },
      cancel: () => call.cancel(),
    };
  }

  /** Uploads a table in one DoPut; returns the server's PutResult metadata. */
  async putTable(descriptor: FlightDescriptor, table: Table, options: CallOptions = {}): Promise<Uint8Array[]> {
    const put = this.doPut(descriptor, options);
    try {
      await put.writer.writeTable(table);
    } catch (err) {
      // The server may have ended the call (bad data, auth): its status says why.
      const status = await put.finish().then(() => undefined, (e: unknown) => e);
      throw status ?? err;
    }
    return put.finish();
  }

  /** Opens a DoExchange. Write and read concurrently for large streams (see `exchange`). */
  doExchange(descriptor: FlightDescriptor, options: CallOptions = {}): ExchangeStream {
    const call = this.bidi<FlightData, ReceivedFlightData | MalformedFlightData>('DoExchange', options);
    const writer = new FlightWriter(guardedSink(call), { ...this.options, descriptor });
    const reader = new FlightReader(readStream<ReceivedFlightData | MalformedFlightData>(readKeepingWritable(call)));
    return { writer, reader, end: () => call.end(), cancel: () => call.cancel() };
  }

  /**
   * Streams `input` through a DoExchange and yields what comes back, writing and reading
   * at once so that neither side's flow-control window can deadlock the other.
   */
  async *exchange(
    descriptor: FlightDescriptor,
    input: AsyncIterable<RecordBatch | FlightChunk> | Iterable<RecordBatch | FlightChunk>,
    options: CallOptions & { schema?: Schema } = {},
  ): AsyncIterable<FlightChunk> {
    const ex = this.doExchange(descriptor, options);
    let writeError: unknown;
    const writing = (async () => {
      try {
        if (options.schema) await ex.writer.begin(options.schema);
        for await (const item of input) {
          const chunk: FlightChunk = isChunk(item) ? item : { batch: item };
          if (chunk.batch) await ex.writer.write(chunk.batch, chunk.appMetadata);
          else if (chunk.appMetadata) await ex.writer.writeMetadata(chunk.appMetadata);
        }
        if (!ex.writer.schema) await ex.writer.sendDescriptor();
        ex.end();
      } catch (err) {
        writeError = err;
        ex.cancel();
      }
    })();
    try {
      for await (const chunk of ex.reader) yield chunk;
    } catch (err) {
      throw writeError ?? err;
    } finally {
      ex.cancel();
      await writing;
    }
    if (writeError) throw writeError;
  }

  /** Runs an action and collects its results. */
  async *doAction(action: Action | string, body?: Uint8Array | string, options: CallOptions = {}): AsyncIterable<Uint8Array> {
    const a: Action = typeof action === 'string'
      ? { type: action, body: typeof body === 'string' ? Buffer.from(body) : (body ?? new Uint8Array(0)) }
      : action;
    const call = this.serverStream('DoAction', { type: a.type, body: Buffer.from(a.body) }, options);
    for await (const r of readStream<{ body?: Uint8Array }>(call)) yield new Uint8Array(r.body ?? []);
  }

  async *listActions(options: CallOptions = {}): AsyncIterable<ActionType> {
    const call = this.serverStream('ListActions', {}, options);
    for await (const r of readStream<{ type?: string; description?: string }>(call)) {
      yield { type: r.type ?? '', description: r.description ?? '' };
    }
  }

  private metadata(options: CallOptions): Metadata {
    const md = new Metadata();
    if (this.token) md.set('authorization', `Bearer ${this.token}`);
    for (const [k, v] of Object.entries(options.headers ?? {})) md.set(k, v);
    return md;
  }

  private callOptions(options: CallOptions): GrpcCallOptions {
    const out: GrpcCallOptions = {};
    if (options.deadline !== undefined) {
      out.deadline = options.deadline instanceof Date ? options.deadline : Date.now() + options.deadline;
    }
    return out;
  }

  /**
   * Cancels `call` when the caller's signal aborts. The listener goes once the call has its
   * status: callers share one signal across many calls, and each listener would otherwise
   * hold its finished call until the signal itself goes.
   */
  private withSignal<C extends { cancel(): void; once(event: 'status', listener: () => void): unknown }>(call: C, options: CallOptions): C {
    const signal = options.signal;
    if (signal) {
      if (signal.aborted) call.cancel();
      else {
        const onAbort = () => call.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
        call.once('status', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return call;
  }

  private unary<Res>(name: string, request: unknown, options: CallOptions): Promise<Res> {
    const m = method(name);
    return new Promise<Res>((resolve, reject) => {
      const call = this.grpc.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request,
        this.metadata(options), this.callOptions(options), (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res as Res)));
      this.withSignal(call, options);
    });
  }

  private serverStream(name: string, request: unknown, options: CallOptions): ClientReadableStream<unknown> {
    const m = method(name);
    return this.withSignal(this.grpc.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, request,
      this.metadata(options), this.callOptions(options)), options);
  }

  private bidi<Req, Res>(name: string, options: CallOptions): ClientDuplexStream<Req, Res> {
    const m = method(name);
    return this.withSignal(this.grpc.makeBidiStreamRequest(m.path, m.requestSerialize as (v: Req) => Buffer,
      m.responseDeserialize as (b: Buffer) => Res, this.metadata(options), this.callOptions(options)), options);
  }
}

/** Re-exported for callers that build paths themselves. */
export { SERVICE_NAME };

function isChunk(x: RecordBatch | FlightChunk): x is FlightChunk {
  return !('numRows' in x);
}

/** A grpc-js readable as an async iterable whose errors are FlightErrors. */
async function* readStream<T>(call: AsyncIterable<unknown>): AsyncIterable<T> {
  try {
    for await (const item of call) yield item as T;
  } catch (err) {
    throw fromGrpcError(err);
  }
}

/** Writes to a client call; a write on a call the server has ended reports its status. */
function guardedSink(call: ClientDuplexStream<FlightData, unknown>) {
  const write = writableSink<FlightData>(call);
  return async (data: FlightData) => {
    try {
      await write(data);
    } catch (err) {
      throw fromGrpcError(err);
    }
  };
}
