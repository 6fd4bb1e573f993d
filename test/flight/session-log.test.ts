/**
 * A connection that ends with an error gets a server log line naming the peer and the
 * code (issue #9, item 7: "the server logs nothing"). The client here speaks HTTP/2 from
 * raw bytes on a TCP socket so it can send what no HTTP/2 library would: HEADERS on a
 * stream it already half-closed, which nghttp2 treats as a connection error and Node
 * answers by destroying the session with GOAWAY INTERNAL_ERROR.
 */
import test from 'ava';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { FlightServer } from '../../src/flight/index.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';
import { RAPID_RESET_BURST, RAPID_RESET_RATE, ResetBucket } from '../../src/flight/http2/session-watch.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const TYPE_HEADERS = 0x1;
const TYPE_SETTINGS = 0x4;
const TYPE_GOAWAY = 0x7;
const FLAG_END_STREAM = 0x1;
const FLAG_END_HEADERS = 0x4;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK: :method POST (static 3), :scheme http (6), :path / (4), each an indexed field. */
const REQUEST_HEADERS = Buffer.from([0x83, 0x86, 0x84]);

/** The GOAWAY frames in what the server sent: [last stream id, error code]. */
function goaways(bytes: Buffer): [number, number][] {
  const out: [number, number][] = [];
  for (let off = 0; off + 9 <= bytes.length;) {
    const length = bytes.readUIntBE(off, 3);
    if (bytes[off + 3] === TYPE_GOAWAY && off + 9 + 8 <= bytes.length) {
      out.push([bytes.readUInt32BE(off + 9) & 0x7fffffff, bytes.readUInt32BE(off + 13)]);
    }
    off += 9 + length;
  }
  return out;
}

/** Captures the JSON log lines the server writes to stderr while `run` runs. */
async function capturingLog<T>(run: (lines: Record<string, unknown>[]) => Promise<T>): Promise<T> {
  const lines: Record<string, unknown>[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    for (const line of String(chunk).split('\n')) {
      if (!line.startsWith('{')) continue;
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch { /* not a log line */ }
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stderr.write;
  try {
    return await run(lines);
  } finally {
    process.stderr.write = write;
  }
}

test.serial('a connection Node ends with an error is logged with the peer and the code', async (t) => {
  const server = new FlightServer(memoryServerHandlers([]));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close(1000));
  await capturingLog(async (lines) => {
    const socket: Socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const peer = `127.0.0.1:${socket.localPort}`;
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => { /* the server may reset after its GOAWAY */ });
    const closed = once(socket, 'close');
    // Stream 1 opened and half-closed, then HEADERS on it again, all in one write.
    socket.write(Buffer.concat([
      PREFACE,
      frame(TYPE_SETTINGS, 0, 0),
      frame(TYPE_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, REQUEST_HEADERS),
      frame(TYPE_HEADERS, FLAG_END_HEADERS | FLAG_END_STREAM, 1, REQUEST_HEADERS),
    ]));
    await closed;
    t.deepEqual(goaways(Buffer.concat(received)).map(([, code]) => code), [2], 'one GOAWAY, INTERNAL_ERROR');
    const logged = lines.filter((l) => l['peer'] === peer);
    t.is(logged.length, 1, JSON.stringify(lines));
    t.like(logged[0], { level: 'warn', msg: 'HTTP/2 connection ended with an error', peer, code: 'ERR_HTTP2_ERROR' });
    t.regex(String(logged[0]!['error']), /closed/i);
  });
});

/**
 * Opens a raw HTTP/2 connection to `port`, sends a GOAWAY(lastStreamId, errorCode) and
 * waits until the socket closes; returns the client's address as the server logs it.
 */
async function sendGoaway(port: number, lastStreamId: number, errorCode: number, endAfter: boolean): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const peer = `127.0.0.1:${socket.localPort}`;
  socket.on('error', () => { /* the server may reset once the session is gone */ });
  socket.resume();
  const closed = once(socket, 'close');
  const goaway = Buffer.alloc(8);
  goaway.writeUInt32BE(lastStreamId, 0);
  goaway.writeUInt32BE(errorCode, 4);
  socket.write(Buffer.concat([PREFACE, frame(TYPE_SETTINGS, 0, 0), frame(TYPE_GOAWAY, 0, 0, goaway)]));
  if (endAfter) socket.end();
  await closed;
  return peer;
}

test.serial('a GOAWAY the peer sends with an error code is logged with the peer and the code name', async (t) => {
  const server = new FlightServer(memoryServerHandlers([]));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close(1000));
  await capturingLog(async (lines) => {
    const peer = await sendGoaway(port, 0, 0xb /* ENHANCE_YOUR_CALM */, true);
    const logged = lines.filter((l) => l['peer'] === peer);
    t.is(logged.length, 1, JSON.stringify(lines));
    t.like(logged[0], { level: 'warn', msg: 'HTTP/2 peer closed the connection with an error (GOAWAY)', peer, code: 'ENHANCE_YOUR_CALM', lastStreamID: 0 });
  });
});

test.serial("a grpc-go client's closing GOAWAY (its own last stream as last-stream-id) is logged with what it is", async (t) => {
  // What the call-overhead benchmark's Go load generator sends at its end: grpc-go's
  // outgoingGoAwayHandler writes GOAWAY(NO_ERROR, last stream id = its own last stream).
  const server = new FlightServer(memoryServerHandlers([]));
  const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => server.close(1000));
  await capturingLog(async (lines) => {
    // The client's own stream 1 (a server's last-stream-id is even), NO_ERROR.
    const peer = await sendGoaway(port, 1, 0, false);
    const logged = lines.filter((l) => l['peer'] === peer);
    t.is(logged.length, 1, JSON.stringify(lines));
    t.like(logged[0], { level: 'warn', msg: 'HTTP/2 connection ended with an error', peer, code: 'ERR_HTTP2_ERROR', error: 'Protocol error' });
    t.regex(String(logged[0]!['hint']), /grpc-go clients do so when they close a connection/);
  });
});

test("the reset counter has nghttp2's limits: 1000 at once, then 33 a second", (t) => {
  const bucket = new ResetBucket(RAPID_RESET_BURST, RAPID_RESET_RATE, 50);
  let taken = 0;
  while (bucket.take(50)) taken++;
  t.is(taken, 1000);
  taken = 0;
  while (bucket.take(51)) taken++;
  t.is(taken, 33);
  taken = 0;
  while (bucket.take(53)) taken++;
  t.is(taken, 66, 'two seconds later, twice the rate');
  t.true(new ResetBucket(RAPID_RESET_BURST, RAPID_RESET_RATE, 0).take(10_000), 'a long quiet time refills at most to the burst');
});
