/**
 * The FlightData message a record batch was decoded from, remembered for as long as the
 * batch's columns live, so a batch that goes on unchanged is sent as those bytes instead
 * of being encoded again: a request on its way to a worker thread, a worker's answer on
 * its way to the caller (scheduling/batch-transfer.ts, FlightDataEncoder.encodeBatch).
 *
 * Keyed by the column Data objects, not the RecordBatch: a batch rebuilt around the very
 * same columns (a conformed input whose columns needed no change, a checked output) is
 * the same rows with the same layout, so the same message encodes it, whatever its
 * schema object; a slice, a concatenation or a changed column is new Data and has none.
 * Only messages that stand alone are remembered: uncompressed, of a schema without
 * dictionaries (a batch message refers to its dictionaries by id).
 */
import type { Data, RecordBatch } from 'apache-arrow';

/** One record batch message: its IPC header and body, as received. */
export interface EncodedBatch {
  dataHeader: Uint8Array;
  dataBody: Uint8Array;
  /**
   * Our FlightDataEncoder wrote these bytes (in this or another thread), so they are what
   * encoding the batch again would give. False for a peer's bytes: those are passed on
   * only to our own decoder (which reads them as this batch was read), never back to a
   * peer, whose reader may not read them as ours did.
   */
  ours: boolean;
}

interface Entry {
  columns: readonly Data[];
  length: number;
  encoded: EncodedBatch;
}

/**
 * Kept on the batch's first column, under a symbol of ours (no field of apache-arrow's is
 * read or written); the entry names every column, checked on lookup. Not a WeakMap: its
 * entries, made and dropped with every batch, tripled the garbage collector's share of
 * decoding a one-row batch (measured: 30% of the time against 5%).
 */
const ENTRY = Symbol('flight-runner.encoded-batch');
type Keyed = Data & { [ENTRY]?: Entry };

/** Remembers the message `batch` was decoded from (see the module comment for which qualify). */
export function rememberEncodedBatch(batch: RecordBatch, encoded: EncodedBatch): void {
  const columns = batch.data.children;
  if (!columns.length || batch.data.offset !== 0) return;
  // A symbol key: Object.keys, for...in and JSON never see it, so comparisons and printing
  // of the column still see apache-arrow's fields only. (Object.defineProperty, to make it
  // non-enumerable too, cost a one-row call ~1.5 us.)
  (columns[0] as Keyed)[ENTRY] = { columns, length: batch.numRows, encoded };
}

/**
 * The message a batch with exactly these columns was decoded from, if one was remembered.
 *
 * @example
 * const known = encodedBatchOf(batch);
 * const messages = known ? [known] : encoder.encodeBatch(batch);
 */
export function encodedBatchOf(batch: RecordBatch): EncodedBatch | undefined {
  const columns = batch.data.children;
  if (!columns.length || batch.data.offset !== 0) return undefined;
  const entry = (columns[0] as Keyed)[ENTRY];
  if (!entry || entry.length !== batch.numRows || entry.columns.length !== columns.length) return undefined;
  for (let i = 1; i < columns.length; i++) if (columns[i] !== entry.columns[i]) return undefined;
  return entry.encoded;
}
