/**
 * Receive buffers given back by a handler (FlightReader.recycle) take later messages of
 * the call, and never while anything still reads them: a real server on loopback, a real
 * client, distinct values in every batch so that any overwrite shows.
 */
import test, { type ExecutionContext } from 'ava';
import { makeData, Float64, RecordBatch, Schema, Field, Struct } from 'apache-arrow';
import { FlightDataEncoder, FlightDescriptor, FlightReader, FlightWriter, decodeFlightData, encodeFlightData, type FlightData, type FlightHandlers } from '../../src/flight/index.js';
import { RawHttp2Client, grpcPrefix } from '../helpers/raw-http2.js';
import { startServer } from '../helpers/memory-server.js';

const f64 = new Float64();
const schema = new Schema([new Field('x', f64, false)]);

/** A batch of `bytes` of float64 whose values all differ from every other batch's: k * 1e6 + row. */
function batchOf(k: number, bytes: number): RecordBatch {
  const values = new Float64Array(bytes / 8);
  for (let i = 0; i < values.length; i++) values[i] = k * 1e6 + i;
  const x = makeData({ type: f64, length: values.length, nullCount: 0, data: values });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [x] }));
}

/** Whether `batch` holds exactly batchOf(k)'s values; the first wrong row otherwise. */
function mismatch(batch: RecordBatch, k: number, bytes: number): string | undefined {
  const values = batch.getChildAt(0)!.toArray() as Float64Array;
  if (values.length !== bytes / 8) return `${values.length} rows, expected ${bytes / 8}`;
  for (let i = 0; i < values.length; i++) if (values[i] !== k * 1e6 + i) return `row ${i} is ${values[i]}, expected ${k * 1e6 + i}`;
  return undefined;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

/** What a handler that checks and recycles every batch at once saw. */
interface Seen {
  /** The buffer each batch's values lay in. */
  buffers: ArrayBufferLike[];
  /** Batches whose values were not what was sent. */
  wrong: string[];
  /** The server's reserved receive bytes just after each recycle. */
  heldAfterRecycle: number[];
}

/**
 * A DoExchange handler that checks each batch k against batchOf(k), then recycles it
 * (after `beforeRecycle(k)`, if given).
 */
function checkingSink(bytes: number, seen: Seen, heldBytes: () => number, beforeRecycle?: (k: number) => Promise<void>): FlightHandlers {
  return {
    async doExchange(input, output) {
      let k = 0;
      for (let msg = await input.nextMessage(); msg; msg = await input.nextMessage()) {
        if (msg.kind !== 'batch') continue;
        seen.buffers.push((msg.batch.getChildAt(0)!.data[0]!.values as Float64Array).buffer);
        const bad = mismatch(msg.batch, k, bytes);
        if (bad) seen.wrong.push(bad);
        if (beforeRecycle) await beforeRecycle(k);
        k++;
        input.recycle(msg.batch);
        seen.heldAfterRecycle.push(heldBytes());
      }
      await output.writeMetadata(new TextEncoder().encode('done'));
    },
  };
}

async function sendToCheckingSink(t: ExecutionContext, bytes: number, count: number): Promise<Seen> {
  const seen: Seen = { buffers: [], wrong: [], heldAfterRecycle: [] };
  let heldBytes = () => 0;
  const s = await startServer(checkingSink(bytes, seen, () => heldBytes()));
  heldBytes = () => s.server.receiveBudget.heldBytes;
  try {
    const batches = Array.from({ length: count }, (_, k) => batchOf(k, bytes));
    for await (const _ of s.client.exchange(FlightDescriptor.path('sink'), batches)) { /* 'done' */ }
    t.deepEqual(seen.wrong, []);
    t.is(seen.buffers.length, count);
    t.is(s.server.receiveBudget.heldBytes, 0, 'spare buffers return their budget when the call ends');
    return seen;
  } finally {
    await s.close();
  }
}

test('a large batch given back with recycle() takes a later batch of the call, and its values stay right', async (t) => {
  const bytes = 1 << 20;
  const seen = await sendToCheckingSink(t, bytes, 8);
  // Without recycling every batch has a buffer of its own (8); given back at once, each
  // next one can take the last one's.
  t.true(new Set(seen.buffers).size <= 2, `${new Set(seen.buffers).size} distinct receive buffers for 8 batches`);
  // A spare buffer is receive memory: the budget counts it until a message takes it.
  t.true(seen.heldAfterRecycle.some((held) => held >= bytes), `held after each recycle: ${seen.heldAfterRecycle.join(', ')}`);
});

test('a server whose receive budget has no room for a spare buffer keeps none', async (t) => {
  // Budget: room for one 1 MiB message, not for it and a spare. Call A receives a batch;
  // call B then holds 0.75 MiB unread; A gives its batch back (no room: dropped); B ends;
  // A sends its second batch, which must get a buffer of its own.
  const bytes = 1 << 20;
  const seen: Seen = { buffers: [], wrong: [], heldAfterRecycle: [] };
  const gotFirst = deferred();
  const recycled = deferred();
  const releaseB = deferred();
  const sendSecond = deferred();
  let heldBytes = () => 0;
  const sink = checkingSink(bytes, seen, () => heldBytes(), async (k) => {
    if (k !== 0) return;
    gotFirst.resolve();
    while (heldBytes() < 0.75 * bytes) await new Promise((resolve) => setTimeout(resolve, 5));
  });
  const s = await startServer({
    async doExchange(input, output, ctx) {
      if (input.descriptor?.type === 'PATH' && input.descriptor.path[0] === 'sink') return sink.doExchange!(input, output, ctx);
      await releaseB.promise;
      for await (const _ of input) { /* drained */ }
      await output.writeMetadata(new TextEncoder().encode('done'));
    },
  }, { receiveBudgetBytes: 1.5 * bytes });
  heldBytes = () => s.server.receiveBudget.heldBytes;
  try {
    const a = (async () => {
      const out = [];
      for await (const chunk of s.client.exchange(FlightDescriptor.path('sink'), (async function* () {
        yield batchOf(0, bytes);
        await sendSecond.promise;
        yield batchOf(1, bytes);
      })())) out.push(chunk);
      return out;
    })();
    await gotFirst.promise;
    const b = (async () => {
      for await (const _ of s.client.exchange(FlightDescriptor.path('queued'), [batchOf(9, 0.75 * bytes)])) { /* 'done' */ }
    })();
    // A recycles once B's message is held; it then waits for its second batch.
    while (seen.heldAfterRecycle.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    recycled.resolve();
    releaseB.resolve();
    await b;
    sendSecond.resolve();
    await a;
    t.deepEqual(seen.wrong, []);
    t.is(seen.buffers.length, 2);
    t.not(seen.buffers[1], seen.buffers[0], 'the first batch\'s buffer was kept (over budget) and reused');
    t.is(s.server.receiveBudget.heldBytes, 0);
  } finally {
    await s.close();
  }
});

test('echo with recycle(batch, output): no buffer is reused while its echo waits for a slow reader', async (t) => {
  // The memory-server's echo recycles each batch once the writer has written it out. A
  // client that reads nothing until it has sent everything, on a 64 KiB window, leaves the
  // echoes queued on the server: had a buffer been reused before its echo left, a later
  // batch's values would come back in its place.
  const s = await startServer();
  const raw = new RawHttp2Client(s.location);
  try {
    const bytes = 4 << 20;
    const count = 6;
    const encoder = new FlightDataEncoder();
    const messages = [
      { ...encoder.encodeSchema(schema), descriptor: FlightDescriptor.path('echo') },
      ...Array.from({ length: count }, (_, k) => encoder.encodeBatch(batchOf(k, bytes))).flat(),
    ].map((data) => {
      const message = encodeFlightData(data);
      return Buffer.concat([grpcPrefix(message.byteLength), message]);
    });
    const body: Buffer[] = [];
    const call = raw.call('DoExchange', messages, { onResponse: (stream) => stream.pause(), timeoutMs: 30_000 });
    // Read only once the server has had time to take every batch and echo what it can.
    await new Promise((resolve) => setTimeout(resolve, 500));
    call.stream.on('data', (chunk: Buffer) => body.push(chunk));
    call.stream.resume();
    const result = await call.result;
    t.is(result.code, 0, result.message);
    const echoed = new FlightReader((async function* () { yield* grpcMessages(Buffer.concat(body)).map(decodeFlightData); })());
    let k = 0;
    for await (const chunk of echoed) {
      t.is(mismatch(chunk.batch!, k, bytes), undefined, `echo of batch ${k}`);
      k++;
    }
    t.is(k, count);
  } finally {
    raw.close();
    await s.close();
  }
});

/** The messages of a gRPC body (5-byte prefixes, uncompressed). */
function grpcMessages(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < body.byteLength;) {
    const length = body.readUInt32BE(at + 1);
    out.push(body.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  return out;
}

test('recycle() does nothing for small batches, in-memory streams or a message given back twice', async (t) => {
  // In memory: the reader's source cannot recycle, and a writer feeding it cannot tell when its writes are done.
  const sent: FlightData[] = [];
  const writer = new FlightWriter(async (data) => { sent.push(data); });
  t.false(writer.afterWrites(() => t.fail('called')));
  await writer.write(batchOf(1, 1 << 20));
  const reader = new FlightReader((async function* () { for (const m of sent) yield decodeFlightData(encodeFlightData(m)); })());
  const msg = await reader.nextMessage();
  const again = await reader.nextMessage();
  t.is(msg?.kind, 'schema');
  t.is(again?.kind, 'batch');
  const batch = (again as { batch: RecordBatch }).batch;
  reader.recycle(batch);
  reader.recycle(batch);
  t.is(mismatch(batch, 1, 1 << 20), undefined);
});

test('a callback given to afterWrites that throws once the writes are out costs nothing but a log line', async (t) => {
  const bytes = 4 << 20;
  let registered = false;
  const s = await startServer({
    async doExchange(input, output) {
      for await (const chunk of input) {
        if (!chunk.batch) continue;
        await output.write(chunk.batch);
        registered = output.afterWrites(() => { throw new Error('thrown after the writes'); });
      }
    },
  });
  try {
    const ex = s.client.doExchange(FlightDescriptor.path('echo'));
    await ex.writer.write(batchOf(0, bytes));
    ex.end();
    let k = 0;
    for await (const chunk of ex.reader) t.is(mismatch(chunk.batch!, k++, bytes), undefined);
    t.is(k, 1);
    t.true(registered);
    // Still serving: another call on the same server.
    const again = [];
    for await (const chunk of s.client.exchange(FlightDescriptor.path('echo'), [batchOf(1, 1024)])) again.push(chunk);
    t.is(again.length, 1);
  } finally {
    await s.close();
  }
});
