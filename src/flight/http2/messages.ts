/**
 * The two small protobuf messages of the data RPCs besides FlightData: DoGet's request
 * `Ticket { bytes ticket = 1; }` and DoPut's response `PutResult { bytes app_metadata = 1; }`.
 */
import { FlightError } from '../errors.js';

function readVarint(buf: Uint8Array, at: { pos: number }): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= buf.byteLength) throw FlightError.invalidArgument('malformed Ticket: truncated varint');
    const byte = buf[at.pos++]!;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return result;
    scale *= 128;
  }
  throw FlightError.invalidArgument('malformed Ticket: varint longer than 10 bytes');
}

/** The bytes of a Ticket message (the last `ticket` field wins, as in protobuf). */
export function decodeTicket(buf: Uint8Array): Uint8Array {
  const at = { pos: 0 };
  let ticket = new Uint8Array(0);
  while (at.pos < buf.byteLength) {
    const tag = readVarint(buf, at);
    const wire = tag & 7;
    if (wire === 2) {
      const len = readVarint(buf, at);
      if (len > buf.byteLength - at.pos) throw FlightError.invalidArgument('malformed Ticket: field runs past the end of the message');
      if (Math.floor(tag / 8) === 1) ticket = buf.slice(at.pos, at.pos + len);
      at.pos += len;
    } else if (wire === 0) readVarint(buf, at);
    else if (wire === 1) at.pos += 8;
    else if (wire === 5) at.pos += 4;
    else throw FlightError.invalidArgument(`malformed Ticket: unsupported wire type ${wire}`);
  }
  if (at.pos > buf.byteLength) throw FlightError.invalidArgument('malformed Ticket: truncated fixed-width field');
  return ticket;
}

/** A PutResult carrying `appMetadata` (empty bytes encode as the empty message). */
export function encodePutResult(appMetadata: Uint8Array): Uint8Array {
  if (appMetadata.byteLength === 0) return new Uint8Array(0);
  let len = appMetadata.byteLength;
  const lenBytes: number[] = [];
  while (len >= 0x80) {
    lenBytes.push((len & 0x7f) | 0x80);
    len = Math.floor(len / 128);
  }
  lenBytes.push(len);
  const out = new Uint8Array(1 + lenBytes.length + appMetadata.byteLength);
  out[0] = 0x0a;
  out.set(lenBytes, 1);
  out.set(appMetadata, 1 + lenBytes.length);
  return out;
}
