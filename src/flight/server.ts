/**
 * A Flight server on grpc-js. Users implement the RPCs they serve as async functions
 * over batches; everything else answers UNIMPLEMENTED. Handlers never see protobuf or
 * Node streams: they get descriptors, tickets, FlightReaders and FlightWriters.
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Session, ServerHttp2Stream } from 'node:http2';
import {
  Metadata, Server, ServerCredentials,
  type sendUnaryData, type ServerDuplexStream, type ServerUnaryCall, type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { Schema } from 'apache-arrow';
import { authenticateCall, authenticateHandshake, type ServerAuth } from './auth.js';
import { descriptorFromMessage, type FlightDescriptor, type FlightDescriptorMessage } from './descriptor.js';
import type { EncoderOptions } from './encode.js';
import { FlightError, Status, toGrpcStatus } from './errors.js';
import type { FlightData, MalformedFlightData, ReceivedFlightData } from './flight-data.js';
import { tcpLocation } from './location.js';
import {
  flightInfoToMessage, pollInfoToMessage, type Action, type ActionType, type FlightInfo, type PollInfo,
} from './messages.js';
import { DEFAULT_MAX_MESSAGE_BYTES, ReceiveBudget } from './receive-budget.js';
import { flightServiceDefinition } from './service.js';
import { FlightReader, FlightWriter, readKeepingWritable, readServerCall, writableSink } from './streams.js';
import { encodeSchemaBytes } from './encode.js';
import { STREAM_WINDOW_BYTES, channelOptions, serverConnectionWindowBytes } from './transport-options.js';
import { Http2DataCall, type CallTracker } from './http2/data-call.js';
import { decodeTicket, encodePutResult } from './http2/messages.js';
import { takeOverDataStreams } from './http2/takeover.js';
import { watchSession } from './http2/session-watch.js';
import type { DataRpc } from './http2/wire.js';

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Request headers. */
  metadata: Metadata;
  /** The client's address. */
  peer: string;
  /** Aborted when the client cancels or its deadline passes. */
  signal: AbortSignal;
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
   * container's) memory. Applies to the data RPCs on the http2 data path.
   */
  receiveBudgetBytes?: number;
  /** Check a bearer token on every call (and Basic credentials on Handshake). */
  auth?: ServerAuth;
  /** Serve TLS with this PEM key pair; with `rootCerts`, clients must present a certificate signed by them (mutual TLS). */
  tls?: { certChain: Buffer; privateKey: Buffer; rootCerts?: Buffer };
  /** Extra grpc-js server options. */
  grpcOptions?: Record<string, unknown>;
  /**
   * Who serves DoGet, DoPut and DoExchange. 'http2' (default): gRPC frames written and
   * read on the node:http2 streams directly (src/flight/http2/), so batch bodies are sent
   * without copies and received with one; grpc-js still serves every other RPC on the
   * same port. 'grpc-js': grpc-js serves every RPC, with a copy of each message on each
   * side. Without this option, the environment variable FLIGHT_RUNNER_DATA_PATH=grpc-js
   * selects grpc-js; any other value, or none, selects http2.
   */
  dataPath?: 'http2' | 'grpc-js';
}

/**
 * Largest message of a control RPC (Handshake, ListFlights, GetFlightInfo, PollFlightInfo,
 * GetSchema, DoAction, ListActions) on the http2 data path: descriptors, tickets and
 * action bodies, never batches.
 */
export const CONTROL_MESSAGE_MAX_BYTES = 16 * 1024 * 1024;

/** An address to listen on: TCP host and port (0 picks a free one) or a unix socket. */
export type ListenAddress = { host?: string; port: number } | { socketPath: string };

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
  private readonly grpcServer: Server;
  private readonly handlers: FlightHandlers;
  private readonly options: FlightServerOptions;
  private readonly activeCalls = new Set<AbortController>();
  private readonly maxReceiveMessageBytes: number;
  /** Bytes of incoming messages held now, server-wide. */
  readonly receiveBudget: ReceiveBudget;
  /** Locations this server listens on, in the order they were bound. */
  readonly locations: string[] = [];

  constructor(handlers: FlightHandlers, options: FlightServerOptions = {}) {
    this.handlers = handlers;
    this.options = options;
    this.maxReceiveMessageBytes = options.maxReceiveMessageBytes !== undefined && options.maxReceiveMessageBytes >= 0
      ? options.maxReceiveMessageBytes
      : DEFAULT_MAX_MESSAGE_BYTES;
    this.receiveBudget = new ReceiveBudget(options.receiveBudgetBytes);
    // On the http2 data path grpc-js serves only the control RPCs, whose messages are small:
    // a tight limit keeps a caller from making it buffer gigabytes outside the receive budget.
    const grpcLimit = this.dataPath === 'http2' ? Math.min(this.maxReceiveMessageBytes, CONTROL_MESSAGE_MAX_BYTES) : this.maxReceiveMessageBytes;
    this.grpcServer = new Server({ ...channelOptions(grpcLimit), ...options.grpcOptions });
    this.grpcServer.addService(flightServiceDefinition, this.implementation());
  }

  /** Binds and starts serving. Resolves with the real port (for port 0) and the location URI. */
  async listen(address: ListenAddress): Promise<{ port: number; location: string }> {
    const tls = this.options.tls;
    const creds = tls
      ? ServerCredentials.createSsl(tls.rootCerts ?? null, [{ cert_chain: tls.certChain, private_key: tls.privateKey }], Boolean(tls.rootCerts))
      : ServerCredentials.createInsecure();
    const target = 'socketPath' in address ? `unix:${address.socketPath}` : `${address.host ?? '127.0.0.1'}:${address.port}`;
    const port = await new Promise<number>((resolve, reject) =>
      this.grpcServer.bindAsync(target, creds, (err, p) => (err ? reject(err) : resolve(p))));
    this.setFlowControlWindows();
    if (this.dataPath === 'http2') {
      takeOverDataStreams(this.grpcServer, (rpc, stream, headers, tracker) => this.serveDataStream(rpc, stream, headers, tracker));
    }
    const location = 'socketPath' in address
      ? `grpc+unix://${address.socketPath}`
      : tcpLocation(address.host ?? '127.0.0.1', port, Boolean(tls));
    this.locations.push(location);
    return { port, location };
  }

  /**
   * Stops accepting calls and waits for the running ones to finish; after `graceMs` it
   * cancels what is left.
   */
  async close(graceMs = 10_000): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const call of this.activeCalls) call.abort(FlightError.unavailable('server shutting down'));
        this.grpcServer.forceShutdown();
        resolve();
      }, graceMs);
      timer.unref();
      this.grpcServer.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Who serves the data RPCs (see FlightServerOptions.dataPath). */
  get dataPath(): 'http2' | 'grpc-js' {
    const chosen = this.options.dataPath ?? process.env['FLIGHT_RUNNER_DATA_PATH'];
    return chosen === 'grpc-js' ? 'grpc-js' : 'http2';
  }

  /** Number of calls being served now. */
  get activeCallCount(): number {
    return this.activeCalls.size;
  }

  /**
   * grpc-js has no server option for HTTP/2 windows, so set them on each new session of
   * the HTTP/2 servers it created: a wide stream window for bulk calls, and a connection
   * window below what the transport's kernel buffers hold, which is what keeps two
   * node:http2 peers streaming both ways from stalling each other (see
   * serverConnectionWindowBytes in transport-options.ts).
   */
  private setFlowControlWindows(): void {
    const servers = (this.grpcServer as unknown as { http2Servers?: Map<Http2Server, unknown> }).http2Servers;
    for (const http2Server of servers?.keys() ?? []) {
      if ((http2Server as unknown as { flightWindows?: boolean }).flightWindows) continue;
      (http2Server as unknown as { flightWindows?: boolean }).flightWindows = true;
      http2Server.on('session', (session: ServerHttp2Session) => {
        // A server bound to a unix socket reports its path as its address.
        const transport = typeof http2Server.address() === 'string' ? 'unix' : 'tcp';
        session.settings({ initialWindowSize: STREAM_WINDOW_BYTES });
        session.setLocalWindowSize(serverConnectionWindowBytes(transport));
        watchSession(session);
      });
    }
  }

  private async context(call: { metadata: Metadata; getPeer(): string; getDeadline(): unknown; on(e: string, f: () => void): unknown }, controller: AbortController): Promise<CallContext> {
    // grpc-js also emits 'cancelled' when a finished call's stream closes; building an
    // error and aborting then costs a stack capture and an abort event for nothing.
    call.on('cancelled', () => {
      if (this.activeCalls.has(controller)) controller.abort(new FlightError(Status.CANCELLED, 'client cancelled the call'));
    });
    const deadline = call.getDeadline();
    const ctx: CallContext = { metadata: call.metadata, peer: call.getPeer(), signal: controller.signal };
    if (deadline instanceof Date) ctx.deadline = deadline;
    else if (typeof deadline === 'number' && Number.isFinite(deadline)) ctx.deadline = new Date(deadline);
    if (this.options.auth) ctx.identity = await authenticateCall(this.options.auth, call.metadata);
    return ctx;
  }

  /** DoGet, DoPut and DoExchange on the node:http2 data path: the same handlers, other transport. */
  private serveDataStream(rpc: DataRpc, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, tracker?: CallTracker): void {
    const call = new Http2DataCall(rpc, stream, headers, { maxReceiveMessageBytes: this.maxReceiveMessageBytes, budget: this.receiveBudget, ...(tracker ? { tracker } : {}) });
    const h = this.handlers;
    const missing = (name: string) => FlightError.unimplemented(`${name} is not implemented by this server`);
    void this.track(async (controller) => {
      call.onCancel((reason) => {
        if (this.activeCalls.has(controller)) controller.abort(reason);
      });
      try {
        const ctx: CallContext = { metadata: call.metadata, peer: call.peer, signal: controller.signal };
        if (call.deadline) ctx.deadline = call.deadline;
        if (this.options.auth) ctx.identity = await authenticateCall(this.options.auth, call.metadata);
        if (rpc === 'DoGet') {
          if (!h.doGet) throw missing('DoGet');
          const ticket = decodeTicket(await call.single());
          await h.doGet(ticket, new FlightWriter(call.sendFlightData, this.options), ctx);
        } else if (rpc === 'DoPut') {
          if (!h.doPut) throw missing('DoPut');
          const input = await new FlightReader(call.flightData()).open();
          await h.doPut(input, { write: (m) => call.sendMessage(encodePutResult(m)) }, ctx);
        } else {
          if (!h.doExchange) throw missing('DoExchange');
          const input = await new FlightReader(call.flightData()).open();
          await h.doExchange(input, new FlightWriter(call.sendFlightData, this.options), ctx);
        }
        call.end();
      } catch (err) {
        call.end(err);
      }
    });
  }

  private track<T>(run: (controller: AbortController) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.activeCalls.add(controller);
    return run(controller).finally(() => this.activeCalls.delete(controller));
  }

  private implementation(): UntypedServiceImplementation {
    const h = this.handlers;
    const missing = (rpc: string) => FlightError.unimplemented(`${rpc} is not implemented by this server`);

    const unary = <Req, Res>(rpc: string, run: (req: Req, ctx: CallContext) => Promise<Res>) =>
      (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
        void this.track(async (controller) => {
          try {
            const ctx = await this.context(call, controller);
            callback(null, await run(call.request, ctx));
          } catch (err) {
            callback(toGrpcStatus(err));
          }
        });
        void rpc;
      };

    const serverStream = <Req, Res>(run: (req: Req, ctx: CallContext) => Many<Res>) =>
      (call: ServerWritableStream<Req, Res>) => {
        void this.track(async (controller) => {
          try {
            const ctx = await this.context(call, controller);
            const write = writableSink(call);
            for await (const item of run(call.request, ctx)) await write(item);
            call.end();
          } catch (err) {
            failStream(call, err);
          }
        });
      };

    return {
      Handshake: (call: ServerDuplexStream<{ payload?: Uint8Array }, { payload: Uint8Array }>) => {
        void this.track(async (controller) => {
          try {
            const auth = this.options.auth;
            // With auth, Handshake answers OK only to a caller whose credentials are good.
            const login = auth ? await authenticateHandshake(auth, call.metadata) : undefined;
            if (login?.token !== undefined) {
              const md = new Metadata();
              md.set('authorization', `Bearer ${login.token}`);
              call.sendMetadata(md);
            }
            if (!h.handshake) {
              if (!auth) throw missing('Handshake');
              for await (const _ of readKeepingWritable(call)) { /* the token travels in headers; payloads are not used */ }
              call.end();
              return;
            }
            const ctx: CallContext = { metadata: call.metadata, peer: call.getPeer(), signal: controller.signal };
            if (login) ctx.identity = login.identity;
            const payloads = (async function* () { for await (const req of readKeepingWritable<{ payload?: Uint8Array }>(call)) yield new Uint8Array(req.payload ?? []); })();
            const write = writableSink(call);
            for await (const payload of h.handshake(payloads, ctx)) {
              await write({ payload: Buffer.from(payload) });
            }
            call.end();
          } catch (err) {
            failStream(call, err);
          }
        });
      },

      ListFlights: serverStream<{ expression?: Uint8Array }, unknown>((req, ctx) => {
        if (!h.listFlights) throw missing('ListFlights');
        return mapMany(h.listFlights(new Uint8Array(req.expression ?? []), ctx), flightInfoToMessage);
      }),

      GetFlightInfo: unary('GetFlightInfo', async (req: FlightDescriptorMessage, ctx) => {
        if (!h.getFlightInfo) throw missing('GetFlightInfo');
        return flightInfoToMessage(await h.getFlightInfo(descriptorFromMessage(req), ctx));
      }),

      PollFlightInfo: unary('PollFlightInfo', async (req: FlightDescriptorMessage, ctx) => {
        if (!h.pollFlightInfo) throw missing('PollFlightInfo');
        return pollInfoToMessage(await h.pollFlightInfo(descriptorFromMessage(req), ctx));
      }),

      GetSchema: unary('GetSchema', async (req: FlightDescriptorMessage, ctx) => {
        if (!h.getSchema) throw missing('GetSchema');
        const schema = await h.getSchema(descriptorFromMessage(req), ctx);
        return { schema: Buffer.from(encodeSchemaBytes(schema)) };
      }),

      DoGet: (call: ServerWritableStream<{ ticket?: Uint8Array }, FlightData>) => {
        void this.track(async (controller) => {
          try {
            const ctx = await this.context(call, controller);
            if (!h.doGet) throw missing('DoGet');
            const output = new FlightWriter(writableSink<FlightData>(call), this.options);
            await h.doGet(new Uint8Array(call.request.ticket ?? []), output, ctx);
            call.end();
          } catch (err) {
            failStream(call, err);
          }
        });
      },

      DoPut: (call: ServerDuplexStream<ReceivedFlightData | MalformedFlightData, { appMetadata: Buffer }>) => {
        void this.track(async (controller) => {
          try {
            const ctx = await this.context(call, controller);
            if (!h.doPut) throw missing('DoPut');
            const input = await new FlightReader(readServerCall<ReceivedFlightData | MalformedFlightData>(call)).open();
            const write = writableSink<{ appMetadata: Buffer }>(call);
            await h.doPut(input, { write: (m) => write({ appMetadata: Buffer.from(m) }) }, ctx);
            call.end();
          } catch (err) {
            failStream(call, err);
          }
        });
      },

      DoExchange: (call: ServerDuplexStream<ReceivedFlightData | MalformedFlightData, FlightData>) => {
        void this.track(async (controller) => {
          try {
            const ctx = await this.context(call, controller);
            if (!h.doExchange) throw missing('DoExchange');
            const input = await new FlightReader(readServerCall<ReceivedFlightData | MalformedFlightData>(call)).open();
            const output = new FlightWriter(writableSink<FlightData>(call), this.options);
            await h.doExchange(input, output, ctx);
            call.end();
          } catch (err) {
            failStream(call, err);
          }
        });
      },

      DoAction: serverStream<{ type?: string; body?: Uint8Array }, unknown>((req, ctx) => {
        if (!h.doAction) throw missing('DoAction');
        const action: Action = { type: req.type ?? '', body: new Uint8Array(req.body ?? []) };
        return mapMany(h.doAction(action, ctx), (body) => ({ body: Buffer.from(body) }));
      }),

      ListActions: serverStream<unknown, unknown>((_req, ctx) => {
        if (!h.listActions) throw missing('ListActions');
        return h.listActions(ctx);
      }),
    };
  }
}

async function* mapMany<T, U>(items: Many<T>, f: (t: T) => U): AsyncIterable<U> {
  for await (const item of items) yield f(item);
}

/** Ends a streaming call with the error's status (if the call is still open). */
function failStream(call: { emit(e: string, v: unknown): boolean; destroyed?: boolean }, err: unknown): void {
  const status = toGrpcStatus(err);
  if (!call.destroyed) call.emit('error', status);
}
