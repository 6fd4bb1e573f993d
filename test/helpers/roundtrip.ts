/**
 * Test helper: the Flight codec end to end without gRPC. A table goes through
 * FlightDataEncoder -> encodeFlightData (protobuf bytes) -> decodeFlightData ->
 * FlightDataDecoder, exactly as it would cross the wire, and comes back as a Table.
 */
import { MapRow, StructRow, Table, Vector, type RecordBatch, type Schema } from 'apache-arrow';
import {
  FlightDataDecoder, FlightDataEncoder, decodeFlightData, encodeFlightData,
  type EncoderOptions, type FlightData, type FlightMessage,
} from '../../src/flight/index.js';

/** What one round trip produced, for tests that look past the values. */
export interface RoundTrip {
  /** The decoded batches as a table with the decoded schema. */
  table: Table;
  /** The decoded batches, one per record-batch message (slices stay separate). */
  batches: RecordBatch[];
  /** Every decoded message, schema and dictionaries included, in stream order. */
  messages: FlightMessage[];
  /** The protobuf bytes of every message, in stream order. */
  wire: Buffer[];
}

/** Encodes a whole stream (schema then every batch) into FlightData messages. */
export function encodeStream(table: Table, options: EncoderOptions = {}): FlightData[] {
  const encoder = new FlightDataEncoder(options);
  const out: FlightData[] = [encoder.encodeSchema(table.schema)];
  for (const batch of table.batches) out.push(...encoder.encodeBatch(batch));
  return out;
}

/** Decodes protobuf FlightData bytes, in order, with one stream decoder. */
export function decodeStream(wire: readonly Uint8Array[]): { messages: FlightMessage[]; schema?: Schema } {
  const decoder = new FlightDataDecoder();
  const messages = wire.map((bytes) => decoder.decode(decodeFlightData(bytes)));
  return { messages, ...(decoder.schema ? { schema: decoder.schema } : {}) };
}

/** Encodes `table` as a Flight stream, serializes, parses and decodes it again. */
export function roundtrip(table: Table, options: EncoderOptions = {}): RoundTrip {
  const wire = encodeStream(table, options).map(encodeFlightData);
  const { messages, schema } = decodeStream(wire);
  const batches = messages.flatMap((m) => (m.kind === 'batch' ? [m.batch] : []));
  const result = batches.length ? new Table(batches) : new Table(schema ?? table.schema);
  return { table: result, batches, messages, wire };
}

/**
 * A value as plain JavaScript, so that ava's deepEqual compares contents, not
 * apache-arrow's proxy objects: rows and maps become objects or entry lists, vectors
 * and typed arrays become arrays. Bigints, Dates and strings stay as they are.
 */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object') return value;
  if (value instanceof Date) return value;
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, plain);
  if (value instanceof Vector) return Array.from({ length: value.length }, (_, i) => plain(value.get(i)));
  // A map row iterates [key, value] pairs; keep them as pairs, since keys need not be strings.
  if (value instanceof MapRow) return Array.from(value as Iterable<[unknown, unknown]>, ([k, v]) => [plain(k), plain(v)]);
  if (value instanceof StructRow) return Object.fromEntries(Object.entries(value.toJSON()).map(([k, v]) => [k, plain(v)]));
  if (Array.isArray(value)) return value.map(plain);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

/** Every column of a table as plain values, keyed by field name. */
export function columns(table: Table): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [i, field] of table.schema.fields.entries()) {
    const column = table.getChildAt(i)!;
    out[field.name] = Array.from({ length: column.length }, (_, row) => plain(column.get(row)));
  }
  return out;
}

/** A schema as comparable data: names, types, nullability and metadata, nested fields included. */
export function describeSchema(schema: Schema): unknown {
  const field = (f: Schema['fields'][number]): unknown => ({
    name: f.name,
    type: String(f.type),
    nullable: f.nullable,
    metadata: Object.fromEntries(f.metadata),
    children: (f.type.children ?? []).map(field),
  });
  return { fields: schema.fields.map(field), metadata: Object.fromEntries(schema.metadata) };
}
