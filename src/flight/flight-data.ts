/**
 * FlightData on the wire, encoded and decoded by hand.
 *
 * Why by hand: a generic protobuf library would copy `data_body` (the record-batch
 * buffers, often megabytes) into a fresh object on decode and again on encode. Here
 * decode returns views into the received gRPC buffer (zero-copy), and encode writes the
 * header and the body's parts straight into the one output buffer (one copy).
 */
import type { FlightDescriptor } from './descriptor.js';
import { FlightError } from './errors.js';
import { ProtoWriter } from './proto-writer.js';
import { ProtoReader, WIRE_LEN, WIRE_VARINT } from './proto-reader.js';

/** One FlightData message. */
export interface FlightData {
  /** Sent on the first message of a DoPut or DoExchange stream. */
  descriptor?: FlightDescriptor;
  /** The bare flatbuffer `Message` (schema, dictionary batch or record batch). */
  dataHeader?: Uint8Array;
  appMetadata?: Uint8Array;
  /**
   * The IPC body. On encode it may be a list of parts (buffers and their padding)
   * that are written back to back, so they need not be concatenated first.
   */
  dataBody?: Uint8Array | readonly Uint8Array[];
}

/** A decoded FlightData whose body is one contiguous view. */
export interface ReceivedFlightData extends FlightData {
  dataBody?: Uint8Array;
}

/**
 * What the gRPC deserializer yields for bytes that are not valid FlightData. Throwing
 * inside grpc-js would end the call with INTERNAL; carrying the error to the reader lets
 * it answer INVALID_ARGUMENT with the exact reason.
 */
export interface MalformedFlightData {
  malformed: FlightError;
}

const FIELD_DESCRIPTOR = 1;
const FIELD_HEADER = 2;
const FIELD_APP_METADATA = 3;
const FIELD_BODY = 1000;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Strict UTF-8 decoding (throws on invalid bytes). Short ASCII text, such as a
 * descriptor's path, is read byte by byte: TextDecoder's own call costs more than that.
 */
function decodeUtf8(bytes: Uint8Array): string {
  if (bytes.length <= 64) {
    let text = '';
    for (let i = 0; i < bytes.length; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x80) return textDecoder.decode(bytes);
      text += String.fromCharCode(byte);
    }
    return text;
  }
  return textDecoder.decode(bytes);
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

const tagSize = (field: number) => varintSize(field << 3);
const lenFieldSize = (field: number, len: number) => tagSize(field) + varintSize(len) + len;

function bodyLength(body: FlightData['dataBody']): number {
  if (!body) return 0;
  if (body instanceof Uint8Array) return body.byteLength;
  let n = 0;
  for (const part of body) n += part.byteLength;
  return n;
}

/** A FlightDescriptor message (inside FlightData, FlightInfo and PollInfo). */
export function encodeDescriptor(d: FlightDescriptor): Uint8Array {
  const w = new ProtoWriter().uint(1, d.type === 'PATH' ? 1 : 2);
  if (d.type === 'PATH') for (const p of d.path) w.string(3, p);
  else w.bytes(2, d.cmd);
  return w.finish();
}

/** Writes a length-delimited field at `pos`; returns the position after it. */
function putLenField(buf: Uint8Array, pos: number, field: number, bytes: Uint8Array): number {
  pos = writeVarint(buf, pos, (field << 3) | WIRE_LEN);
  pos = writeVarint(buf, pos, bytes.byteLength);
  buf.set(bytes, pos);
  return pos + bytes.byteLength;
}

/**
 * The encoding of one FlightData as parts: a head buffer (with `reserve` spare bytes
 * in front for a frame prefix) holding the descriptor, data_header and app_metadata
 * fields and the body's tag and length, then the body's own buffers, not copied.
 */
function encodeParts(data: FlightData, reserve: number): { parts: Uint8Array[]; messageSize: number } {
  const descriptor = data.descriptor ? encodeDescriptor(data.descriptor) : undefined;
  const header = data.dataHeader;
  const meta = data.appMetadata;
  const bodyLen = bodyLength(data.dataBody);
  let headSize = 0;
  if (descriptor) headSize += lenFieldSize(FIELD_DESCRIPTOR, descriptor.byteLength);
  if (header?.byteLength) headSize += lenFieldSize(FIELD_HEADER, header.byteLength);
  if (meta?.byteLength) headSize += lenFieldSize(FIELD_APP_METADATA, meta.byteLength);
  if (bodyLen) headSize += tagSize(FIELD_BODY) + varintSize(bodyLen);

  const head = Buffer.allocUnsafe(reserve + headSize);
  let pos = reserve;
  if (descriptor) pos = putLenField(head, pos, FIELD_DESCRIPTOR, descriptor);
  if (header?.byteLength) pos = putLenField(head, pos, FIELD_HEADER, header);
  if (meta?.byteLength) pos = putLenField(head, pos, FIELD_APP_METADATA, meta);
  const parts: Uint8Array[] = [head];
  if (bodyLen) {
    pos = writeVarint(head, pos, (FIELD_BODY << 3) | WIRE_LEN);
    writeVarint(head, pos, bodyLen);
    for (const part of data.dataBody instanceof Uint8Array ? [data.dataBody] : data.dataBody!) {
      if (part.byteLength) parts.push(part);
    }
  }
  return { parts, messageSize: headSize + bodyLen };
}

/** Serializes one FlightData into a single Buffer, copying each body part once. */
export function encodeFlightData(data: FlightData): Buffer {
  const { parts, messageSize } = encodeParts(data, 0);
  if (parts.length === 1) return parts[0] as Buffer;
  const out = Buffer.allocUnsafe(messageSize);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.byteLength;
  }
  return out;
}

/**
 * One FlightData as a whole gRPC frame, for writing straight to an HTTP/2 stream: the
 * first part holds the 5-byte frame prefix (uncompressed flag, big-endian length) and
 * the fields before the body; the other parts are the body's own buffers, not copied.
 * Written back to back (writev), they are exactly the bytes encodeFlightData would give,
 * behind the prefix.
 */
export function encodeFlightDataFrame(data: FlightData): Uint8Array[] {
  const { parts, messageSize } = encodeParts(data, 5);
  if (messageSize > 0xffffffff) throw FlightError.resourceExhausted(`FlightData of ${messageSize} bytes exceeds the 4 GiB gRPC message limit`);
  const head = parts[0] as Buffer;
  head[0] = 0;
  head.writeUInt32BE(messageSize, 1);
  return parts;
}

/** A FlightDescriptor message (also read alone, as the request of GetFlightInfo, PollFlightInfo and GetSchema). */
export function decodeDescriptor(bytes: Uint8Array): FlightDescriptor {
  const r = new ProtoReader(bytes, 'FlightDescriptor');
  let type = 0;
  let cmd: Uint8Array = new Uint8Array(0);
  const path: string[] = [];
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field === 1 && wire === WIRE_VARINT) type = r.varint();
    else if (field === 2 && wire === WIRE_LEN) cmd = r.bytes();
    else if (field === 3 && wire === WIRE_LEN) {
      try {
        path.push(decodeUtf8(r.bytes()));
      } catch {
        throw r.fail('path segment is not valid UTF-8');
      }
    } else r.skip(wire);
  }
  if (type === 1) return { type: 'PATH', path };
  if (type === 2) return { type: 'CMD', cmd };
  throw r.fail(`descriptor type must be PATH (1) or CMD (2), got ${type}`);
}

/** PATH descriptors decoded lately, with their bytes (see pathDescriptorOf). */
const recentPaths: { bytes: Uint8Array; descriptor: FlightDescriptor }[] = [];
const RECENT_PATHS = 16;
const MAX_REMEMBERED_DESCRIPTOR_BYTES = 256;

/**
 * The descriptor in a FlightData: every call of a method names the same path, so the
 * few seen lately are kept (frozen, shared by the calls that send those bytes) and
 * found by comparing bytes, instead of decoding the strings and arrays again per call.
 * CMD descriptors are decoded each time: their bytes are a view into the message.
 */
function pathDescriptorOf(bytes: Uint8Array): FlightDescriptor {
  const small = bytes.byteLength <= MAX_REMEMBERED_DESCRIPTOR_BYTES;
  if (small) {
    for (const seen of recentPaths) {
      if (seen.bytes.byteLength === bytes.byteLength && Buffer.compare(seen.bytes, bytes) === 0) return seen.descriptor;
    }
  }
  const descriptor = decodeDescriptor(bytes);
  if (small && descriptor.type === 'PATH') {
    Object.freeze(descriptor.path);
    if (recentPaths.length >= RECENT_PATHS) recentPaths.shift();
    recentPaths.push({ bytes: new Uint8Array(bytes), descriptor: Object.freeze(descriptor) });
  }
  return descriptor;
}

/** Parses one FlightData; byte fields are views into `buf`. Throws FlightError. */
export function decodeFlightData(buf: Uint8Array): ReceivedFlightData {
  const r = new ProtoReader(buf, 'FlightData');
  const out: ReceivedFlightData = {};
  while (!r.done) {
    const { field, wire } = r.tag();
    if (wire !== WIRE_LEN) {
      if (field === FIELD_DESCRIPTOR || field === FIELD_HEADER || field === FIELD_APP_METADATA || field === FIELD_BODY) {
        throw r.fail(`field ${field} has wire type ${wire}, expected length-delimited`);
      }
      r.skip(wire);
      continue;
    }
    const bytes = r.bytes();
    switch (field) {
      case FIELD_DESCRIPTOR: out.descriptor = pathDescriptorOf(bytes); break;
      case FIELD_HEADER: out.dataHeader = bytes; break;
      case FIELD_APP_METADATA: out.appMetadata = bytes; break;
      case FIELD_BODY: out.dataBody = bytes; break;
      default: break;
    }
  }
  return out;
}

/**
 * The grpc-js deserializer: never throws, so the reader can answer INVALID_ARGUMENT.
 * grpc-js hands it a buffer it allocated for this one message and never reads again, so
 * the body may be realigned in place (see alignBodyInPlace).
 */
export function deserializeFlightData(buf: Buffer): ReceivedFlightData | MalformedFlightData {
  try {
    return alignBodyInPlace(buf, decodeFlightData(buf));
  } catch (err) {
    return { malformed: err instanceof FlightError ? err : FlightError.invalidArgument(`malformed FlightData: ${String(err)}`) };
  }
}

/**
 * Moves a misaligned body back to the 8-byte boundary just before it, inside `buf`.
 *
 * Why: Arrow's typed views need aligned buffers, and peers such as Arrow C++ place the
 * body at any offset (grpc-js puts the message 5 bytes into its buffer, after the frame
 * prefix). Otherwise the decoder copies the whole body into a fresh allocation; a memmove
 * within the buffer measured 3-5x cheaper than allocate-and-copy, and leaves nothing
 * for the GC. Only for buffers the caller owns: the body's tag and length, and possibly
 * the tail of the field before them, are overwritten, so views into those bytes (header,
 * app_metadata, a CMD descriptor) are copied out first.
 */
function alignBodyInPlace(buf: Uint8Array, data: ReceivedFlightData): ReceivedFlightData {
  const body = data.dataBody;
  if (!body || body.byteOffset % 8 === 0) return data;
  const to = body.byteOffset - (body.byteOffset % 8);
  if (to < buf.byteOffset) return data; // nothing before the body to move over: the decoder copies
  const overwritten = (view: Uint8Array | undefined) =>
    view !== undefined && view.byteLength > 0 && view.byteOffset < body.byteOffset && view.byteOffset + view.byteLength > to;
  // new Uint8Array(view) copies; Buffer#slice (the views are Buffers here) would not.
  if (overwritten(data.dataHeader)) data.dataHeader = new Uint8Array(data.dataHeader!);
  if (overwritten(data.appMetadata)) data.appMetadata = new Uint8Array(data.appMetadata!);
  if (data.descriptor?.type === 'CMD' && overwritten(data.descriptor.cmd)) {
    data.descriptor = { type: 'CMD', cmd: new Uint8Array(data.descriptor.cmd) };
  }
  buf.copyWithin(to - buf.byteOffset, body.byteOffset - buf.byteOffset, body.byteOffset - buf.byteOffset + body.byteLength);
  data.dataBody = new Uint8Array(buf.buffer, to, body.byteLength);
  return data;
}

export function isMalformed(x: unknown): x is MalformedFlightData {
  return typeof x === 'object' && x !== null && 'malformed' in x;
}
