/**
 * Record batches across a thread or process boundary, as the same FlightData messages
 * the wire carries (schema, any dictionaries, the batch), packed into one buffer. The
 * bytes own their whole ArrayBuffer, so a worker message can move it (transfer list)
 * instead of copying it, and the receiver's columns are views into it.
 *
 * Why not apache-arrow's IPC stream writer and reader: they cost ~100 us each way for a
 * one-row batch, four times per call to a worker. Our codec remembers the headers of a
 * method's batches (flight/header-cache.ts, encode.ts), so a one-row call crosses in a
 * few microseconds, and each body is copied once, into the transferred buffer.
 *
 * A batch that already is a FlightData message is not encoded again: a request that goes
 * to the worker as it came off the wire (its conformed columns are the received ones)
 * crosses as the received message, and an answer decoded here keeps the worker's message
 * for the writer that sends it on (flight/encoded-batch.ts). Either way its bytes are
 * copied once, into the transferred buffer.
 *
 * Layout, per message: u32 message length, u16 padding length, u16 flags (little-endian),
 * the padding, then the FlightData protobuf; the padding puts the message's body on an
 * 8-byte boundary, so the receiver reads it in place. Flag OURS on a batch message: our
 * encoder wrote it (not a peer), so the receiver may send it on to a peer as it is.
 */
import { RecordBatch } from 'apache-arrow';
import { FlightDataDecoder } from '../flight/decode.js';
import { FlightDataEncoder } from '../flight/encode.js';
import { encodedBatchOf, rememberEncodedBatch } from '../flight/encoded-batch.js';
import { FlightError } from '../flight/errors.js';
import { decodeFlightData, encodeFlightDataFrame, type FlightData } from '../flight/flight-data.js';

/** encodeFlightDataFrame's gRPC prefix, which the parts start with and we do not store. */
const FRAME_PREFIX = 5;
/** Each message's own prefix here: its length, its padding's length and its flags. */
const PREFIX = 8;
/** Flag: a batch message our FlightDataEncoder wrote. */
const OURS = 1;

/**
 * Encodes one batch with its schema into one owned buffer, so `bytes.buffer` may go in
 * a transfer list.
 *
 * @example
 * const bytes = batchToBytes(batch);
 * worker.postMessage({ batch: bytes }, [bytes.buffer]);
 */
export function batchToBytes(batch: RecordBatch): Uint8Array {
  const encoder = new FlightDataEncoder();
  // The message the batch was decoded from, if any, as it is; else encode it (ours).
  const known = encodedBatchOf(batch);
  const batchMessages: FlightData[] = known ? [known] : encoder.encodeBatch(batch);
  const ours = known ? known.ours : true;
  const messages = [encoder.encodeSchema(batch.schema), ...batchMessages].map(encodeFlightDataFrame);
  // First pass: where each message goes, so the buffer is allocated once.
  const layout: { pad: number; size: number }[] = [];
  let total = 0;
  for (const parts of messages) {
    const head = parts[0]!.byteLength - FRAME_PREFIX;
    let size = head;
    for (let i = 1; i < parts.length; i++) size += parts[i]!.byteLength;
    // The body follows the head: pad so that it starts on an 8-byte boundary.
    const pad = (8 - ((total + PREFIX + head) % 8)) % 8;
    layout.push({ pad, size });
    total += PREFIX + pad + size;
  }
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  messages.forEach((parts, m) => {
    const { pad, size } = layout[m]!;
    view.setUint32(pos, size, true);
    view.setUint16(pos + 4, pad, true);
    // The batch message is the last one.
    view.setUint16(pos + 6, ours && m === messages.length - 1 ? OURS : 0, true);
    pos += PREFIX + pad;
    out.set(parts[0]!.subarray(FRAME_PREFIX), pos);
    pos += parts[0]!.byteLength - FRAME_PREFIX;
    for (let i = 1; i < parts.length; i++) {
      out.set(parts[i]!, pos);
      pos += parts[i]!.byteLength;
    }
  });
  return out;
}

/**
 * Decodes what {@link batchToBytes} made. The batch's columns view `bytes` (no copy), and
 * the batch keeps its message for whoever sends it on (flight/encoded-batch.ts).
 */
export function batchFromBytes(bytes: Uint8Array): RecordBatch {
  const decoder = new FlightDataDecoder();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let batch: RecordBatch | undefined;
  let ours = false;
  for (let pos = 0; pos < bytes.byteLength;) {
    if (pos + PREFIX > bytes.byteLength) throw FlightError.internal(`transferred batch bytes end inside a message prefix at ${pos}`);
    const size = view.getUint32(pos, true);
    const start = pos + PREFIX + view.getUint16(pos + 4, true);
    if (start + size > bytes.byteLength) throw FlightError.internal(`transferred batch message at ${pos} runs past the end of its bytes`);
    const message = decoder.decode(decodeFlightData(bytes.subarray(start, start + size)));
    if (message.kind === 'batch') {
      batch = message.batch;
      ours = (view.getUint16(pos + 6, true) & OURS) !== 0;
    }
    pos = start + size;
  }
  if (!decoder.schema) throw FlightError.internal('transferred batch bytes hold no schema');
  // The decoder remembered the message as a peer's; our encoder wrote it.
  const known = batch && ours ? encodedBatchOf(batch) : undefined;
  if (known) rememberEncodedBatch(batch!, { ...known, ours: true });
  // A schema and no batch: an empty batch of that schema.
  return batch ?? new RecordBatch(decoder.schema);
}
