/**
 * What an attacker can put on the wire below FlightData: gRPC length prefixes that
 * announce gigabytes, protobuf that is not protobuf, compressed bombs, and streams that
 * hold half a message forever. Each must cost only the attacker's stream (a status naming
 * the problem), never the process, and the server must answer a good call right after.
 * Serial: the bombs and big batches built here would starve the other tests' clients.
 */
import test from 'ava';
import { gzipSync } from 'node:zlib';
import { Float64, Table, makeVector, vectorFromArray } from 'apache-arrow';
import { FlightDescriptor, FlightServer, Status, type FlightServerOptions } from '../../src/flight/index.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';
import { startServer, type Running } from '../helpers/memory-server.js';
import { RawHttp2Client, grpcPrefix, type RawHttp2Result } from '../helpers/raw-http2.js';

const DATA_RPCS = ['DoGet', 'DoPut', 'DoExchange'] as const;

/** A protobuf varint. */
function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** A length-delimited field's tag and length (its bytes are not included). */
const lenField = (field: number, length: number) => Buffer.concat([varint(field * 8 + 2), varint(length)]);

/** The 16-byte request of the report: a 4 GiB prefix, a small data_header, a data_body announcing ~4 GiB. */
const SIXTEEN_BYTES = Buffer.concat([grpcPrefix(0xffffffff), lenField(2, 2), Buffer.from([0, 0]), lenField(1000, 0xfffffff0)]);

const sample = new Table({ x: vectorFromArray([1.5, 2.5, 3.5], new Float64()) });

/** A good exchange after an attack: the server is alive and still answers correctly. */
async function assertServes(t: import('ava').ExecutionContext, s: Running, context: string): Promise<void> {
  const rows: number[] = [];
  for await (const { batch } of s.client.exchange(FlightDescriptor.path('echo'), sample.batches, { deadline: 10_000 })) {
    if (batch) rows.push(...(batch.getChild('x')!.toArray() as Float64Array));
  }
  t.deepEqual(rows, [1.5, 2.5, 3.5], `server answers a good call after ${context}`);
}

function send(location: string, rpc: string, chunks: Buffer[], options: { headers?: Record<string, string>; keepOpen?: boolean; timeoutMs?: number } = {}): Promise<RawHttp2Result> {
  const client = new RawHttp2Client(location);
  return client.call(rpc, chunks, options).result.finally(() => client.close());
}

test.serial('the exact 16-byte request is RESOURCE_EXHAUSTED on every data RPC, before anything is allocated', async (t) => {
  t.is(SIXTEEN_BYTES.byteLength, 16);
  const s = await startServer();
  try {
    for (const rpc of DATA_RPCS) {
      for (const keepOpen of [false, true]) {
        const r = await send(s.location, rpc, [SIXTEEN_BYTES], { keepOpen });
        t.is(r.code, Status.RESOURCE_EXHAUSTED, `${rpc} keepOpen=${keepOpen}: ${r.message}`);
        t.regex(r.message, /Received message larger than max \(4294967295 vs\. 2147483647\)/);
      }
      await assertServes(t, s, `16 bytes on ${rpc}`);
    }
    t.is(s.server.receiveBudget.heldBytes, 0);
  } finally {
    await s.close();
  }
});

test.serial('length prefixes of 0, 1, 2^31 and 2^32-1 with every combination of header and body fields end with a status', async (t) => {
  // A small limit and budget make the 2^31 announcement fit neither, and keep the test's memory small.
  const s = await startServer(undefined, { receiveBudgetBytes: 64 * 1024 * 1024 });
  try {
    const header = Buffer.concat([lenField(2, 3), Buffer.from([1, 2, 3])]);
    const bodies: [string, Buffer][] = [
      ['no fields', Buffer.alloc(0)],
      ['header only', header],
      ['body tag, small length', Buffer.concat([lenField(1000, 8), Buffer.alloc(8)])],
      ['body tag, huge length', lenField(1000, 0xfffffff0)],
      ['header then huge body', Buffer.concat([header, lenField(1000, 2 ** 31)])],
      ['field 0', Buffer.from([0, 0, 0, 0])],
      ['truncated varint', Buffer.from([0xc2])],
      ['group wire type', Buffer.from([0x0b, 0x0c])],
    ];
    for (const length of [0, 1, 2 ** 31, 2 ** 32 - 1]) {
      for (const [name, fields] of bodies) {
        for (const rpc of DATA_RPCS) {
          for (const keepOpen of [false, true]) {
            // A half-sent message held open has no status to give until the client gives up (2 s here).
            const r = await send(s.location, rpc, [grpcPrefix(length), fields], { keepOpen, timeoutMs: keepOpen ? 2_000 : 15_000 });
            const what = `${rpc} length=${length} ${name} keepOpen=${keepOpen}: ${r.code} ${r.message}`;
            if (length >= 2 ** 31) t.is(r.code, Status.RESOURCE_EXHAUSTED, what);
            else if (!keepOpen) {
              t.not(r.code, undefined, what);
              if (length > 0 && fields.byteLength > length) t.not(r.code, Status.OK, what);
            }
          }
        }
      }
      await assertServes(t, s, `prefix ${length}`);
    }
    // Cancelled and refused calls gave back everything they held.
    await new Promise((r) => setTimeout(r, 200));
    t.is(s.server.receiveBudget.heldBytes, 0);
  } finally {
    await s.close();
  }
});

test.serial('invalid protobuf in a FlightData message is INVALID_ARGUMENT naming the problem', async (t) => {
  const s = await startServer();
  try {
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(64), /field number 0/],
      [Buffer.from([0x0b, 0x00]), /wire type 3/],
      [Buffer.from([0x12, 0x80]), /truncated varint/],
      [Buffer.from([0x12, 0x7f, 0x01]), /runs past the end of the message/],
      [Buffer.from([0xf8, 0xff, 0xff, 0xff, 0x1f, 0x00]), /above protobuf's maximum/],
    ];
    for (const [message, reason] of cases) {
      for (const rpc of ['DoPut', 'DoExchange']) {
        const r = await send(s.location, rpc, [grpcPrefix(message.byteLength), message]);
        t.is(r.code, Status.INVALID_ARGUMENT, `${rpc} ${message.toString('hex')}: ${r.message}`);
        t.regex(r.message, reason);
      }
      const ticket = await send(s.location, 'DoGet', [grpcPrefix(message.byteLength), message]);
      t.is(ticket.code, Status.INVALID_ARGUMENT, `DoGet ${message.toString('hex')}: ${ticket.message}`);
    }
    await assertServes(t, s, 'invalid protobuf');
  } finally {
    await s.close();
  }
});

test.serial('a 64 MiB message of zeros is refused at its first byte', async (t) => {
  const s = await startServer();
  try {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const r = await send(s.location, 'DoExchange', [grpcPrefix(zeros.byteLength), zeros]);
    t.is(r.code, Status.INVALID_ARGUMENT, r.message);
    t.regex(r.message, /field number 0 at byte 0/);
    await assertServes(t, s, 'zeros');
  } finally {
    await s.close();
  }
});

test.serial('a gzip bomb (1 MiB inflating to 1 GiB) is refused at once while another caller is served', async (t) => {
  const s = await startServer();
  try {
    const bomb = gzipSync(Buffer.alloc(1024 * 1024 * 1024), { level: 9 });
    t.true(bomb.byteLength < 2 * 1024 * 1024, `bomb is ${bomb.byteLength} bytes`);
    const pending = send(s.location, 'DoExchange', [grpcPrefix(bomb.byteLength, 1), bomb], { headers: { 'grpc-encoding': 'gzip' } });
    await assertServes(t, s, 'a gzip bomb arriving');
    const r = await pending;
    t.is(r.code, Status.INVALID_ARGUMENT, r.message);
    t.regex(r.message, /decompressed message.*field number 0/);
    t.is(s.server.receiveBudget.heldBytes, 0);
  } finally {
    await s.close();
  }
});

test.serial('a compressed message inflating past the message limit is RESOURCE_EXHAUSTED', async (t) => {
  const s = await startServer(undefined, { maxReceiveMessageBytes: 4 * 1024 * 1024 });
  try {
    // Valid protobuf at the start (a data_body field), so only the size stops it.
    const plain = Buffer.concat([lenField(1000, 16 * 1024 * 1024), Buffer.alloc(16 * 1024 * 1024)]);
    for (const [encoding, flag] of [['gzip', 1], ['deflate', 1]] as const) {
      const compressed = encoding === 'gzip' ? gzipSync(plain) : (await import('node:zlib')).deflateSync(plain);
      const r = await send(s.location, 'DoExchange', [grpcPrefix(compressed.byteLength, flag), compressed], { headers: { 'grpc-encoding': encoding } });
      t.is(r.code, Status.RESOURCE_EXHAUSTED, `${encoding}: ${r.message}`);
      t.regex(r.message, /decompresses to a size larger than 4194304/);
    }
    t.is(s.server.receiveBudget.heldBytes, 0);
    await assertServes(t, s, 'an oversized compressed message');
  } finally {
    await s.close();
  }
});

test.serial('a good gzip-compressed exchange still works, in order with the messages after it', async (t) => {
  const s = await startServer();
  try {
    const { FlightDataEncoder, encodeFlightData } = await import('../../src/flight/index.js');
    const encoder = new FlightDataEncoder();
    const messages = [encoder.encodeSchema(sample.schema, FlightDescriptor.path('echo')), ...encoder.encodeBatch(sample.batches[0]!)].map(encodeFlightData);
    // The schema compressed, the batch not: the reader must keep them in order across the inflate.
    const compressedSchema = gzipSync(messages[0]!);
    const body = Buffer.concat([grpcPrefix(compressedSchema.byteLength, 1), compressedSchema, ...messages.slice(1).map((m) => Buffer.concat([grpcPrefix(m.byteLength), m]))]);
    const r = await send(s.location, 'DoExchange', [body], { headers: { 'grpc-encoding': 'gzip' } });
    t.is(r.code, Status.OK, r.message);
    t.true(r.bodyBytes > 0);
  } finally {
    await s.close();
  }
});

test.serial('the receive budget: partial messages past it are RESOURCE_EXHAUSTED, and cancelling returns what they held', async (t) => {
  const budget = 40 * 1024 * 1024;
  const options: FlightServerOptions = { receiveBudgetBytes: budget };
  const server = new FlightServer(memoryServerHandlers([]), options);
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const clients: RawHttp2Client[] = [];
  try {
    const MESSAGE = 16 * 1024 * 1024;
    const calls: ReturnType<RawHttp2Client['call']>[] = [];
    for (let i = 0; i < 4; i++) {
      const client = new RawHttp2Client(location);
      clients.push(client);
      // Announce 16 MiB, send 1 MiB of it, and hold the stream open.
      calls.push(client.call('DoExchange', [grpcPrefix(MESSAGE), lenField(1000, MESSAGE - 4), Buffer.alloc(1024 * 1024)], { keepOpen: true, timeoutMs: 30_000 }));
    }
    // Two 16 MiB reservations fit in 40 MiB; whichever two streams came later are refused at once.
    const finished: RawHttp2Result[] = [];
    await new Promise<void>((resolve) => {
      for (const call of calls) void call.result.then((r) => { finished.push(r); if (finished.length === 2) resolve(); });
    });
    for (const refused of finished) {
      t.is(refused.code, Status.RESOURCE_EXHAUSTED, refused.message);
      t.regex(refused.message, /budget is 41943040/);
    }
    t.true(server.receiveBudget.heldBytes <= budget);
    t.is(server.receiveBudget.heldBytes, 2 * MESSAGE);
    for (const call of calls) call.cancel();
    await Promise.all(calls.map((c) => c.result));
    await new Promise((r) => setTimeout(r, 200));
    t.is(server.receiveBudget.heldBytes, 0, 'cancelled streams give their reservations back');
  } finally {
    for (const c of clients) c.close();
    await server.close(1000);
  }
});

test.serial('a 256 MiB batch goes through with the default limits', async (t) => {
  const s = await startServer();
  try {
    const n = 32 * 1024 * 1024;
    const big = new Table({ x: makeVector(new Float64Array(n).fill(0.25)) });
    let rows = 0;
    for await (const { batch } of s.client.exchange(FlightDescriptor.path('echo'), big.batches, { deadline: 120_000 })) rows += batch?.numRows ?? 0;
    t.is(rows, n);
    t.is(s.server.receiveBudget.heldBytes, 0);
  } finally {
    await s.close();
  }
});
