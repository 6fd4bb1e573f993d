/**
 * Compressed IPC buffers (LZ4_FRAME, ZSTD) declare their uncompressed length in 8 bytes
 * a peer writes: a length no payload of that size could produce is refused before the
 * output is allocated, and a body's buffers together may not inflate past one message.
 * Real pyarrow-compressed streams are decoded in test/interop/python/test_flight_streams.py.
 */
import test from 'ava';
import * as lz4 from 'lz4js';
import { BodyCodec, checkDecompressedTotal, decompressBuffer } from '../../src/flight/compression.js';
import { FlightError, Status } from '../../src/flight/index.js';

/** A compressed buffer as the format lays it out: int64 length, then the frame. */
function withLength(declared: bigint, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.byteLength);
  new DataView(out.buffer).setBigInt64(0, declared, true);
  out.set(payload, 8);
  return out;
}

test('a real LZ4 frame decompresses to its declared length', (t) => {
  const plain = new Uint8Array(100_000).map((_, i) => i % 7);
  const frame = lz4.compress(plain);
  t.deepEqual(decompressBuffer(BodyCodec.LZ4_FRAME, withLength(BigInt(plain.byteLength), frame), 'buffer 0'), plain);
});

test('a declared length no payload of its size could produce is refused before anything is allocated', (t) => {
  for (const codec of [BodyCodec.LZ4_FRAME, BodyCodec.ZSTD]) {
    for (const declared of [2n ** 31n - 1n, 2n ** 40n, 64n * 1024n * 1024n * 1024n]) {
      const err = t.throws(() => decompressBuffer(codec, withLength(declared, new Uint8Array(10)), 'buffer 3'), { instanceOf: FlightError });
      t.is(err?.code, Status.INVALID_ARGUMENT);
      t.regex(err?.message ?? '', /compressed buffer 3 declares an impossible uncompressed length \d+ for 10 compressed bytes/);
    }
    const negative = t.throws(() => decompressBuffer(codec, withLength(-5n, new Uint8Array(10)), 'buffer 0'), { instanceOf: FlightError });
    t.is(negative?.code, Status.INVALID_ARGUMENT);
  }
});

test('buffers of one body that together declare more than a message can hold are RESOURCE_EXHAUSTED', (t) => {
  // Each plausible for its 64 KiB of ZSTD payload (RLE blocks), together over 2 GiB.
  const one = withLength(1024n * 1024n * 1024n, new Uint8Array(64 * 1024));
  const err = t.throws(() => checkDecompressedTotal(BodyCodec.ZSTD, [one, one, one], 'record batch'), { instanceOf: FlightError });
  t.is(err?.code, Status.RESOURCE_EXHAUSTED);
  t.regex(err?.message ?? '', /record batch declares 3221225472 bytes once decompressed, over the 2147483647-byte limit/);
  t.notThrows(() => checkDecompressedTotal(BodyCodec.ZSTD, [one], 'record batch'));
});
