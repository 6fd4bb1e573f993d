/**
 * The two small protobuf messages of the data RPCs besides FlightData: DoGet's request
 * `Ticket { bytes ticket = 1; }` and DoPut's response `PutResult { bytes app_metadata = 1; }`.
 */
import { ProtoReader, WIRE_LEN } from '../proto-reader.js';

/** The bytes of a Ticket message (the last `ticket` field wins, as in protobuf). */
export function decodeTicket(buf: Uint8Array): Uint8Array {
  const r = new ProtoReader(buf, 'Ticket');
  let ticket = new Uint8Array(0);
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_LEN) ticket = r.bytes().slice();
    else r.skip(wire);
  }
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
