/**
 * The small Flight messages on the wire, as the server reads and writes them: every
 * request through ProtoReader (so every one refuses malformed input the same way, with
 * INVALID_ARGUMENT naming the message and the byte), every answer through ProtoWriter.
 * Field numbers are flight-proto/Flight.proto's. FlightData is flight-data.ts's.
 */
import type { Schema } from 'apache-arrow';
import type { FlightDescriptor } from './descriptor.js';
import { encodeSchemaBytes } from './encode.js';
import { decodeDescriptor, encodeDescriptor } from './flight-data.js';
import type { Action, ActionType, FlightInfo, PollInfo } from './messages.js';
import { ProtoReader, WIRE_LEN } from './proto-reader.js';
import { ProtoWriter } from './proto-writer.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads `msg`, handing each field to `field`; fields it does not take are skipped (as protobuf does). */
function readFields(buf: Uint8Array, what: string, field: (r: ProtoReader, number: number, wire: number) => boolean): void {
  const r = new ProtoReader(buf, what);
  while (!r.done) {
    const { field: number, wire } = r.tag();
    if (!field(r, number, wire)) r.skip(wire);
  }
}

/** The last occurrence of bytes field `number` (protobuf's rule for a repeated scalar), copied. */
function bytesField(buf: Uint8Array, what: string, number: number): Uint8Array {
  let out = new Uint8Array(0);
  readFields(buf, what, (r, n, wire) => {
    if (n !== number || wire !== WIRE_LEN) return false;
    out = r.bytes().slice();
    return true;
  });
  return out;
}

/** `Ticket { bytes ticket = 1; }`: DoGet's request. */
export const decodeTicket = (buf: Uint8Array): Uint8Array => bytesField(buf, 'Ticket', 1);

/** `Criteria { bytes expression = 1; }`: ListFlights' request. */
export const decodeCriteria = (buf: Uint8Array): Uint8Array => bytesField(buf, 'Criteria', 1);

/** `HandshakeRequest { uint64 protocol_version = 1; bytes payload = 2; }`: the payload. */
export const decodeHandshakeRequest = (buf: Uint8Array): Uint8Array => bytesField(buf, 'HandshakeRequest', 2);

/** `FlightDescriptor`: the request of GetFlightInfo, PollFlightInfo and GetSchema. */
export const decodeFlightDescriptor = (buf: Uint8Array): FlightDescriptor => decodeDescriptor(buf);

/** `Empty {}`: ListActions' request; any field it carries is still checked to be protobuf. */
export function decodeEmpty(buf: Uint8Array): void {
  readFields(buf, 'Empty', () => false);
}

/** `Action { string type = 1; bytes body = 2; }`: DoAction's request. */
export function decodeAction(buf: Uint8Array): Action {
  const action: Action = { type: '', body: new Uint8Array(0) };
  readFields(buf, 'Action', (r, n, wire) => {
    if (wire !== WIRE_LEN) return false;
    if (n === 1) {
      try {
        action.type = utf8.decode(r.bytes());
      } catch {
        throw r.fail('type is not valid UTF-8');
      }
      return true;
    }
    if (n === 2) {
      action.body = r.bytes().slice();
      return true;
    }
    return false;
  });
  return action;
}

/** `bytes payload = 2` of HandshakeResponse. */
export const encodeHandshakeResponse = (payload: Uint8Array): Uint8Array =>
  payload.byteLength ? new ProtoWriter().bytes(2, payload).finish() : new Uint8Array(0);

/** `Result { bytes body = 1; }`: one answer of DoAction. */
export const encodeResult = (body: Uint8Array): Uint8Array =>
  body.byteLength ? new ProtoWriter().bytes(1, body).finish() : new Uint8Array(0);

/** `PutResult { bytes app_metadata = 1; }`: one answer of DoPut. */
export const encodePutResult = encodeResult;

/** `ActionType { string type = 1; string description = 2; }`: one answer of ListActions. */
export function encodeActionType(a: ActionType): Uint8Array {
  const w = new ProtoWriter();
  if (a.type) w.string(1, a.type);
  if (a.description) w.string(2, a.description);
  return w.finish();
}

/** `SchemaResult { bytes schema = 1; }`: GetSchema's answer. */
export const encodeSchemaResult = (schema: Schema): Uint8Array => new ProtoWriter().bytes(1, encodeSchemaBytes(schema)).finish();

/** google.protobuf.Timestamp: seconds (int64) and nanos (int32, 0..999999999). */
function writeTimestamp(w: ProtoWriter, field: number, d: Date): void {
  const ms = d.getTime();
  const seconds = Math.floor(ms / 1000);
  const nanos = (ms - seconds * 1000) * 1e6;
  w.message(field, (t) => {
    if (seconds) t.int64(1, seconds);
    if (nanos) t.uint(2, nanos);
  });
}

function writeFlightInfo(w: ProtoWriter, info: FlightInfo): void {
  if (info.schema) w.bytes(1, encodeSchemaBytes(info.schema));
  if (info.descriptor) w.bytes(2, encodeDescriptor(info.descriptor));
  for (const e of info.endpoints) {
    w.message(3, (ew) => {
      ew.message(1, (tw) => { if (e.ticket.byteLength) tw.bytes(1, e.ticket); });
      for (const uri of e.locations) ew.message(2, (lw) => { if (uri) lw.string(1, uri); });
      if (e.expirationTime) writeTimestamp(ew, 3, e.expirationTime);
      if (e.appMetadata?.byteLength) ew.bytes(4, e.appMetadata);
    });
  }
  w.int64(4, info.totalRecords);
  w.int64(5, info.totalBytes);
  if (info.ordered) w.uint(6, 1);
  if (info.appMetadata?.byteLength) w.bytes(7, info.appMetadata);
}

/** `FlightInfo`: the answer of GetFlightInfo and each of ListFlights. */
export function encodeFlightInfo(info: FlightInfo): Uint8Array {
  const w = new ProtoWriter();
  writeFlightInfo(w, info);
  return w.finish();
}

/** `PollInfo`: PollFlightInfo's answer. */
export function encodePollInfo(p: PollInfo): Uint8Array {
  const w = new ProtoWriter();
  if (p.info) w.message(1, (iw) => writeFlightInfo(iw, p.info!));
  if (p.descriptor) w.bytes(2, encodeDescriptor(p.descriptor));
  if (p.progress !== undefined) w.double(3, p.progress);
  if (p.expirationTime) writeTimestamp(w, 4, p.expirationTime);
  return w.finish();
}
