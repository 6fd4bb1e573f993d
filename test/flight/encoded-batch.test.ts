/** A decoded batch keeps the FlightData message it came in, and only while it is that batch's rows. */
import test from 'ava';
import { Field, Float64, tableFromArrays, type RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../../src/codecs/batch.js';
import { FlightDataDecoder } from '../../src/flight/decode.js';
import { FlightDataEncoder } from '../../src/flight/encode.js';
import { encodedBatchOf } from '../../src/flight/encoded-batch.js';
import { decodeFlightData, encodeFlightData } from '../../src/flight/flight-data.js';
import { sliceBatch } from '../../src/flight/record-batch.js';

/** Decodes `batch`'s messages as a reader does, each message `shift` bytes into its own buffer. */
function received(batch: RecordBatch, shift = 0): { batch: RecordBatch; bodyOffset: number; buffer: ArrayBufferLike } {
  const encoder = new FlightDataEncoder();
  const decoder = new FlightDataDecoder();
  let out: { batch: RecordBatch; bodyOffset: number; buffer: ArrayBufferLike } | undefined;
  for (const data of [encoder.encodeSchema(batch.schema), ...encoder.encodeBatch(batch)]) {
    const bytes = encodeFlightData(data);
    const buffer = new Uint8Array(bytes.byteLength + shift);
    buffer.set(bytes, shift);
    const message = decodeFlightData(buffer.subarray(shift));
    const decoded = decoder.decode(message);
    if (decoded.kind === 'batch') out = { batch: decoded.batch, bodyOffset: message.dataBody!.byteOffset, buffer: buffer.buffer };
  }
  return out!;
}

const floats = () => tableFromArrays({ a: Float64Array.from([1, 2, 3]) }).batches[0]!;

test('a batch rebuilt around the decoded columns keeps the message; a slice or other columns do not', (t) => {
  const { batch } = received(floats());
  const known = encodedBatchOf(batch);
  t.truthy(known);
  t.false(known!.ours, 'bytes from a peer');
  t.is(encodedBatchOf(batchFromColumns([new Field('renamed', new Float64())], [batch.getChildAt(0)!], 3)), known);
  t.is(encodedBatchOf(sliceBatch(batch, 1, 3)), undefined);
  t.is(encodedBatchOf(floats()), undefined, 'a batch built here has no message');
});

test('a body copied to align it does not keep the receive buffer alive through the header', (t) => {
  // Some shift puts the body off an 8-byte boundary, so the decoder copies it.
  const misaligned = [1, 2, 3, 4, 5, 6, 7].map((shift) => received(floats(), shift)).find((r) => r.bodyOffset % 8 !== 0)!;
  const known = encodedBatchOf(misaligned.batch)!;
  t.not(known.dataBody.buffer, misaligned.buffer, 'the body is the aligned copy');
  t.not(known.dataHeader.buffer, misaligned.buffer, 'the header is a copy too, not a view of the receive buffer');
  t.deepEqual(Array.from(misaligned.batch.getChild('a')!.toArray() as Float64Array), [1, 2, 3]);
});

test('a batch of a schema with dictionaries keeps no message (it needs its dictionaries to be read)', (t) => {
  const { batch } = received(tableFromArrays({ s: ['x', 'y', 'x'] }).batches[0]!);
  t.true(batch.schema.dictionaries.size > 0);
  t.is(encodedBatchOf(batch), undefined);
});
