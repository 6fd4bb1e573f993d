/**
 * Routes the FlightData RPCs of a grpc-js Server's HTTP/2 servers to our own handler,
 * leaving every other stream to grpc-js.
 *
 * grpc-js creates one node:http2 server per bound address (its private `http2Servers`
 * map) and serves calls from a 'stream' listener on it. Sessions (connections) stay
 * entirely grpc-js's: its 'session' listener still tracks them, runs keepalive,
 * max-connection-age and idle timers, and tryShutdown/forceShutdown close them; a
 * graceful session close waits for every open stream, ours included. Only the 'stream'
 * listener is wrapped: a data-RPC stream goes to `serve`, anything else to grpc-js's
 * original listener(s), unchanged.
 */
import type { Http2Server, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Server } from '@grpc/grpc-js';
import type { CallTracker } from './data-call.js';
import { dataRpcOf, type DataRpc } from './wire.js';

/** What the takeover hands over for each data-RPC stream. */
export type DataStreamHandler = (rpc: DataRpc, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, tracker: CallTracker | undefined) => void;

const TAKEN = Symbol('flight-runner data path');

/** The grpc-js internals used here, all checked before use. */
interface GrpcServerInternals {
  http2Servers?: Map<Http2Server, unknown>;
  channelzEnabled?: boolean;
  callTracker?: { addCallStarted(): void; addCallSucceeded(): void; addCallFailed(): void };
  sessions?: Map<unknown, { streamTracker?: { addCallStarted(): void; addCallSucceeded(): void; addCallFailed(): void }; messagesSent: number; messagesReceived: number; lastMessageSentTimestamp: number | null; lastMessageReceivedTimestamp: number | null }>;
  /** Counts the stream as active on its session, for grpc.max_connection_idle_ms. */
  onStreamOpened?(stream: ServerHttp2Stream): void;
}

/**
 * Installs the data path on every HTTP/2 server `grpcServer` has created so far (call
 * after each bind). Returns false when grpc-js's internals are not as expected, so the
 * caller can keep grpc-js serving everything.
 */
export function takeOverDataStreams(grpcServer: Server, serve: DataStreamHandler): boolean {
  const internals = grpcServer as unknown as GrpcServerInternals;
  const servers = internals.http2Servers;
  if (!(servers instanceof Map)) return false;
  for (const http2Server of servers.keys()) {
    const marked = http2Server as unknown as { [TAKEN]?: boolean };
    if (marked[TAKEN]) continue;
    const original = http2Server.listeners('stream') as ((...args: unknown[]) => void)[];
    if (original.length === 0) return false;
    marked[TAKEN] = true;
    http2Server.removeAllListeners('stream');
    http2Server.on('stream', function (this: Http2Server, stream: ServerHttp2Stream, headers: IncomingHttpHeaders, ...rest: unknown[]) {
      const rpc = dataRpcOf(headers[':path']);
      const contentType = headers['content-type'];
      // Anything else, and requests grpc-js would refuse (not gRPC content), stay with grpc-js.
      if (rpc === undefined || typeof contentType !== 'string' || !contentType.startsWith('application/grpc')) {
        for (const listener of original) listener.call(this, stream, headers, ...rest);
        return;
      }
      // For the idle timeout (grpc.max_connection_idle_ms): the session has an active stream.
      internals.onStreamOpened?.call(grpcServer, stream);
      serve(rpc, stream, headers, internals.channelzEnabled ? channelzTracker(internals, stream) : undefined);
    });
  }
  return true;
}

/** The per-server and per-session call counters grpc-js's channelz handler keeps. */
function channelzTracker(internals: GrpcServerInternals, stream: ServerHttp2Stream): CallTracker | undefined {
  const server = internals.callTracker;
  const session = internals.sessions?.get(stream.session);
  if (!server) return undefined;
  return {
    onStart() {
      server.addCallStarted();
      session?.streamTracker?.addCallStarted();
    },
    onEnd(ok) {
      if (ok) server.addCallSucceeded();
      else server.addCallFailed();
      if (ok) session?.streamTracker?.addCallSucceeded();
      else session?.streamTracker?.addCallFailed();
    },
    onMessageSent() {
      if (!session) return;
      session.messagesSent += 1;
      session.lastMessageSentTimestamp = Date.now();
    },
    onMessageReceived() {
      if (!session) return;
      session.messagesReceived += 1;
      session.lastMessageReceivedTimestamp = Date.now();
    },
  };
}
