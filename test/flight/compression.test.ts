/**
 * Compressed IPC buffers (LZ4_FRAME, ZSTD) declare their uncompressed length in 8 bytes
 * a peer writes: a length no payload of that size could produce is refused before the
 * output is allocated, and a body's buffers together may not inflate past one message.
 * Real pyarrow-compressed streams are decoded in test/interop/python/test_flight_streams.py.
 */
import test from 'ava';
import * as lz4 from 'lz4js';
import { execFileSync } from 'node:child_process';
import { BodyCodec, checkDecompressedTotal, decompressBuffer, decompressBufferInSteps } from '../../src/flight/compression.js';
import { venvPython } from '../helpers/python.js';
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

/** `bytes` zeros compressed with ZSTD by pyarrow (the peer that sends such bodies), as one frame. */
function zstdZeros(bytes: number): Uint8Array {
  const out = execFileSync(venvPython(), ['-c', `import sys, pyarrow as pa; sys.stdout.buffer.write(pa.compress(b"\\0" * ${bytes}, codec="zstd", asbytes=True))`], { maxBuffer: 64 * 1024 * 1024 });
  return new Uint8Array(out);
}

/** Runs `work`, counting the event-loop turns other callers got while it ran. */
async function turnsDuring<T>(work: () => Promise<T>): Promise<{ value: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = () => { if (running) { turns++; setImmediate(tick); } };
  setImmediate(tick);
  const value = await work();
  running = false;
  return { value, turns };
}

test('a large LZ4 or ZSTD buffer from the network inflates in steps, with the event loop turning between them', async (t) => {
  const size = 256 * 1024 * 1024;
  const lz4Frame = lz4.compress(new Uint8Array(size));
  t.true(lz4Frame.byteLength * 200 < size, `LZ4 of zeros is ${lz4Frame.byteLength} bytes`);
  const lz4Run = await turnsDuring(() => decompressBufferInSteps(BodyCodec.LZ4_FRAME, withLength(BigInt(size), lz4Frame), 'buffer 1'));
  t.is(lz4Run.value.byteLength, size);
  t.true(lz4Run.value.every((b) => b === 0));
  t.true(lz4Run.turns >= 16, `LZ4: ${lz4Run.turns} turns of the event loop during 256 MiB`);

  const zstdFrame = zstdZeros(size);
  const zstdRun = await turnsDuring(() => decompressBufferInSteps(BodyCodec.ZSTD, withLength(BigInt(size), zstdFrame), 'buffer 1'));
  t.is(zstdRun.value.byteLength, size);
  t.true(zstdRun.value.every((b) => b === 0));
  t.true(zstdRun.turns >= 16, `ZSTD: ${zstdRun.turns} turns of the event loop during 256 MiB`);
});

test('a ZSTD buffer larger than 512 MiB decompresses (fzstd once turned the output into a string of its bytes)', (t) => {
  const size = 600 * 1024 * 1024;
  const out = decompressBuffer(BodyCodec.ZSTD, withLength(BigInt(size), zstdZeros(size)), 'buffer 0');
  t.is(out.byteLength, size);
});

test('a ZSTD frame asking for a window larger than its buffer declares is refused before the window is allocated', async (t) => {
  // A single-segment frame (its window is its content size) declaring 1 GiB of content: one
  // RLE block of 16 bytes. The buffer around it declares 1.2 MiB.
  const frame = Uint8Array.from([
    0x28, 0xb5, 0x2f, 0xfd, // magic
    0xa0, // single segment, 4-byte content size
    0x00, 0x00, 0x00, 0x40, // content size 2^30
    0x83, 0x00, 0x00, 0x07, // last block, RLE, 16 bytes of 0x07
  ]);
  const err = await t.throwsAsync(decompressBufferInSteps(BodyCodec.ZSTD, withLength(1_258_291n, frame), 'buffer 2'), { instanceOf: FlightError });
  t.is(err?.code, Status.INVALID_ARGUMENT);
  t.regex(err?.message ?? '', /cannot decompress ZSTD buffer 2 declared as 1258291 bytes: a frame asks for a 1073741824-byte window/);
});
