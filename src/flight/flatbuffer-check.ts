/**
 * A bounds check of an IPC `Message` flatbuffer before apache-arrow decodes it.
 *
 * Why: apache-arrow trusts every vector length in the flatbuffer and builds that many
 * objects (`Array.from({ length })`), and flatbuffers reads past the end as zeros. So a
 * 500-byte schema message whose field count says 1.4 billion ran the server out of
 * memory. Here every table, vector and string the decoder will read is checked to lie
 * inside the buffer, and the number of tables visited is bounded by the buffer size,
 * which also stops offsets that loop back on themselves.
 */
import { FlightError } from './errors.js';

/** MessageHeader and Type union tags (Arrow's Message.fbs and Schema.fbs). */
const HEADER_SCHEMA = 1;
const HEADER_DICTIONARY_BATCH = 2;
const HEADER_RECORD_BATCH = 3;
const TYPE_UNION = 14;

class Checker {
  private readonly view: DataView;
  /** Tables may be shared, but there cannot be more real ones than 4-byte slots. */
  private tablesLeft: number;

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.tablesLeft = Math.floor(bytes.byteLength / 4);
  }

  fail(reason: string): never {
    throw FlightError.invalidArgument(`malformed data_header: ${reason}`);
  }

  private u32(pos: number): number {
    if (pos < 0 || pos + 4 > this.bytes.byteLength) this.fail(`offset ${pos} is outside the ${this.bytes.byteLength}-byte header`);
    return this.view.getUint32(pos, true);
  }

  private u16(pos: number): number {
    if (pos < 0 || pos + 2 > this.bytes.byteLength) this.fail(`offset ${pos} is outside the ${this.bytes.byteLength}-byte header`);
    return this.view.getUint16(pos, true);
  }

  /** A table at `pos`: returns a function giving the absolute position of field `i`, or 0 if absent. */
  table(pos: number): (field: number) => number {
    if (--this.tablesLeft < 0) this.fail('more tables than the header has room for (offsets loop or overlap)');
    const vtable = pos - (this.u32(pos) | 0);
    const vtableSize = this.u16(vtable);
    const fieldCount = Math.max(0, (vtableSize - 4) >> 1);
    return (field) => {
      if (field >= fieldCount) return 0;
      const offset = this.u16(vtable + 4 + 2 * field);
      return offset === 0 ? 0 : pos + offset;
    };
  }

  /** Follows the offset stored at `pos` (to a table, vector or string). */
  ref(pos: number): number {
    return pos + this.u32(pos);
  }

  /** Checks that the vector (or string) whose offset is stored at `pos` fits; returns its start and length. */
  vector(pos: number, elementSize: number, what: string): { start: number; length: number } {
    const start = this.ref(pos);
    const length = this.u32(start);
    if (start + 4 + length * elementSize > this.bytes.byteLength) {
      this.fail(`${what} declares ${length} entries, more than the ${this.bytes.byteLength}-byte header holds`);
    }
    return { start: start + 4, length };
  }

  /** The positions of the offsets in a vector of tables, after checking it fits. */
  tables(pos: number, what: string): number[] {
    const { start, length } = this.vector(pos, 4, what);
    return Array.from({ length }, (_, i) => start + 4 * i);
  }

  keyValues(pos: number, what: string): void {
    if (!pos) return;
    for (const entry of this.tables(pos, what)) {
      const kv = this.table(this.ref(entry));
      if (kv(0)) this.vector(kv(0), 1, `${what} key`);
      if (kv(1)) this.vector(kv(1), 1, `${what} value`);
    }
  }

  field(pos: number, depth: number): void {
    if (depth > 64) this.fail('fields nested more than 64 deep');
    const f = this.table(pos);
    if (f(0)) this.vector(f(0), 1, 'field name');
    if (f(3)) {
      const type = this.table(this.ref(f(3)));
      const typeTag = f(2) ? this.bytes[f(2)] : 0;
      if (typeTag === TYPE_UNION && type(1)) this.vector(type(1), 4, 'union type ids');
    }
    if (f(4)) this.table(this.ref(f(4)));
    if (f(5)) for (const child of this.tables(f(5), 'field children')) this.field(this.ref(child), depth + 1);
    this.keyValues(f(6), 'field metadata');
  }

  recordBatch(pos: number): void {
    const rb = this.table(pos);
    if (rb(1)) this.vector(rb(1), 16, 'field node list');
    if (rb(2)) this.vector(rb(2), 16, 'buffer list');
    if (rb(4)) this.vector(rb(4), 8, 'variadic buffer counts');
  }
}

/** Throws FlightError(INVALID_ARGUMENT) if the Message flatbuffer reaches outside itself. */
export function checkMessageFlatbuffer(bytes: Uint8Array): void {
  const c = new Checker(bytes);
  const message = c.table(c.ref(0));
  c.keyValues(message(4), 'message metadata');
  const headerType = message(1) ? bytes[message(1)] : 0;
  if (!message(2)) return;
  const header = c.ref(message(2));
  if (headerType === HEADER_SCHEMA) {
    const schema = c.table(header);
    if (schema(1)) for (const field of c.tables(schema(1), 'schema field list')) c.field(c.ref(field), 0);
    c.keyValues(schema(2), 'schema metadata');
    if (schema(3)) c.vector(schema(3), 8, 'schema features');
  } else if (headerType === HEADER_RECORD_BATCH) {
    c.recordBatch(header);
  } else if (headerType === HEADER_DICTIONARY_BATCH) {
    const dictionary = c.table(header);
    if (dictionary(1)) c.recordBatch(c.ref(dictionary(1)));
  }
}
