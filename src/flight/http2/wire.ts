/**
 * The bits of gRPC over HTTP/2 (PROTOCOL-HTTP2.md in the grpc repository) the server
 * speaks: header names, response headers, grpc-timeout and grpc-message.
 */
import { constants } from 'node:http2';
import type { OutgoingHttpHeaders } from 'node:http2';
import type { Status } from '../errors.js';

/** Encodings a request message may be compressed with (gRPC message compression). */
export const ACCEPTED_ENCODINGS = 'identity,deflate,gzip';

/**
 * Response headers of every call: answers are never compressed (identity); requests may be.
 * One frozen object for all calls (node:http2 copies the headers it is given).
 */
export const RESPONSE_HEADERS: Readonly<OutgoingHttpHeaders> = Object.freeze({
  [constants.HTTP2_HEADER_STATUS]: constants.HTTP_STATUS_OK,
  [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc+proto',
  'grpc-accept-encoding': ACCEPTED_ENCODINGS,
  'grpc-encoding': 'identity',
});


/** Request headers that are transport, not application metadata (grpc-js drops the same). */
export const TRANSPORT_HEADERS = ['grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'accept-encoding', 'te', 'content-type'];

const TIMEOUT_UNITS_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };

/**
 * Milliseconds of a `grpc-timeout` value ("TimeoutValue TimeoutUnit": up to 8 digits and
 * one of H M S m u n), or undefined when it is not one.
 */
export function parseGrpcTimeout(value: string): number | undefined {
  const match = /^\s*(\d{1,8})\s*([HMSmun])\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * TIMEOUT_UNITS_MS[match[2]!]!;
}

/**
 * grpc-message is percent-encoded: UTF-8 bytes outside printable ASCII, and '%' itself,
 * become %XX (every gRPC client decodes this; grpc-js with decodeURI).
 */
export function percentEncode(message: string): string {
  if (/^[\x20-\x24\x26-\x7e]*$/.test(message)) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The trailers of a call that ended with OK, shared by all of them: grpc-message is
 * optional (PROTOCOL-HTTP2.md) and an OK status has none to give.
 */
export const OK_TRAILERS: Readonly<OutgoingHttpHeaders> = Object.freeze({ 'grpc-status': '0' });

/** Trailer (or trailers-only) fields for a final status. */
export function statusFields(code: Status, details: string): OutgoingHttpHeaders {
  return { 'grpc-status': String(code), 'grpc-message': percentEncode(details) };
}
