/**
 * Decoded headers are remembered by their bytes (src/flight/header-cache.ts). What must
 * hold: a remembered header never stands in for different bytes, a refused header is
 * refused every time, and the cache stays within its bounds.
 */
import test from 'ava';
import { Field, Float32, Float64, Int32, RecordBatch, Schema, Struct, makeData, vectorFromArray } from 'apache-arrow';
import { FlightDataDecoder, FlightDataEncoder, FlightError, Status, decodeFlightData, encodeFlightData } from '../../src/flight/index.js';
import { HeaderCache } from '../../src/flight/header-cache.js';

/** A one-column batch of `values` as `type`, sent as a fresh stream's wire messages. */
function streamOf(type: Float32 | Float64 | Int32, values: number[]) {
  const schema = new Schema([new Field('x', type, false)]);
  const column = vectorFromArray(values, type).data[0]!;
  const batch = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [column] }));
  const encoder = new FlightDataEncoder();
  return [encoder.encodeSchema(schema), ...encoder.encodeBatch(batch)].map((m) => encodeFlightData(m));
}

function decodeAll(wire: Uint8Array[]) {
  const decoder = new FlightDataDecoder();
  const batches = [];
  for (const bytes of wire) {
    const message = decoder.decode(decodeFlightData(new Uint8Array(bytes)));
    if (message.kind === 'batch') batches.push(message.batch);
  }
  return { schema: decoder.schema!, batches };
}

test('streams with same-shaped but different schemas each decode as their own, however often they repeat', (t) => {
  for (let round = 0; round < 3; round++) {
    const f32 = decodeAll(streamOf(new Float32(), [1.5, 2.5]));
    const f64 = decodeAll(streamOf(new Float64(), [1.5, 2.5, 3.5]));
    const i32 = decodeAll(streamOf(new Int32(), [7, 8]));
    t.is(String(f32.schema.fields[0]!.type), 'Float32');
    t.is(String(f64.schema.fields[0]!.type), 'Float64');
    t.is(String(i32.schema.fields[0]!.type), 'Int32');
    t.deepEqual([...f32.batches[0]!.getChild('x')!], [1.5, 2.5]);
    t.deepEqual([...f64.batches[0]!.getChild('x')!], [1.5, 2.5, 3.5]);
    t.deepEqual([...i32.batches[0]!.getChild('x')!], [7, 8]);
  }
});

test('equal headers with different bodies decode to each body', (t) => {
  const a = decodeAll(streamOf(new Float32(), [1, 2, 3]));
  const b = decodeAll(streamOf(new Float32(), [4, 5, 6]));
  t.is(a.schema, b.schema, 'the same schema bytes give the one decoded schema');
  t.deepEqual([...a.batches[0]!.getChild('x')!], [1, 2, 3]);
  t.deepEqual([...b.batches[0]!.getChild('x')!], [4, 5, 6]);
});

test('a corrupted header is refused each time it is sent, never remembered', (t) => {
  const [schemaMessage] = streamOf(new Float32(), [1]);
  const data = decodeFlightData(new Uint8Array(schemaMessage!));
  const header = new Uint8Array(data.dataHeader!);
  header.fill(0xff, 8, 24);
  for (let i = 0; i < 3; i++) {
    const err = t.throws(() => new FlightDataDecoder().decode({ ...data, dataHeader: header }), { instanceOf: FlightError });
    t.is(err.code, Status.INVALID_ARGUMENT);
  }
});

test('the cache keeps at most maxEntries headers, and none larger than maxHeaderBytes', (t) => {
  const cache = new HeaderCache(4, 16);
  const decoded = { headerType: 1, version: 4, bodyLength: 0, header: new Schema([]) } as const;
  for (let i = 0; i < 10; i++) cache.set(Uint8Array.of(i), decoded);
  t.is(cache.size, 4);
  t.is(cache.get(Uint8Array.of(0)), undefined, 'the oldest went first');
  t.is(cache.get(Uint8Array.of(9)), decoded);
  cache.set(new Uint8Array(17), decoded);
  t.is(cache.get(new Uint8Array(17)), undefined);
  t.is(cache.get(Uint8Array.of(1, 0)), undefined, 'bytes are compared in full');
});

test('headers of one length: each lookup finds its own bytes, and at most 16 of that length are kept', (t) => {
  const cache = new HeaderCache();
  const decodedOf = (i: number) => ({ headerType: 1, version: 4, bodyLength: i, header: new Schema([]) }) as const;
  const bytesOf = (i: number) => Uint8Array.of(0, i, 0, 0);
  const kept = Array.from({ length: 20 }, (_, i) => cache.set(bytesOf(i), decodedOf(i)));
  t.is(cache.size, 16);
  for (let i = 0; i < 4; i++) t.is(cache.get(bytesOf(i)), undefined, `header ${i}, among the oldest of its length, went first`);
  for (let i = 4; i < 20; i++) t.is(cache.get(bytesOf(i)), kept[i], `header ${i}`);
  t.is(cache.get(Uint8Array.of(0, 5, 0, 1)), undefined, 'same length, other bytes');
});
