/**
 * Decoded IPC message headers, remembered by their bytes. A service gets the same few
 * headers over and over: every call of a method opens with the same schema message,
 * and batches of the same row count and layout carry byte-identical record batch
 * headers. Checking and decoding a flatbuffer (and, for a schema, building its fields
 * and types) was a third of decoding a one-row call; a hit costs one string lookup.
 *
 * Sharing is safe because what is cached is immutable once decoded: Schema objects and
 * apache-arrow's RecordBatch/DictionaryBatch header descriptions are only read.
 */
import type { MessageHeader, MetadataVersion, Schema } from 'apache-arrow';
import type { ipc } from './arrow-internals.js';

/** An IPC message header, decoded and checked. */
export interface DecodedHeader {
  headerType: MessageHeader;
  version: MetadataVersion;
  bodyLength: number;
  header: Schema | ipc.RecordBatch | ipc.DictionaryBatch;
}

/**
 * A bounded map from header bytes to decoded headers. Bounded in entries and in the size
 * of a header it keeps, so a client sending ever-new headers costs at most
 * `maxEntries * maxHeaderBytes` of keys; the oldest entry goes first.
 *
 * @example
 * const cache = new HeaderCache();
 * const decoded = cache.get(bytes) ?? cache.set(bytes, decode(bytes));
 */
export class HeaderCache {
  private readonly entries = new Map<string, DecodedHeader>();

  constructor(readonly maxEntries = 256, readonly maxHeaderBytes = 4096) {}

  /** The decoded header for these bytes, if it was decoded before. */
  get(bytes: Uint8Array): DecodedHeader | undefined {
    if (bytes.byteLength > this.maxHeaderBytes || this.entries.size === 0) return undefined;
    return this.entries.get(keyOf(bytes));
  }

  /** Remembers `decoded` for these bytes (if small enough to keep) and returns it. */
  set(bytes: Uint8Array, decoded: DecodedHeader): DecodedHeader {
    if (bytes.byteLength > this.maxHeaderBytes) return decoded;
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(keyOf(bytes), decoded);
    return decoded;
  }

  /** Number of headers kept. */
  get size(): number {
    return this.entries.size;
  }
}

/** The bytes as a string key: latin1 maps each byte to one char, so equal keys mean equal bytes. */
function keyOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
