/**
 * A call's request metadata (its HTTP/2 headers that are not transport), read the way
 * gRPC libraries read it: keys lowercase, `-bin` values base64-decoded to Buffers, a
 * repeated header as several values. Built lazily: most calls never look.
 */
import type { IncomingHttpHeaders } from 'node:http2';
import { TRANSPORT_HEADERS } from './wire.js';

/** A metadata value: text, or bytes for keys ending in `-bin`. */
export type MetadataValue = string | Buffer;

const TRANSPORT = new Set(TRANSPORT_HEADERS);

/** Request metadata with grpc-js Metadata's reading methods (`get`, `getMap`), which handlers use. */
export class RequestMetadata {
  private entries?: Map<string, MetadataValue[]>;

  constructor(private readonly headers: IncomingHttpHeaders) {}

  /** Every value of `key` (case-insensitive), in the order received; [] when absent. */
  get(key: string): MetadataValue[] {
    return this.map().get(key.toLowerCase())?.slice() ?? [];
  }

  /** The first value of each key. */
  getMap(): Record<string, MetadataValue> {
    const out: Record<string, MetadataValue> = {};
    for (const [key, values] of this.map()) if (values.length) out[key] = values[0]!;
    return out;
  }

  toJSON(): Record<string, MetadataValue[]> {
    return Object.fromEntries(this.map());
  }

  private map(): Map<string, MetadataValue[]> {
    if (this.entries) return this.entries;
    const entries = new Map<string, MetadataValue[]>();
    for (const [key, raw] of Object.entries(this.headers)) {
      if (key.startsWith(':') || TRANSPORT.has(key) || raw === undefined) continue;
      const texts = Array.isArray(raw) ? raw : [String(raw)];
      const values: MetadataValue[] = key.endsWith('-bin')
        ? texts.flatMap((t) => t.split(',')).map((t) => Buffer.from(t.trim(), 'base64'))
        : texts;
      entries.set(key, values);
    }
    this.entries = entries;
    return entries;
  }
}
