/**
 * Decompression of IPC bodies that peers such as pyarrow send with
 * `IpcWriteOptions(compression=...)`. Each compressed buffer is an 8-byte little-endian
 * uncompressed length (-1: stored raw) followed by an LZ4 frame or a ZSTD frame.
 */
import * as lz4 from 'lz4js';
import { Decompress as ZstdStream, decompress as zstdDecompress } from 'fzstd';
import { FlightError } from './errors.js';

/** The two codecs of the Arrow format (`BodyCompression.codec`). */
export enum BodyCodec {
  LZ4_FRAME = 0,
  ZSTD = 1,
}

const NOT_COMPRESSED = -1n;

/**
 * The most bytes one compressed byte can stand for, per codec: an LZ4 sequence encodes
 * at most 255 bytes of match length per extra byte, and a ZSTD RLE block repeats one byte
 * up to the 128 KiB block size behind a 3-byte header. A declared length beyond what the
 * payload could hold is a lie, refused before the output is allocated.
 */
const MAX_RATIO: Record<number, number> = { [BodyCodec.LZ4_FRAME]: 256, [BodyCodec.ZSTD]: 32 * 1024 };
/** Frame headers and block overheads the ratio does not cover. */
const RATIO_SLACK_BYTES = 1024 * 1024;

/** Largest total a compressed body may inflate to: an uncompressed one could not be larger (one gRPC message). */
export const MAX_DECOMPRESSED_BODY_BYTES = 2 ** 31 - 1;

/**
 * The uncompressed length a compressed buffer declares (0 for an empty buffer, its
 * payload's length when stored raw). Throws INVALID_ARGUMENT for a length no payload of
 * this size could produce.
 */
export function declaredLength(codec: number, buffer: Uint8Array, what: string): number {
  if (buffer.byteLength === 0) return 0;
  if (buffer.byteLength < 8) {
    throw FlightError.invalidArgument(`compressed ${what} is ${buffer.byteLength} bytes, shorter than its 8-byte length prefix`);
  }
  const declared = new DataView(buffer.buffer, buffer.byteOffset, 8).getBigInt64(0, true);
  if (declared === NOT_COMPRESSED) return buffer.byteLength - 8;
  const ratio = MAX_RATIO[codec];
  if (ratio === undefined) throw FlightError.invalidArgument(`unsupported body compression codec ${codec} (expected LZ4_FRAME or ZSTD)`);
  const most = (buffer.byteLength - 8) * ratio + RATIO_SLACK_BYTES;
  if (declared < 0n || declared > BigInt(Math.min(most, MAX_DECOMPRESSED_BODY_BYTES))) {
    throw FlightError.invalidArgument(`compressed ${what} declares an impossible uncompressed length ${declared} for ${buffer.byteLength - 8} compressed bytes`);
  }
  return Number(declared);
}

/**
 * Checks that the buffers of one compressed body declare at most
 * MAX_DECOMPRESSED_BODY_BYTES in all, before any of them is inflated; returns the total.
 */
export function checkDecompressedTotal(codec: number, buffers: readonly Uint8Array[], what: string): number {
  let total = 0;
  for (const [i, buffer] of buffers.entries()) total += declaredLength(codec, buffer, `${what} buffer ${i}`);
  if (total > MAX_DECOMPRESSED_BODY_BYTES) {
    throw FlightError.resourceExhausted(`${what} declares ${total} bytes once decompressed, over the ${MAX_DECOMPRESSED_BODY_BYTES}-byte limit of one message`);
  }
  return total;
}

/** Buffers inflating to at most this many bytes are decompressed at once (a millisecond or two). */
export const DECOMPRESS_AT_ONCE_BYTES = 1024 * 1024;
/** Output between two turns of the event loop when decompressing in steps. */
const STEP_OUTPUT_BYTES = 4 * 1024 * 1024;
/** ZSTD input pushed first: even all-RLE blocks (4 bytes for up to 128 KiB each) give at most 32 MiB. */
const ZSTD_FIRST_STEP_INPUT_BYTES = 1024;
/** ... and at most, for data that compresses little. */
const ZSTD_MAX_STEP_INPUT_BYTES = 256 * 1024;
/** A ZSTD window every encoder setting up to level 19 stays within. */
const ZSTD_USUAL_WINDOW_BYTES = 8 * 1024 * 1024;

/**
 * An output buffer for fzstd. fzstd tests its output argument with `w == 1`, which turns
 * a Uint8Array into a string of all its bytes: 0.7 s for 16 MiB, and a RangeError past
 * 512 MiB. A primitive value of 0 keeps the comparison a comparison.
 */
function zstdOutput(length: number): Uint8Array {
  const out = new Uint8Array(length);
  Object.defineProperty(out, Symbol.toPrimitive, { value: () => 0 });
  return out;
}

function failure(codec: number, what: string, expected: number, err: unknown): FlightError {
  if (err instanceof FlightError) return err;
  const name = codec === BodyCodec.LZ4_FRAME ? 'LZ4_FRAME' : 'ZSTD';
  return FlightError.invalidArgument(
    `cannot decompress ${name} ${what} declared as ${expected} bytes: ${err instanceof Error ? err.message : String(err)}`,
  );
}

/** The payload of a compressed buffer and what it declares; `raw` when it is stored uncompressed. */
function parts(codec: number, buffer: Uint8Array, what: string): { payload: Uint8Array; expected: number; raw: boolean } {
  const expected = declaredLength(codec, buffer, what);
  const raw = new DataView(buffer.buffer, buffer.byteOffset, 8).getBigInt64(0, true) === NOT_COMPRESSED;
  return { payload: buffer.subarray(8), expected, raw };
}

/**
 * Decompresses one buffer of a compressed body at once. The declared length is checked
 * against what the codec produced, so a corrupt buffer is refused, never mis-read. Large
 * buffers from the network go through decompressBufferInSteps instead.
 */
export function decompressBuffer(codec: number, buffer: Uint8Array, what: string): Uint8Array {
  if (buffer.byteLength === 0) return buffer;
  const { payload, expected, raw } = parts(codec, buffer, what);
  if (raw) return payload;
  try {
    if (codec === BodyCodec.LZ4_FRAME) {
      const out = new Uint8Array(expected);
      const written = lz4.decompressFrame(payload, out);
      if (written !== expected) throw new Error(`produced ${written} bytes`);
      return out;
    }
    const out = zstdDecompress(payload, zstdOutput(expected));
    if (out.byteLength !== expected) throw new Error(`produced ${out.byteLength} bytes`);
    return out;
  } catch (err) {
    throw failure(codec, what, expected, err);
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Decompresses one buffer in steps of a few megabytes, with the event loop running between
 * them, so a small buffer declaring a gigabyte (LZ4 of zeros inflates 256:1, at some
 * 150 MB/s in lz4js: 7 s for 1 GiB; ZSTD at 0.7 GB/s) delays other callers by a step, not
 * by seconds. Buffers of at most DECOMPRESS_AT_ONCE_BYTES are decompressed at once.
 */
export async function decompressBufferInSteps(codec: number, buffer: Uint8Array, what: string): Promise<Uint8Array> {
  if (buffer.byteLength === 0) return buffer;
  const { payload, expected, raw } = parts(codec, buffer, what);
  if (raw) return payload;
  if (expected <= DECOMPRESS_AT_ONCE_BYTES) return decompressBuffer(codec, buffer, what);
  try {
    return codec === BodyCodec.LZ4_FRAME ? await lz4InSteps(payload, expected) : await zstdInSteps(payload, expected);
  } catch (err) {
    throw failure(codec, what, expected, err);
  }
}

/** An LZ4 frame, block by block (blocks hold at most 4 MiB), into a buffer of `expected` bytes. */
async function lz4InSteps(frame: Uint8Array, expected: number): Promise<Uint8Array> {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const need = (pos: number, n: number) => {
    if (pos + n > frame.byteLength) throw new Error(`frame ends at byte ${frame.byteLength}, inside a block or header`);
  };
  need(0, 7);
  if (view.getUint32(0, true) !== 0x184d2204) throw new Error('not an LZ4 frame (bad magic number)');
  const flags = frame[4]!;
  if (flags >> 6 !== 1) throw new Error(`unsupported LZ4 frame version ${flags >> 6}`);
  let pos = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  const blockChecksums = (flags & 0x10) !== 0;
  const out = new Uint8Array(expected);
  let written = 0;
  let sinceTurn = 0;
  for (;;) {
    need(pos, 4);
    const word = view.getUint32(pos, true);
    pos += 4;
    if (word === 0) break;
    const size = word & 0x7fffffff;
    need(pos, size);
    const before = written;
    if (word & 0x80000000) {
      if (written + size > expected) throw new Error(`produced more than ${expected} bytes`);
      out.set(frame.subarray(pos, pos + size), written);
      written += size;
    } else {
      written = lz4.decompressBlock(frame, out, pos, size, written);
      if (written > expected) throw new Error(`produced more than ${expected} bytes`);
    }
    pos += size + (blockChecksums ? 4 : 0);
    sinceTurn += written - before;
    if (sinceTurn >= STEP_OUTPUT_BYTES) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  if (written !== expected) throw new Error(`produced ${written} bytes`);
  return out;
}

/**
 * The window each ZSTD frame of `data` asks its decoder to allocate, frame by frame
 * (frames are walked by their block headers, as RFC 8878 lays them out). fzstd's
 * streaming decoder allocates it before decoding anything, so it is checked first.
 */
function zstdWindows(data: Uint8Array): number[] {
  const windows: number[] = [];
  const le = (at: number, n: number) => {
    let v = 0;
    for (let i = n - 1; i >= 0; i--) v = v * 256 + data[at + i]!;
    return v;
  };
  let pos = 0;
  while (pos < data.byteLength) {
    if (pos + 6 > data.byteLength) throw new Error('ZSTD frame header cut short');
    const magic = le(pos, 4);
    if (magic >>> 4 === 0x184d2a5) { // a skippable frame
      pos += 8 + le(pos + 4, 4);
      continue;
    }
    if (magic !== 0xfd2fb528) throw new Error('not a ZSTD frame (bad magic number)');
    const flags = data[pos + 4]!;
    const singleSegment = (flags >> 5) & 1;
    const dictBytes = [0, 1, 2, 4][flags & 3]!;
    const sizeBytes = flags >> 6 ? 1 << (flags >> 6) : singleSegment;
    let at = pos + 5 + (singleSegment ? 0 : 1) + dictBytes;
    if (at + sizeBytes > data.byteLength) throw new Error('ZSTD frame header cut short');
    const contentSize = le(at, sizeBytes) + (sizeBytes === 2 ? 256 : 0);
    at += sizeBytes;
    if (singleSegment) windows.push(contentSize);
    else {
      const descriptor = data[pos + 5]!;
      const base = 2 ** (10 + (descriptor >> 3));
      windows.push(base + (base / 8) * (descriptor & 7));
    }
    for (let last = false; !last;) {
      if (at + 3 > data.byteLength) throw new Error('ZSTD block header cut short');
      const header = le(at, 3);
      last = (header & 1) === 1;
      const type = (header >> 1) & 3;
      at += 3 + (type === 1 ? 1 : header >>> 3);
    }
    pos = at + ((flags >> 2) & 1 ? 4 : 0);
  }
  return windows;
}

/** ZSTD frames, pushed a few kilobytes at a time, into a buffer of `expected` bytes. */
async function zstdInSteps(data: Uint8Array, expected: number): Promise<Uint8Array> {
  for (const window of zstdWindows(data)) {
    if (window > Math.max(expected, ZSTD_USUAL_WINDOW_BYTES)) {
      throw new Error(`a frame asks for a ${window}-byte window, more than the ${expected} bytes the buffer declares`);
    }
  }
  const out = new Uint8Array(expected);
  let written = 0;
  const stream = new ZstdStream((chunk: Uint8Array) => {
    if (written + chunk.byteLength > expected) throw new Error(`produced more than ${expected} bytes`);
    out.set(chunk, written);
    written += chunk.byteLength;
  });
  // How much input makes a step depends on the data's ratio (3:1 for most, 32768:1 for runs
  // of one byte), so the input per push adapts to keep each push near STEP_OUTPUT_BYTES.
  let step = ZSTD_FIRST_STEP_INPUT_BYTES;
  let sinceTurn = 0;
  for (let at = 0; ;) {
    const before = written;
    const end = Math.min(at + step, data.byteLength);
    stream.push(data.subarray(at, end), end >= data.byteLength);
    at = end;
    if (at >= data.byteLength) break;
    const produced = written - before;
    if (produced > STEP_OUTPUT_BYTES) step = Math.max(64, step >> 2);
    else if (produced < STEP_OUTPUT_BYTES / 4) step = Math.min(ZSTD_MAX_STEP_INPUT_BYTES, step * 2);
    sinceTurn += produced;
    if (sinceTurn >= STEP_OUTPUT_BYTES) {
      sinceTurn = 0;
      await nextTurn();
    }
  }
  if (written !== expected) throw new Error(`produced ${written} bytes`);
  return out;
}
