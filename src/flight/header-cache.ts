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

/** A header's bytes (a copy the cache owns) and what they decode to. */
interface Entry {
  bytes: Uint8Array;
  decoded: DecodedHeader;
}

/** Headers of one length kept at most: a lookup compares against each (see HeaderCache). */
const MAX_SAME_LENGTH = 16;

/**
 * A bounded map from header bytes to decoded headers. Bounded in entries and in the size
 * of a header it keeps, so a client sending ever-new headers costs at most
 * `maxEntries * maxHeaderBytes` of copies; the oldest entry goes first.
 *
 * Looked up by length, then by comparing bytes (a native memcmp, no allocation): making
 * a string key of each header, as this did before, cost ~2 us a lookup, twice per call.
 * At most MAX_SAME_LENGTH headers of one length are kept (the oldest of that length
 * goes first), so a lookup compares at most that many.
 *
 * @example
 * const cache = new HeaderCache();
 * const decoded = cache.get(bytes) ?? cache.set(bytes, decode(bytes));
 */
export class HeaderCache {
  private readonly byLength = new Map<number, Entry[]>();
  /** Every entry, oldest first. */
  private readonly entries = new Set<Entry>();

  constructor(readonly maxEntries = 256, readonly maxHeaderBytes = 4096) {}

  /** The decoded header for these bytes, if it was decoded before. */
  get(bytes: Uint8Array): DecodedHeader | undefined {
    if (bytes.byteLength > this.maxHeaderBytes) return undefined;
    const same = this.byLength.get(bytes.byteLength);
    if (!same) return undefined;
    for (const entry of same) if (Buffer.compare(entry.bytes, bytes) === 0) return entry.decoded;
    return undefined;
  }

  /** Remembers `decoded` for these bytes (if small enough to keep) and returns it. */
  set(bytes: Uint8Array, decoded: DecodedHeader): DecodedHeader {
    if (bytes.byteLength > this.maxHeaderBytes || this.maxEntries <= 0) return decoded;
    if (this.entries.size >= this.maxEntries) this.remove(this.entries.values().next().value!);
    const full = this.byLength.get(bytes.byteLength);
    if (full && full.length >= MAX_SAME_LENGTH) this.remove(full[0]!);
    // A copy: the bytes given are a view into a message buffer that is not the cache's.
    const entry = { bytes: new Uint8Array(bytes), decoded };
    const same = this.byLength.get(bytes.byteLength);
    if (same) same.push(entry);
    else this.byLength.set(bytes.byteLength, [entry]);
    this.entries.add(entry);
    return decoded;
  }

  /** Number of headers kept. */
  get size(): number {
    return this.entries.size;
  }

  private remove(entry: Entry): void {
    this.entries.delete(entry);
    const same = this.byLength.get(entry.bytes.byteLength)!;
    same.splice(same.indexOf(entry), 1);
    if (same.length === 0) this.byLength.delete(entry.bytes.byteLength);
  }
}
