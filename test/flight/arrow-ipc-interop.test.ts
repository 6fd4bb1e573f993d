/**
 * Our FlightData codec against apache-arrow's own IPC implementation, over the type
 * matrix: what our encoder writes, framed as an IPC stream, reads back with apache-arrow's
 * RecordBatchReader; what apache-arrow's RecordBatchStreamWriter writes decodes with our
 * FlightDataDecoder. This is the check that src/flight/arrow-internals.ts still holds
 * for the pinned apache-arrow version, and that neither side only agrees with itself.
 */
import test from 'ava';
import {
  Field, FixedSizeList, Float16, Float32, Float64, Int16, Int8, Message, RecordBatchReader, RecordBatchStreamWriter, Table, Uint64, vectorFromArray,
} from 'apache-arrow';
import { FlightDataDecoder, FlightDataEncoder, type FlightData } from '../../src/flight/index.js';
import { recordBatchOf, sliceBatch } from '../../src/flight/record-batch.js';
import { columns, describeSchema } from '../helpers/roundtrip.js';
import { typeCases } from '../helpers/type-matrix.js';

const CONTINUATION = 0xffffffff;

/** FlightData messages framed as an Arrow IPC stream (continuation, metadata length, header, body), then end-of-stream. */
function toIpcStream(messages: readonly FlightData[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of messages) {
    if (!m.dataHeader) continue;
    const padded = Math.ceil(m.dataHeader.byteLength / 8) * 8;
    const prefix = new Uint8Array(8);
    new DataView(prefix.buffer).setUint32(0, CONTINUATION, true);
    new DataView(prefix.buffer).setInt32(4, padded, true);
    const header = new Uint8Array(padded);
    header.set(m.dataHeader);
    parts.push(prefix, header);
    const body = m.dataBody;
    if (body instanceof Uint8Array) parts.push(body);
    else if (body) parts.push(...body);
  }
  const end = new Uint8Array(8);
  new DataView(end.buffer).setUint32(0, CONTINUATION, true);
  parts.push(end);
  return Buffer.concat(parts);
}

/** An Arrow IPC stream split into its messages' headers and bodies, as FlightData carries them. */
function fromIpcStream(stream: Uint8Array): { dataHeader: Uint8Array; dataBody: Uint8Array }[] {
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  const out: { dataHeader: Uint8Array; dataBody: Uint8Array }[] = [];
  let pos = 0;
  while (pos + 8 <= stream.byteLength) {
    if (view.getUint32(pos, true) !== CONTINUATION) throw new Error(`no continuation marker at ${pos}`);
    const length = view.getInt32(pos + 4, true);
    pos += 8;
    if (length === 0) break;
    const dataHeader = stream.subarray(pos, pos + length);
    pos += length;
    const bodyLength = Number(Message.decode(dataHeader).bodyLength);
    // A copy: our decoder views the body in place and wants it 8-aligned, as a gRPC receive gives it.
    out.push({ dataHeader, dataBody: new Uint8Array(stream.subarray(pos, pos + bodyLength)) });
    pos += bodyLength;
  }
  return out;
}

for (const { name, column } of typeCases) {
  test(`${name}: apache-arrow's RecordBatchReader reads what our encoder writes`, (t) => {
    const table = new Table({ c: column() });
    const encoder = new FlightDataEncoder();
    const messages = [encoder.encodeSchema(table.schema), ...table.batches.flatMap((b) => encoder.encodeBatch(b))];
    const back = new Table(RecordBatchReader.from(toIpcStream(messages)).readAll());
    t.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
    t.deepEqual(columns(back), columns(table));
  });

  test(`${name}: our decoder reads what apache-arrow's RecordBatchStreamWriter writes`, (t) => {
    const table = new Table({ c: column() });
    const stream = RecordBatchStreamWriter.writeAll(table).toUint8Array(true);
    const decoder = new FlightDataDecoder();
    const batches = [];
    for (const message of fromIpcStream(stream)) {
      const decoded = decoder.decode(message);
      if (decoded.kind === 'batch') batches.push(decoded.batch);
    }
    const back = new Table(decoder.schema!, batches);
    t.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
    t.deepEqual(columns(back), columns(table));
  });
}

test('sliced batches of every type, as our encoder writes them, read with apache-arrow at each offset', (t) => {
  const table = new Table(Object.fromEntries(typeCases.map(({ name, column }) => [name, column()])));
  const batch = table.batches[0]!;
  for (let begin = 0; begin < batch.numRows; begin++) {
    const slice = batch.slice(begin, batch.numRows);
    const encoder = new FlightDataEncoder();
    const back = new Table(RecordBatchReader.from(toIpcStream([encoder.encodeSchema(table.schema), ...encoder.encodeBatch(slice)])).readAll());
    t.deepEqual(columns(back), columns(new Table([slice])), `rows ${begin}..`);
  }
});

test('batches of numbers and tensors without nulls, encoded again once their header is remembered, read with apache-arrow (sliced too)', (t) => {
  // The second batch of a layout goes through the encoder's known-header path (no layout
  // objects built): it must write the same bytes as the first path would, whatever the values.
  const flat = (seed: number) => {
    const n = 6;
    const tensor = new FixedSizeList(4, new Field('item', new Float32(), false));
    const nested = new FixedSizeList(2, new Field('item', new FixedSizeList(3, new Field('item', new Int16(), false)), false));
    return new Table({
      i8: vectorFromArray(Array.from({ length: n }, (_, i) => (i * seed) % 127), new Int8()),
      u64: vectorFromArray(Array.from({ length: n }, (_, i) => BigInt(i * seed) * 2n ** 40n), new Uint64()),
      f16: vectorFromArray(Array.from({ length: n }, (_, i) => i + seed / 4), new Float16()),
      f64: vectorFromArray(Array.from({ length: n }, (_, i) => i * Math.PI * seed), new Float64()),
      tensor: vectorFromArray(Array.from({ length: n }, (_, i) => Float32Array.from([i, seed, -i, i * seed])), tensor),
      nested: vectorFromArray(Array.from({ length: n }, (_, i) => [Int16Array.from([i, seed, 1]), Int16Array.from([-i, 2, seed])]), nested),
    });
  };
  const first = flat(1);
  const again = flat(7);
  // Every batch keeps the first one's Schema object, as a server's answers of one method do
  // (the remembered headers are per Schema object).
  const schema = first.schema;
  const second = recordBatchOf(schema, again.batches[0]!.data);
  for (let begin = 0; begin < first.numRows; begin++) {
    const encoder = new FlightDataEncoder();
    const slices = [sliceBatch(first.batches[0]!, begin, first.numRows), sliceBatch(second, begin, second.numRows)];
    const messages = [encoder.encodeSchema(schema), ...encoder.encodeBatch(slices[0]!), ...encoder.encodeBatch(slices[1]!)];
    const back = RecordBatchReader.from(toIpcStream(messages)).readAll();
    t.is(back.length, 2);
    t.deepEqual(columns(new Table([back[1]!])), columns(new Table([slices[1]!])), `rows ${begin}..`);
    t.notDeepEqual(columns(new Table([back[1]!])), columns(new Table([back[0]!])));
  }
});
