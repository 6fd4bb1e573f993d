/**
 * Reading protobuf by hand, for the messages the Flight library decodes itself
 * (FlightData, FlightDescriptor inside it, Ticket): one reader, so every one of them
 * refuses the same malformed input the same way.
 */
import { FlightError } from './errors.js';

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;
const MAX_FIELD_NUMBER = 2 ** 29 - 1;

/**
 * A cursor over protobuf bytes that fails with INVALID_ARGUMENT naming the message and
 * what was wrong. Every length is checked against the bytes present before it is used.
 */
export class ProtoReader {
  pos = 0;
  constructor(readonly buf: Uint8Array, readonly what: string) {}

  get done(): boolean {
    return this.pos >= this.buf.byteLength;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.buf.byteLength) throw this.fail('truncated varint');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw this.fail('varint longer than 10 bytes');
  }

  /**
   * The next field's number and wire type. Field 0, numbers past 2^29 - 1 and the wire
   * types protobuf does not define (or groups, which no Flight message uses) are invalid:
   * accepting tag 0 would walk a message of zeros as a gigabyte of empty fields.
   */
  tag(): { field: number; wire: number } {
    const tag = this.varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw this.fail(`field number 0 at byte ${this.pos - 1} (protobuf field numbers start at 1)`);
    if (field > MAX_FIELD_NUMBER) throw this.fail(`field number ${field} is above protobuf's maximum ${MAX_FIELD_NUMBER}`);
    if (wire !== WIRE_VARINT && wire !== WIRE_I64 && wire !== WIRE_LEN && wire !== WIRE_I32) {
      throw this.fail(`field ${field} has wire type ${wire}, which Flight messages do not use (0, 1, 2 or 5)`);
    }
    return { field, wire };
  }

  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.buf.byteLength - this.pos) {
      throw this.fail(`field length ${len} runs past the end of the message (${this.buf.byteLength - this.pos} bytes left)`);
    }
    const view = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return view;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT: this.varint(); return;
      case WIRE_I64: this.advance(8); return;
      case WIRE_LEN: this.bytes(); return;
      case WIRE_I32: this.advance(4); return;
      default: throw this.fail(`unsupported protobuf wire type ${wireType}`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.buf.byteLength) throw this.fail('truncated fixed-width field');
    this.pos += n;
  }

  fail(reason: string): FlightError {
    return FlightError.invalidArgument(`malformed ${this.what}: ${reason}`);
  }
}
