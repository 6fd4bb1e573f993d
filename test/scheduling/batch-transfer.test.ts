/**
 * Batches as FlightData bytes: they round-trip, own their buffer, move to a worker by
 * transfer, and a batch that already is a message crosses as that message.
 */
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import test from 'ava';
import { tableFromArrays, type RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../src/codecs/batch.js';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { Tensor, fixedShapeColumn } from '../../src/codecs/tensor.js';
import { fieldFor, types } from '../../src/codecs/payload.js';
import { FlightDataDecoder } from '../../src/flight/decode.js';
import { FlightDataEncoder } from '../../src/flight/encode.js';
import { decodeFlightData, encodeFlightData, type FlightData } from '../../src/flight/flight-data.js';
import { FlightReader, FlightWriter } from '../../src/flight/streams.js';
import { planConform } from '../../src/runner/conform.js';
import type { MethodSignature } from '../../src/runner/signature.js';
import { batchFromBytes, batchToBytes } from '../../src/scheduling/batch-transfer.js';
import { encodeAnswer } from '../../src/scheduling/instance-host.js';

test('a sliced batch of tensors, strings and JSON round-trips, with its schema metadata', (t) => {
  const specs = [
    { name: 't', type: types.tensor('float32', [2, 3]) },
    { name: 's', type: types.string() },
    { name: 'j', type: types.json() },
  ];
  const rows = 5;
  const batch = valuesToBatch(specs, {
    t: new Tensor('float32', Float32Array.from({ length: rows * 6 }, (_, i) => i), [rows, 2, 3]),
    s: ['a', 'bb', 'ccc', 'dddd', 'eeeee'],
    j: [{ a: 1 }, { b: [2] }, null, 'x', 4],
  }, new Map([['flight-runner.params', '{"k":1}']]));
  const slice = batch.slice(1, 4);
  const back = batchFromBytes(batchToBytes(slice));
  t.is(back.numRows, 3);
  t.deepEqual(back.schema.fields.map(String), slice.schema.fields.map(String));
  t.deepEqual(back.schema.fields.map((f) => [...f.metadata]), slice.schema.fields.map((f) => [...f.metadata]));
  t.is(back.schema.metadata.get('flight-runner.params'), '{"k":1}');
  t.deepEqual(back.toArray().map((r) => JSON.stringify(r)), slice.toArray().map((r) => JSON.stringify(r)));
});

test('an empty batch keeps its schema', (t) => {
  const batch = tableFromArrays({ a: new Float64Array(0) }).batches[0]!;
  const back = batchFromBytes(batchToBytes(batch));
  t.is(back.numRows, 0);
  t.deepEqual(back.schema.fields.map(String), batch.schema.fields.map(String));
});

test('the bytes own their buffer, so a transfer moves it instead of copying', (t) => {
  const batch = tableFromArrays({ a: Float64Array.from([1, 2, 3]) }).batches[0]!;
  const bytes = batchToBytes(batch);
  t.is(bytes.byteOffset, 0);
  t.is(bytes.byteLength, bytes.buffer.byteLength);
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(bytes, [bytes.buffer as ArrayBuffer]);
  t.is(bytes.byteLength, 0, 'the sender\'s view is detached: the buffer moved');
  const received = receiveMessageOnPort(port2)!.message as Uint8Array;
  t.deepEqual(Array.from(batchFromBytes(received).getChild('a')!.toArray() as Float64Array), [1, 2, 3]);
  port1.close();
});

// What a peer sends is often not what our encoder would write for the same rows (other
// buffer alignment, padding, a longer body). Here: our message with 8 more body bytes,
// which every reader ignores. Such a batch must reach the worker as those very bytes.
function receivedFromPeer(batch: RecordBatch): { received: RecordBatch; header: Uint8Array; body: Uint8Array } {
  const encoder = new FlightDataEncoder();
  const [ours] = encoder.encodeBatch(batch);
  const body = new Uint8Array([...concatParts(ours!.dataBody!), ...new Uint8Array(8).fill(0xab)]);
  const wire = [encoder.encodeSchema(batch.schema), { dataHeader: ours!.dataHeader, dataBody: body }].map(encodeFlightData);
  const decoder = new FlightDataDecoder();
  let received: RecordBatch | undefined;
  for (const bytes of wire) {
    const message = decoder.decode(decodeFlightData(bytes));
    if (message.kind === 'batch') received = message.batch;
  }
  return { received: received!, header: ours!.dataHeader!, body };
}

function concatParts(body: Uint8Array | readonly Uint8Array[]): Uint8Array {
  return body instanceof Uint8Array ? body : new Uint8Array(Buffer.concat(body.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
}

/** One-row tensor batch as a client sends it: `x`, float32 [4]. */
function tensorRequest(): RecordBatch {
  const x = fixedShapeColumn(new Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]));
  return batchFromColumns([fieldFor('x', types.tensor('float32', [4]))], [x], 1);
}

const signature = (dtype: 'float32' | 'float64'): MethodSignature => ({
  name: 'm', batchable: true, inputs: [{ name: 'x', type: types.tensor(dtype, [4]) }], outputs: [{ name: 'y', type: types.tensor(dtype, [4]) }],
});

/** The batch message inside transferred bytes, read by the layout batch-transfer.ts documents. */
function batchMessageOf(bytes: Uint8Array): { data: ReturnType<typeof decodeFlightData>; flags: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let last: { data: ReturnType<typeof decodeFlightData>; flags: number } | undefined;
  for (let pos = 0; pos < bytes.byteLength;) {
    const size = view.getUint32(pos, true);
    const start = pos + 8 + view.getUint16(pos + 4, true);
    last = { data: decodeFlightData(bytes.subarray(start, start + size)), flags: view.getUint16(pos + 6, true) };
    pos = start + size;
  }
  return last!;
}

test('a request conformed without change crosses to the worker as the message it came in, byte for byte', (t) => {
  const { received, header, body } = receivedFromPeer(tensorRequest());
  const conformed = planConform('r', signature('float32'), received.schema)(received);
  const bytes = batchToBytes(conformed);
  const { data, flags } = batchMessageOf(bytes);
  t.deepEqual(Array.from(data.dataHeader!), Array.from(header));
  t.deepEqual(Array.from(data.dataBody!), Array.from(body), 'the peer\'s body, its 8 extra bytes included');
  t.is(flags, 0, 'marked as a peer\'s bytes');
  // The worker reads the conformed schema with those rows.
  const back = batchFromBytes(bytes);
  t.is(back.schema.fields[0]!.metadata.get('ARROW:extension:name'), 'arrow.fixed_shape_tensor');
  t.deepEqual(Array.from(back.getChild('x')!.data[0]!.children[0]!.values as Float32Array), [1, 2, 3, 4]);
});

test('a request the conform changed (float32 widened to float64) crosses as our encoding of the new rows', (t) => {
  const { received, body } = receivedFromPeer(tensorRequest());
  const conformed = planConform('r', signature('float64'), received.schema)(received);
  const bytes = batchToBytes(conformed);
  const { data, flags } = batchMessageOf(bytes);
  t.is(flags, 1, 'marked as ours');
  t.not(data.dataBody!.byteLength, body.byteLength);
  t.deepEqual(Array.from(batchFromBytes(bytes).getChild('x')!.data[0]!.children[0]!.values as Float64Array), [1, 2, 3, 4]);
});

test('a worker\'s answer goes on to the caller as the worker\'s message, not encoded again', async (t) => {
  const answer = tableFromArrays({ y: Float64Array.from([1.5, 2.5]) }).batches[0]!;
  const bytes = batchToBytes(answer); // in the worker
  const { data } = batchMessageOf(bytes);
  const decoded = batchFromBytes(bytes); // on the server's thread
  const sent: FlightData[] = [];
  const writer = new FlightWriter(async (message) => { sent.push(message); });
  await writer.write(decoded);
  const batchMessage = sent.at(-1)!;
  t.true(batchMessage.dataBody instanceof Uint8Array, 'one body: the transferred bytes, not the parts of a new encoding');
  t.is((batchMessage.dataBody as Uint8Array).buffer, bytes.buffer, 'a view of the transferred buffer: no copy');
  t.deepEqual(Array.from(batchMessage.dataBody as Uint8Array), Array.from(data.dataBody!));
  t.deepEqual(Array.from(batchMessage.dataHeader!), Array.from(data.dataHeader!));
  const reader = new FlightReader((async function* () { for (const m of sent) yield decodeFlightData(encodeFlightData(m)); })());
  t.deepEqual(Array.from((await reader.readAll()).getChild('y')!.toArray() as Float64Array), [1.5, 2.5]);
});

test('a peer\'s message is never sent back to a peer as it came: the writer encodes the rows itself', async (t) => {
  const { received, header } = receivedFromPeer(tableFromArrays({ a: Int32Array.from([7, 8]) }).batches[0]!);
  const sent: FlightData[] = [];
  const writer = new FlightWriter(async (message) => { sent.push(message); });
  await writer.write(received);
  const batchMessage = sent.at(-1)!;
  t.deepEqual(Array.from(batchMessage.dataHeader!), Array.from(header), 'same layout, so the same header');
  t.is(concatParts(batchMessage.dataBody!).byteLength, 8, 'our body: the two values, without the peer\'s extra bytes');
});

test('an instance\'s answer crosses under the declared output schema when it has its content, and as it is otherwise', (t) => {
  const sig: MethodSignature = {
    name: 'm', batchable: true, inputs: [], outputs: [{ name: 'a', type: types.scalar('float64') }, { name: 'b', type: types.scalar('int32') }],
  };
  const declared = valuesToBatch(sig.outputs, { a: Float64Array.from([1]), b: Int32Array.from([2]) });
  const same = batchFromBytes(encodeAnswer(sig, declared));
  t.deepEqual(same.schema.fields.map(String), declared.schema.fields.map(String));
  t.deepEqual(same.toArray().map((r) => r.toJSON()), [{ a: 1, b: 2 }]);
  // Out of order: passed on as the runner made it, for the server's check to name.
  const swapped = valuesToBatch([sig.outputs[1]!, sig.outputs[0]!], { a: Float64Array.from([1]), b: Int32Array.from([2]) });
  t.deepEqual(batchFromBytes(encodeAnswer(sig, swapped)).schema.fields.map((f) => f.name), ['b', 'a']);
});
