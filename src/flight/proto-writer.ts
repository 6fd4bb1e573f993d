/**
 * Writing protobuf by hand, for the small Flight messages the server answers with
 * (FlightInfo, PollInfo, Result, ActionType, SchemaResult, HandshakeResponse, PutResult):
 * the counterpart of ProtoReader. FlightData has its own zero-copy writer (flight-data.ts).
 */
import { WIRE_I64, WIRE_LEN, WIRE_VARINT } from './proto-reader.js';

/**
 * Appends fields to a growing buffer. Nested messages are written by a sub-writer and
 * added as bytes: the messages here are small, so the one copy costs nothing measurable.
 */
export class ProtoWriter {
  private buf = Buffer.allocUnsafe(64);
  private pos = 0;

  /** A field holding a non-negative integer (uint64, bool, enum, positive int64) below 2^53. */
  uint(field: number, value: number): this {
    this.varint(field * 8 + WIRE_VARINT);
    this.varint(value);
    return this;
  }

  /** An int64 field; negative values take ten bytes (two's complement), as protobuf writes them. */
  int64(field: number, value: number): this {
    if (value >= 0) return this.uint(field, value);
    this.varint(field * 8 + WIRE_VARINT);
    let v = BigInt.asUintN(64, BigInt(Math.trunc(value)));
    this.reserve(10);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
    return this;
  }

  /** A double field. */
  double(field: number, value: number): this {
    this.varint(field * 8 + WIRE_I64);
    this.reserve(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
    return this;
  }

  /** A length-delimited field (bytes, or an already-encoded message). */
  bytes(field: number, value: Uint8Array): this {
    this.varint(field * 8 + WIRE_LEN);
    this.varint(value.byteLength);
    this.reserve(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
    return this;
  }

  /** A string field, as UTF-8. */
  string(field: number, value: string): this {
    return this.bytes(field, Buffer.from(value, 'utf8'));
  }

  /** A nested message field, written by `write` on a fresh writer. */
  message(field: number, write: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    write(sub);
    return this.bytes(field, sub.finish());
  }

  /** The bytes written so far (a view of this writer's buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private varint(n: number): void {
    this.reserve(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 128) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
