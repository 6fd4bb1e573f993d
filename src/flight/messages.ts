/**
 * The Flight protocol's messages as plain TypeScript values, and their conversion from the
 * objects proto-loader reads (the grpc-js client's side; the server writes them with
 * proto-messages.ts). Schemas are apache-arrow Schemas here;
 * on the wire they are encapsulated IPC messages.
 */
import { Message, MessageHeader, type Schema } from 'apache-arrow';
import { descriptorFromMessage, type FlightDescriptor, type FlightDescriptorMessage } from './descriptor.js';
import { aligned } from './decode.js';
import { FlightError } from './errors.js';
import { checkMessageFlatbuffer } from './flatbuffer-check.js';

/** Where and how to fetch one part of a flight. */
export interface FlightEndpoint {
  ticket: Uint8Array;
  /** URIs such as `grpc://host:port`; empty means "the server you asked". */
  locations: string[];
  expirationTime?: Date;
  appMetadata?: Uint8Array;
}

/** What a server knows of a flight. `-1` totals mean unknown. */
export interface FlightInfo {
  schema?: Schema;
  descriptor?: FlightDescriptor;
  endpoints: FlightEndpoint[];
  totalRecords: number;
  totalBytes: number;
  ordered: boolean;
  appMetadata?: Uint8Array;
}

/** The answer to PollFlightInfo: the info so far and, if not complete, what to poll next. */
export interface PollInfo {
  info?: FlightInfo;
  descriptor?: FlightDescriptor;
  /** 0..1, when the server knows. */
  progress?: number;
  expirationTime?: Date;
}

/** A DoAction request. */
export interface Action {
  type: string;
  body: Uint8Array;
}

/** One entry of ListActions. */
export interface ActionType {
  type: string;
  description: string;
}

interface TimestampMessage { seconds?: number | string; nanos?: number }

/** proto-loader object shapes, as the service definition reads and writes them. */
export interface FlightEndpointMessage {
  ticket?: { ticket?: Uint8Array };
  location?: { uri?: string }[];
  expirationTime?: TimestampMessage | null;
  appMetadata?: Uint8Array;
}
export interface FlightInfoMessage {
  schema?: Uint8Array;
  flightDescriptor?: FlightDescriptorMessage | null;
  endpoint?: FlightEndpointMessage[];
  totalRecords?: number | string;
  totalBytes?: number | string;
  ordered?: boolean;
  appMetadata?: Uint8Array;
}
export interface PollInfoMessage {
  info?: FlightInfoMessage | null;
  flightDescriptor?: FlightDescriptorMessage | null;
  progress?: number;
  expirationTime?: TimestampMessage | null;
}

const nonEmpty = (b: Uint8Array | undefined) => (b?.byteLength ? new Uint8Array(b) : undefined);

function timestampFromMessage(t: TimestampMessage | null | undefined): Date | undefined {
  if (!t) return undefined;
  return new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

/**
 * Reads an encapsulated IPC schema message (with or without the 0xFFFFFFFF continuation
 * marker). Empty bytes mean "no schema".
 */
export function decodeSchemaBytes(bytes: Uint8Array | undefined): Schema | undefined {
  if (!bytes || bytes.byteLength === 0) return undefined;
  try {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    if (view.getInt32(0, true) === -1) offset = 4;
    const length = view.getInt32(offset, true);
    offset += 4;
    if (length < 0 || offset + length > bytes.byteLength) throw new Error(`length ${length} exceeds ${bytes.byteLength} bytes`);
    const flatbuffer = aligned(bytes.subarray(offset, offset + length));
    checkMessageFlatbuffer(flatbuffer); // apache-arrow trusts the flatbuffer's vector lengths
    const message = Message.decode(flatbuffer);
    if (message.headerType !== MessageHeader.Schema) throw new Error(`holds a ${MessageHeader[message.headerType]} message`);
    return message.header() as Schema;
  } catch (err) {
    throw FlightError.invalidArgument(`malformed schema bytes: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function flightInfoFromMessage(m: FlightInfoMessage): FlightInfo {
  const info: FlightInfo = {
    endpoints: (m.endpoint ?? []).map((e) => ({
      ticket: new Uint8Array(e.ticket?.ticket ?? []),
      locations: (e.location ?? []).map((l) => l.uri ?? ''),
      ...(e.expirationTime ? { expirationTime: timestampFromMessage(e.expirationTime) } : {}),
      ...(nonEmpty(e.appMetadata) ? { appMetadata: nonEmpty(e.appMetadata) } : {}),
    })),
    totalRecords: Number(m.totalRecords ?? -1),
    totalBytes: Number(m.totalBytes ?? -1),
    ordered: Boolean(m.ordered),
  };
  const schema = decodeSchemaBytes(m.schema);
  if (schema) info.schema = schema;
  if (m.flightDescriptor) info.descriptor = descriptorFromMessage(m.flightDescriptor);
  const meta = nonEmpty(m.appMetadata);
  if (meta) info.appMetadata = meta;
  return info;
}

export function pollInfoFromMessage(m: PollInfoMessage): PollInfo {
  const out: PollInfo = {};
  if (m.info) out.info = flightInfoFromMessage(m.info);
  if (m.flightDescriptor) out.descriptor = descriptorFromMessage(m.flightDescriptor);
  if (m.progress !== undefined && m.progress !== null) out.progress = m.progress;
  const expiration = timestampFromMessage(m.expirationTime);
  if (expiration) out.expirationTime = expiration;
  return out;
}
