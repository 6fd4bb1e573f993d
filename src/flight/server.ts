/**
 * A Flight server on the project's own node:http2 gRPC server (src/flight/http2/). Users
 * implement the RPCs they serve as async functions over batches; everything else answers
 * UNIMPLEMENTED. Handlers never see protobuf or HTTP/2 streams: they get descriptors,
 * tickets, FlightReaders and FlightWriters.
 */
import type { Schema } from 'apache-arrow';
import { authenticateCall, authenticateHandshake, type ServerAuth } from './auth.js';
import type { FlightDescriptor } from './descriptor.js';
import type { EncoderOptions } from './encode.js';
import { FlightError } from './errors.js';
import { deserializeFlightData, encodeFlightDataFrame, type MalformedFlightData, type ReceivedFlightData } from './flight-data.js';
import { tcpLocation } from './location.js';
import type { Action, ActionType, FlightInfo, PollInfo } from './messages.js';
import {
  decodeAction, decodeCriteria, decodeEmpty, decodeFlightDescriptor, decodeHandshakeRequest, decodeTicket,
  encodeActionType, encodeFlightInfo, encodeHandshakeResponse, encodePollInfo, encodePutResult, encodeResult, encodeSchemaResult,
} from './proto-messages.js';
import { DEFAULT_MAX_MESSAGE_BYTES, ReceiveBudget } from './receive-budget.js';
import { SERVICE_NAME } from './service-name.js';
import { FlightReader, FlightWriter, type PollableFlightData, type RecyclingFlightData } from './streams.js';
import type { GrpcCall } from './http2/call.js';
import { GrpcHttp2Server, type GrpcMethod, type ListenAddress } from './http2/grpc-server.js';
import type { RequestMetadata } from './http2/metadata.js';

export type { ListenAddress } from './http2/grpc-server.js';
export type { GrpcMethod } from './http2/grpc-server.js';
export type { GrpcCall, MethodKind } from './http2/call.js';
export type { RequestMetadata, MetadataValue } from './http2/metadata.js';

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Request headers (gRPC metadata: `get(key)` gives every value, `-bin` keys as Buffers). */
  metadata: RequestMetadata;
  /** The client's address. */
  peer: string;
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
  /**
   * Calls `listener` once with the reason when `signal` aborts (at once if it has):
   * for a handler that only needs telling, without the AbortSignal reading `signal`
   * makes per call. Optional: a context without it is told through `signal` only.
   */
  onAbort?(listener: (reason: FlightError) => void): void;
  /** The client's deadline, if it set one. */
  deadline?: Date;
  /** Who the caller is, when the server authenticates. */
  identity?: string;
}

type Awaitable<T> = T | Promise<T>;
type Many<T> = Iterable<T> | AsyncIterable<T>;

/** A writer for DoPut's PutResult messages. */
export interface PutResultWriter {
  write(appMetadata: Uint8Array): Promise<void>;
}

/**
 * The RPCs a Flight server may implement. Each is optional; a missing one answers
 * UNIMPLEMENTED. Throw a FlightError to answer with its status.
 */
export interface FlightHandlers {
  handshake?(requests: AsyncIterable<Uint8Array>, ctx: CallContext): Many<Uint8Array>;
  listFlights?(criteria: Uint8Array, ctx: CallContext): Many<FlightInfo>;
  getFlightInfo?(descriptor: FlightDescriptor, ctx: CallContext): Awaitable<FlightInfo>;
  pollFlightInfo?(descriptor: FlightDescriptor, ctx: CallContext): Awaitable<PollInfo>;
  getSchema?(descriptor: FlightDescriptor, ctx: CallContext): Awaitable<Schema>;
  doGet?(ticket: Uint8Array, output: FlightWriter, ctx: CallContext): Awaitable<void>;
  doPut?(input: FlightReader, results: PutResultWriter, ctx: CallContext): Awaitable<void>;
  doExchange?(input: FlightReader, output: FlightWriter, ctx: CallContext): Awaitable<void>;
  doAction?(action: Action, ctx: CallContext): Many<Uint8Array>;
  listActions?(ctx: CallContext): Many<ActionType>;
}

/** Server settings. */
export interface FlightServerOptions extends EncoderOptions {
  /**
   * Largest message accepted, in bytes, before and after decompression. Default 2 GiB - 1,
   * gRPC's own ceiling, as Arrow C++ Flight servers use (a larger one is refused with
   * RESOURCE_EXHAUSTED before anything is allocated).
   */
  maxReceiveMessageBytes?: number;
  /**
   * Server-wide budget for bytes held in request messages not yet read by their calls
   * (received in part, or complete and waiting). A message that would take the total past
   * it is refused with RESOURCE_EXHAUSTED. Default: a quarter of the machine's (or the
   * container's) memory. Applies to every request message of every RPC.
   */
  receiveBudgetBytes?: number;
  /** Check a bearer token on every call (and Basic credentials on Handshake). */
  auth?: ServerAuth;
  /** Serve TLS with this PEM key pair; with `rootCerts`, clients must present a certificate signed by them (mutual TLS). */
  tls?: { certChain: Buffer; privateKey: Buffer; rootCerts?: Buffer };
}

/**
 * Largest message of a control RPC (Handshake, ListFlights, GetFlightInfo, PollFlightInfo,
 * GetSchema, DoAction, ListActions): descriptors, criteria and action bodies, never
 * batches, so a caller cannot make the server hold gigabytes for them.
 */
export const CONTROL_MESSAGE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * @example
 * const server = new FlightServer({
 *   async doExchange(input, output) {
 *     for await (const { batch, appMetadata } of input) if (batch) await output.write(batch, appMetadata);
 *   },
 * });
 * const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
 */
export class FlightServer {
  private readonly grpc: GrpcHttp2Server;
  private readonly handlers: FlightHandlers;
  private readonly options: FlightServerOptions;
  /** Bytes of incoming messages held now, server-wide. */
  readonly receiveBudget: ReceiveBudget;
  /** Locations this server listens on, in the order they were bound. */
  readonly locations: string[] = [];

  constructor(handlers: FlightHandlers, options: FlightServerOptions = {}) {
    this.handlers = handlers;
    this.options = options;
    const maxReceiveMessageBytes = options.maxReceiveMessageBytes !== undefined && options.maxReceiveMessageBytes >= 0
      ? options.maxReceiveMessageBytes
      : DEFAULT_MAX_MESSAGE_BYTES;
    this.receiveBudget = new ReceiveBudget(options.receiveBudgetBytes);
    this.grpc = new GrpcHttp2Server({
      maxReceiveMessageBytes, budget: this.receiveBudget, ...(options.tls ? { tls: options.tls } : {}),
    });
    this.grpc.addService(SERVICE_NAME, this.flightMethods());
  }

  /**
   * Serves another gRPC service on the same port(s), routed by `:path`
   * (`/<serviceName>/<method>`). Its calls share the message limit and the receive budget.
   */
  addService(serviceName: string, methods: Record<string, GrpcMethod>): void {
    this.grpc.addService(serviceName, methods);
  }

  /** Binds and starts serving. Resolves with the real port (for port 0) and the location URI. */
  async listen(address: ListenAddress): Promise<{ port: number; location: string }> {
    const port = await this.grpc.listen(address);
    const location = 'socketPath' in address
      ? `grpc+unix://${address.socketPath}`
      : tcpLocation(address.host ?? '127.0.0.1', port, Boolean(this.options.tls));
    this.locations.push(location);
    return { port, location };
  }

  /**
   * Stops accepting calls and waits for the running ones to finish; after `graceMs` it
   * cancels what is left (UNAVAILABLE) and closes the connections.
   */
  close(graceMs = 10_000): Promise<void> {
    return this.grpc.close(graceMs);
  }

  /** Number of calls being served now. */
  get activeCallCount(): number {
    return this.grpc.activeCallCount;
  }

  /** What the handler of a call gets to know about it; authenticates the caller when the server has auth. */
  private context(call: GrpcCall): CallContext | Promise<CallContext> {
    const ctx = callContext(call);
    const auth = this.options.auth;
    // Without auth, no promise: a call's context is ready at once.
    if (!auth) return ctx;
    return authenticateCall(auth, call.metadata).then((identity) => {
      ctx.identity = identity;
      return ctx;
    });
  }

  /** The ten Flight RPCs as methods of the gRPC server. */
  private flightMethods(): Record<string, GrpcMethod> {
    const h = this.handlers;
    const options = this.options;
    const missing = (rpc: string) => FlightError.unimplemented(`${rpc} is not implemented by this server`);
    const control = CONTROL_MESSAGE_MAX_BYTES;
    const flightData = (call: GrpcCall) => new CallFlightData(call);
    const writer = (call: GrpcCall) => new FlightWriter((data) => call.sendFrame(encodeFlightDataFrame(data)), options, call);

    /** A unary RPC: one request, one answer. */
    const unary = (run: (request: Buffer, ctx: CallContext) => Promise<Uint8Array>): GrpcMethod => ({
      kind: 'unary',
      maxRequestBytes: control,
      handler: async (call) => {
        const ctx = await this.context(call);
        await call.sendMessage(await run(await call.single(), ctx));
      },
    });
    /** A server-streaming control RPC: one request, any number of answers. */
    const serverStream = (run: (request: Buffer, ctx: CallContext) => Many<Uint8Array>): GrpcMethod => ({
      kind: 'serverStream',
      maxRequestBytes: control,
      handler: async (call) => {
        const ctx = await this.context(call);
        for await (const message of run(await call.single(), ctx)) await call.sendMessage(message);
      },
    });

    return {
      Handshake: {
        kind: 'bidi',
        maxRequestBytes: control,
        handler: async (call) => {
          const auth = options.auth;
          // With auth, Handshake answers OK only to a caller whose credentials are good.
          const login = auth ? await authenticateHandshake(auth, call.metadata) : undefined;
          if (login?.token !== undefined) call.sendHeaders({ authorization: `Bearer ${login.token}` });
          if (!h.handshake) {
            if (!auth) throw missing('Handshake');
            for await (const _ of call.messages()) { /* the token travels in headers; payloads are not used */ }
            return;
          }
          const ctx = callContext(call);
          if (login) ctx.identity = login.identity;
          const payloads = (async function* () { for await (const m of call.messages()) yield decodeHandshakeRequest(m); })();
          for await (const payload of h.handshake(payloads, ctx)) await call.sendMessage(encodeHandshakeResponse(payload));
        },
      },

      ListFlights: serverStream((req, ctx) => {
        if (!h.listFlights) throw missing('ListFlights');
        return mapMany(h.listFlights(decodeCriteria(req), ctx), encodeFlightInfo);
      }),

      GetFlightInfo: unary(async (req, ctx) => {
        if (!h.getFlightInfo) throw missing('GetFlightInfo');
        return encodeFlightInfo(await h.getFlightInfo(decodeFlightDescriptor(req), ctx));
      }),

      PollFlightInfo: unary(async (req, ctx) => {
        if (!h.pollFlightInfo) throw missing('PollFlightInfo');
        return encodePollInfo(await h.pollFlightInfo(decodeFlightDescriptor(req), ctx));
      }),

      GetSchema: unary(async (req, ctx) => {
        if (!h.getSchema) throw missing('GetSchema');
        return encodeSchemaResult(await h.getSchema(decodeFlightDescriptor(req), ctx));
      }),

      DoAction: serverStream((req, ctx) => {
        if (!h.doAction) throw missing('DoAction');
        return mapMany(h.doAction(decodeAction(req), ctx), encodeResult);
      }),

      ListActions: serverStream((req, ctx) => {
        if (!h.listActions) throw missing('ListActions');
        decodeEmpty(req);
        return mapMany(h.listActions(ctx), encodeActionType);
      }),

      DoGet: {
        // Its Ticket has the data RPCs' limit (maxReceiveMessageBytes), as documented in docs/security.md.
        kind: 'serverStream',
        handler: async (call) => {
          const ctx = await this.context(call);
          if (!h.doGet) throw missing('DoGet');
          const ticket = decodeTicket(await call.single());
          await h.doGet(ticket, writer(call), ctx);
        },
      },

      DoPut: {
        kind: 'bidi',
        handler: async (call) => {
          const ctx = await this.context(call);
          if (!h.doPut) throw missing('DoPut');
          const input = await new FlightReader(flightData(call)).open();
          await h.doPut(input, { write: (m) => call.sendMessage(encodePutResult(m)) }, ctx);
        },
      },

      DoExchange: {
        kind: 'bidi',
        // Without async/await where nothing waits: a one-row call's handler is mostly this.
        handler: (call) => {
          // Authenticated first (the context), then UNIMPLEMENTED: as every other RPC.
          const exchange = (ctx: CallContext) => {
            if (!h.doExchange) throw missing('DoExchange');
            return new FlightReader(flightData(call)).open().then((input) => h.doExchange!(input, writer(call), ctx));
          };
          const context = this.context(call);
          return context instanceof Promise ? context.then(exchange) : exchange(context);
        },
      },
    };
  }
}

/**
 * What a handler knows of `call`. `signal` is read through: the call makes its
 * AbortSignal only when someone asks for it. (A class: an object literal with a getter
 * cost a one-row call ~1.5 us.)
 */
class GrpcCallContext implements CallContext {
  readonly metadata: RequestMetadata;
  readonly peer: string;
  readonly deadline?: Date;
  identity?: string;

  constructor(private readonly call: GrpcCall) {
    this.metadata = call.metadata;
    this.peer = call.peer;
    if (call.deadline) this.deadline = call.deadline;
  }

  get signal(): AbortSignal {
    return this.call.signal;
  }

  onAbort(listener: (reason: FlightError) => void): void {
    this.call.onAbort(listener);
  }
}

function callContext(call: GrpcCall): CallContext {
  return new GrpcCallContext(call);
}

/**
 * A call's request messages as FlightData, for a FlightReader. Each message buffer is
 * this call's own, so the deserializer may realign in place. A plain iterator, not an
 * async generator: each generator layer costs a message several more promise turns.
 */
class CallFlightData implements AsyncIterable<ReceivedFlightData | MalformedFlightData>, PollableFlightData, RecyclingFlightData {
  constructor(private readonly call: GrpcCall) {}

  recycle(body: Uint8Array): void {
    this.call.recycleMessage(body);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ReceivedFlightData | MalformedFlightData>> {
    return this.call.nextMessage().then(flightDataResult);
  }

  poll(): IteratorResult<ReceivedFlightData | MalformedFlightData> | undefined {
    const message = this.call.pollMessage();
    return message === undefined ? undefined : flightDataResult(message ?? undefined);
  }
}

const END_OF_MESSAGES: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

function flightDataResult(message: Buffer | undefined): IteratorResult<ReceivedFlightData | MalformedFlightData> {
  return message ? { done: false, value: deserializeFlightData(message) } : END_OF_MESSAGES;
}

async function* mapMany<T, U>(items: Many<T>, f: (t: T) => U): AsyncIterable<U> {
  for await (const item of items) yield f(item);
}
