/**
 * Test helper: fuzz cases below FlightData, shared by the fixed-seed CI suite
 * (test/flight/fuzz-framing.test.ts) and the long run (bench/fuzz/run.ts). A case is the
 * raw request body of one data RPC: gRPC frames whose compressed flags, length prefixes,
 * compression and protobuf fields are each sometimes right and sometimes wrong, cut into
 * DATA chunks at random points, optionally followed by client trailers or left open.
 */
import { deflateSync, gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { Float64, Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import { FlightDataEncoder, FlightDescriptor, encodeFlightData } from '../../src/flight/index.js';
import type { RawHttp2Result } from './raw-http2.js';

/** A real stream to start from: schema with descriptor, two batches, a metadata-only message. */
function realMessages(): Buffer[] {
  const table = new Table({
    x: vectorFromArray([1.5, null, 3.5], new Float64()),
    i: vectorFromArray([1, 2, null], new Int32()),
    s: vectorFromArray(['a', null, 'ccc'], new Utf8()),
  });
  const encoder = new FlightDataEncoder();
  return [
    encoder.encodeSchema(table.schema, FlightDescriptor.path('echo')),
    ...encoder.encodeBatch(table.batches[0]!, new TextEncoder().encode('m')),
    ...encoder.encodeBatch(table.batches[0]!),
    encoder.encodeMetadata(new TextEncoder().encode('only metadata')),
  ].map(encodeFlightData);
}

/** The good messages every case draws on. */
export const REAL_MESSAGES = realMessages();

/** A protobuf varint. */
export function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** Protobuf fields of any number and wire type, with lengths that may lie. */
const protoField: fc.Arbitrary<Buffer> = fc.record({
  field: fc.oneof(fc.constantFrom(0, 1, 2, 3, 1000, 2 ** 29 - 1, 2 ** 29), fc.integer({ min: 0, max: 2 ** 30 })),
  wire: fc.integer({ min: 0, max: 7 }),
  length: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constantFrom(2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1)),
  bytes: fc.uint8Array({ maxLength: 64 }),
}).map(({ field, wire, length, bytes }) => {
  const tag = varint(field * 8 + wire);
  if (wire === 2) return Buffer.concat([tag, varint(length), bytes]);
  if (wire === 0) return Buffer.concat([tag, varint(length)]);
  return Buffer.concat([tag, bytes.subarray(0, wire === 1 ? 8 : 4)]);
});

/** Up to 1 MiB of zeros, shared by every case that sends them (cases are made by the thousand). */
const ZEROS = Buffer.alloc(1 << 20);

/** One message's bytes: a real FlightData (maybe damaged), made-up protobuf, or noise. */
const payload: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: REAL_MESSAGES.length - 1 }).map((i) => REAL_MESSAGES[i]!) },
  {
    weight: 2,
    arbitrary: fc.record({ i: fc.integer({ min: 0, max: REAL_MESSAGES.length - 1 }), at: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), bit: fc.integer({ min: 0, max: 7 }) })
      .map(({ i, at, bit }) => {
        const copy = Buffer.from(REAL_MESSAGES[i]!);
        copy[Math.floor(at * copy.length)]! ^= 1 << bit;
        return copy;
      }),
  },
  { weight: 2, arbitrary: fc.array(protoField, { maxLength: 6 }).map((fields) => Buffer.concat(fields)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1 << 20 }).map((n) => ZEROS.subarray(0, n)) },
);

/** One gRPC frame: its flag and announced length may disagree with what follows. */
const frame = fc.record({
  payload,
  compress: fc.boolean(),
  flag: fc.oneof({ weight: 6, arbitrary: fc.constant<'match'>('match') }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
  lengthLie: fc.oneof(
    { weight: 6, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.integer({ min: -8, max: 8 }) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 1 << 24) },
  ),
});

/** A whole fuzz case on one of `rpcs`: the RPC, its encoding header, frames, how they are cut, and how the request ends. */
const caseOn = (...rpcs: string[]) => fc.record({
  rpc: fc.constantFrom(...rpcs),
  encoding: fc.constantFrom(undefined, 'identity', 'gzip', 'deflate', 'snappy'),
  frames: fc.array(frame, { minLength: 0, maxLength: 5 }),
  cuts: fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { maxLength: 6 }),
  ending: fc.constantFrom('end', 'end', 'end', 'trailers', 'open'),
});

/** A fuzz case on a data RPC. */
export const framingCase = caseOn('DoGet', 'DoPut', 'DoExchange');

/** A fuzz case on a control RPC (their requests are small protobuf messages, not FlightData). */
export const controlFramingCase = caseOn('Handshake', 'ListFlights', 'GetFlightInfo', 'PollFlightInfo', 'GetSchema', 'DoAction', 'ListActions');

export type FramingCase = typeof framingCase extends fc.Arbitrary<infer T> ? T : never;

/** The request body of a case, cut into the chunks it is written in. */
export function caseChunks(c: FramingCase): Buffer[] {
  const parts: Buffer[] = [];
  for (const f of c.frames) {
    let body = f.payload;
    const compressed = f.compress && (c.encoding === 'gzip' || c.encoding === 'deflate');
    if (compressed) body = c.encoding === 'gzip' ? gzipSync(body) : deflateSync(body);
    const prefix = Buffer.alloc(5);
    prefix[0] = f.flag === 'match' ? (f.compress ? 1 : 0) : f.flag;
    prefix.writeUInt32BE(Math.max(0, Math.min(2 ** 32 - 1, body.byteLength + f.lengthLie)) >>> 0, 1);
    parts.push(prefix, body);
  }
  const whole = Buffer.concat(parts);
  const at = [...new Set(c.cuts.map((x) => Math.floor(x * whole.byteLength)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of at) {
    if (cut > from) chunks.push(whole.subarray(from, cut));
    from = Math.max(from, cut);
  }
  if (from < whole.byteLength) chunks.push(whole.subarray(from));
  return chunks;
}

/**
 * Why a case's answer is wrong, or undefined if it is fine: every call must end with a
 * status (the server's deadline at the latest), never a reset or silence, and an error
 * must say what was wrong.
 */
export function judge(result: RawHttp2Result): string | undefined {
  if (result.timedOut) return 'hang: no status within the timeout';
  if (result.code === undefined) return `reset without a status (${result.error ?? `RST_STREAM ${result.rstCode}`})`;
  if (result.code === 2) return `UNKNOWN status: ${result.message}`;
  if (result.code !== 0 && result.message.trim() === '') return `status ${result.code} without a message`;
  return undefined;
}
