/**
 * The server's HTTP/2 flow control against node:http2 peers. A node:http2 session stops
 * reading its socket while one of its own socket writes is pending, so a server and a
 * grpc-js client that both stream large data could wait for each other forever. The
 * server prevents it by advertising a connection window below what the kernel buffers
 * between the two (serverConnectionWindowBytes in transport-options.ts). These tests
 * check the advertised windows on the wire and stream large two-way exchanges, with
 * slow readers, on both data paths and both transports.
 */
import test from 'ava';
import { RawHttp2Client, grpcPrefix } from '../helpers/raw-http2.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Float64, makeData, RecordBatch, Schema, Field, Struct } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightServer, Status, type FlightServerOptions } from '../../src/flight/index.js';
import { CONTROL_MESSAGE_MAX_BYTES } from '../../src/flight/server.js';
import {
  READING_PEER_CONNECTION_WINDOW_BYTES, SERVER_TCP_CONNECTION_WINDOW_BYTES, SERVER_UNIX_CONNECTION_WINDOW_BYTES, STREAM_WINDOW_BYTES,
} from '../../src/flight/transport-options.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';

const MiB = 1024 * 1024;

function batchOfBytes(bytes: number): RecordBatch {
  const values = new Float64Array(bytes / 8).map((_, i) => i);
  const schema = new Schema([new Field('v', new Float64(), false)]);
  const column = makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [column] }));
}

/** A memory server (its DoExchange 'echo' sends every batch back) on TCP or a unix socket, and a client. */
async function start(transport: 'tcp' | 'unix', options: FlightServerOptions = {}, handlers = memoryServerHandlers([])) {
  const dir = transport === 'unix' ? mkdtempSync(join(tmpdir(), 'flight-flow-')) : undefined;
  const server = new FlightServer(handlers, options);
  const { location } = await server.listen(dir ? { socketPath: join(dir, 'flight.sock') } : { host: '127.0.0.1', port: 0 });
  const client = await FlightClient.connect(location);
  return {
    server,
    client,
    location,
    socketPath: dir ? join(dir, 'flight.sock') : undefined,
    async close() {
      client.close();
      await server.close(1000);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Streams `totalBytes` through the echo in batches of `batchBytes`, reading the echo
 * slowly (several event-loop turns per batch, in which the writer runs ahead and both
 * sides' socket writes pile up). Returns what came back.
 */
async function slowEcho(client: FlightClient, totalBytes: number, batchBytes: number): Promise<{ batches: number; bytes: number }> {
  const batch = batchOfBytes(batchBytes);
  const count = totalBytes / batchBytes;
  async function* produce() {
    for (let i = 0; i < count; i++) yield batch;
  }
  let batches = 0;
  let bytes = 0;
  for await (const { batch: echoed } of client.exchange(FlightDescriptor.path('echo'), produce())) {
    batches++;
    bytes += echoed!.getChildAt(0)!.data[0]!.values.byteLength;
    for (let turn = 0; turn < 4; turn++) await nextTurn();
  }
  return { batches, bytes };
}

/** The windows a plain node:http2 client is given by the server at `target`. */
async function advertisedWindows(target: { location: string; socketPath?: string }): Promise<{ connection: number; stream: number; frame: number }> {
  const socketPath = target.socketPath;
  const session: ClientHttp2Session = socketPath
    ? http2Connect('http://localhost', { createConnection: () => netConnect(socketPath) })
    : http2Connect(target.location.replace(/^grpc:/, 'http:'));
  try {
    await new Promise<void>((resolve, reject) => {
      session.once('remoteSettings', () => resolve());
      session.once('error', reject);
    });
    // The server sends its WINDOW_UPDATE before it can answer a PING, so after the answer
    // the connection window is what the server set.
    await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
    return { connection: session.state.remoteWindowSize!, stream: session.remoteSettings.initialWindowSize!, frame: session.remoteSettings.maxFrameSize! };
  } finally {
    session.close();
  }
}

test('the server advertises a connection window below the kernel buffering (1 MiB on TCP, 64 KiB on a unix socket) and the largest frame size', async (t) => {
  for (const transport of ['tcp', 'unix'] as const) {
    const s = await start(transport);
    try {
      const windows = await advertisedWindows(s);
      t.is(windows.connection, transport === 'unix' ? SERVER_UNIX_CONNECTION_WINDOW_BYTES : SERVER_TCP_CONNECTION_WINDOW_BYTES, transport);
      // Each call still buffers up to the wide stream window, for throughput.
      t.is(windows.stream, STREAM_WINDOW_BYTES, transport);
      // And takes frames as large as HTTP/2 allows (2^24-1, RFC 9113 6.5.2), so a message
      // arrives in few chunks.
      t.is(windows.frame, 2 ** 24 - 1, transport);
    } finally {
      await s.close();
    }
  }
});

test('a peer whose user-agent says it reads while it writes gets a connection window as wide as a stream\'s; grpc-js and unknown peers keep the small one', async (t) => {
  const s = await start('tcp');
  try {
    const windowAfterFirstCall = async (userAgent: string | undefined): Promise<number> => {
      const session = http2Connect(s.location.replace(/^grpc:/, 'http:'));
      try {
        await new Promise<void>((resolve, reject) => {
          const stream = session.request({
            ':method': 'POST', ':path': '/arrow.flight.protocol.FlightService/NoSuchMethod', 'content-type': 'application/grpc', te: 'trailers',
            ...(userAgent ? { 'user-agent': userAgent } : {}),
          }, { endStream: true });
          stream.on('error', reject);
          stream.on('close', () => resolve());
          stream.resume();
        });
        // The server's WINDOW_UPDATE goes before its answer to a PING.
        await new Promise<void>((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve())));
        return session.state.remoteWindowSize!;
      } finally {
        session.close();
      }
    };
    t.is(await windowAfterFirstCall('grpc-c++/1.81.1 grpc-c/54.0.0 (linux; chttp2)'), READING_PEER_CONNECTION_WINDOW_BYTES, 'pyarrow');
    t.is(await windowAfterFirstCall('grpc-go/1.70.0'), READING_PEER_CONNECTION_WINDOW_BYTES, 'arrow-go');
    t.is(await windowAfterFirstCall('grpc-java-netty/1.70.0'), READING_PEER_CONNECTION_WINDOW_BYTES, 'Arrow Java');
    t.is(await windowAfterFirstCall('tonic/0.12.3'), READING_PEER_CONNECTION_WINDOW_BYTES, 'arrow-rs');
    t.is(await windowAfterFirstCall('grpc-node-js/1.14.0'), SERVER_TCP_CONNECTION_WINDOW_BYTES, 'grpc-js');
    t.is(await windowAfterFirstCall(undefined), SERVER_TCP_CONNECTION_WINDOW_BYTES, 'no user-agent');
    t.is(await windowAfterFirstCall('my-http2-client/1.0'), SERVER_TCP_CONNECTION_WINDOW_BYTES, 'unknown');
  } finally {
    await s.close();
  }
});

{
  // With a 64 MiB connection window this hung every time: a unix
  // socket holds only 208 KiB, so both sides' writes stalled after the first few batches.
  test(`a 256 MiB two-way exchange over a unix socket with a slow reader completes`, async (t) => {
    const s = await start('unix');
    try {
      const total = 256 * MiB;
      const echoed = await slowEcho(s.client, total, 256 * 1024);
      t.deepEqual(echoed, { batches: total / (256 * 1024), bytes: total });
    } finally {
      await s.close();
    }
  });

  // The connection window bounds what all calls of a connection have in flight together,
  // so several streaming calls on one connection cannot fill the kernel queue either.
  test(`four concurrent 128 MiB exchanges with slow readers on one TCP connection complete`, async (t) => {
    const s = await start('tcp');
    try {
      const total = 128 * MiB;
      const results = await Promise.all([1, 2, 3, 4].map(() => slowEcho(s.client, total, 256 * 1024)));
      for (const echoed of results) t.deepEqual(echoed, { batches: total / (256 * 1024), bytes: total });
    } finally {
      await s.close();
    }
  });
}

test('every RPC reads its request through the receive budget, control RPCs up to CONTROL_MESSAGE_MAX_BYTES', async (t) => {
  // A message announced and half sent is reserved from the budget while it arrives, on
  // every RPC (grpc-js, which served the control RPCs before, buffered them outside it).
  // The memory server has no Handshake (it would answer UNIMPLEMENTED before reading): add one.
  const s = await start('tcp', {}, { ...memoryServerHandlers([]), async *handshake(requests) { for await (const r of requests) yield r; } });
  const raw = new RawHttp2Client(s.location);
  try {
    for (const rpc of ['DoExchange', 'DoPut', 'DoGet', 'GetFlightInfo', 'PollFlightInfo', 'GetSchema', 'ListFlights', 'DoAction', 'ListActions', 'Handshake']) {
      const pending = raw.call(rpc, [grpcPrefix(MiB), Buffer.alloc(1024)], { keepOpen: true, timeoutMs: 10_000 });
      let held = 0;
      for (let i = 0; i < 100 && held === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        held = s.server.receiveBudget.heldBytes;
      }
      t.is(held, MiB, rpc);
      pending.cancel();
      await pending.result;
      for (let i = 0; i < 100 && s.server.receiveBudget.heldBytes > 0; i++) await new Promise((r) => setTimeout(r, 20));
      t.is(s.server.receiveBudget.heldBytes, 0, `${rpc} gave its reservation back`);
      const big = await raw.call(rpc, [grpcPrefix(CONTROL_MESSAGE_MAX_BYTES + 1)], { timeoutMs: 10_000 }).result;
      if (['DoExchange', 'DoPut', 'DoGet'].includes(rpc)) t.not(big.code, Status.RESOURCE_EXHAUSTED, `${rpc} has the data RPCs' limit`);
      else t.is(big.code, Status.RESOURCE_EXHAUSTED, `${rpc}: ${big.message}`);
    }
  } finally {
    raw.close();
    await s.close();
  }
});
