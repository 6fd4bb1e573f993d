/** Batches as IPC bytes: they round-trip, own their buffer, and move to a worker by transfer. */
import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import test from 'ava';
import { tableFromArrays } from 'apache-arrow';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { Tensor } from '../../src/codecs/tensor.js';
import { types } from '../../src/codecs/payload.js';
import { batchFromBytes, batchToBytes } from '../../src/scheduling/batch-transfer.js';

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
