/**
 * Record batches across a thread or process boundary, as Arrow IPC stream bytes. The
 * bytes own their whole ArrayBuffer, so a worker message can move it (transfer list)
 * instead of copying it, and the receiver's columns are views into it.
 */
import { RecordBatch, RecordBatchReader, RecordBatchStreamWriter } from 'apache-arrow';

/**
 * Encodes one batch as an IPC stream (schema, then the batch). The result's buffer
 * holds exactly these bytes, so `bytes.buffer` may go in a transfer list.
 *
 * @example
 * const bytes = batchToBytes(batch);
 * worker.postMessage({ batch: bytes }, [bytes.buffer]);
 */
export function batchToBytes(batch: RecordBatch): Uint8Array {
  const bytes = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
  // Transferring a buffer shared with other data would detach that data too: copy then.
  const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return owned ? bytes : bytes.slice();
}

/** Decodes what {@link batchToBytes} made. The batch's columns view `bytes` (no copy). */
export function batchFromBytes(bytes: Uint8Array): RecordBatch {
  const reader = RecordBatchReader.from(bytes);
  for (const batch of reader) return batch;
  // A stream with a schema and no batch: an empty batch of that schema.
  return new RecordBatch(reader.schema);
}
