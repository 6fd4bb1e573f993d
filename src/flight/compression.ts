/**
 * Decompression of IPC bodies that peers such as pyarrow send with
 * `IpcWriteOptions(compression=...)`. Each compressed buffer is an 8-byte little-endian
 * uncompressed length (-1: stored raw) followed by an LZ4 frame or a ZSTD frame.
 */
import * as lz4 from 'lz4js';
import { decompress as zstdDecompress } from 'fzstd';
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
 * MAX_DECOMPRESSED_BODY_BYTES in all, before any of them is inflated.
 */
export function checkDecompressedTotal(codec: number, buffers: readonly Uint8Array[], what: string): void {
  let total = 0;
  for (const [i, buffer] of buffers.entries()) total += declaredLength(codec, buffer, `${what} buffer ${i}`);
  if (total > MAX_DECOMPRESSED_BODY_BYTES) {
    throw FlightError.resourceExhausted(`${what} declares ${total} bytes once decompressed, over the ${MAX_DECOMPRESSED_BODY_BYTES}-byte limit of one message`);
  }
}

/**
 * Decompresses one buffer of a compressed body. The declared length is checked against
 * what the codec produced, so a corrupt buffer is refused, never mis-read.
 */
export function decompressBuffer(codec: number, buffer: Uint8Array, what: string): Uint8Array {
  if (buffer.byteLength === 0) return buffer;
  const expected = declaredLength(codec, buffer, what);
  const payload = buffer.subarray(8);
  if (new DataView(buffer.buffer, buffer.byteOffset, 8).getBigInt64(0, true) === NOT_COMPRESSED) return payload;
  let out: Uint8Array;
  try {
    if (codec === BodyCodec.LZ4_FRAME) {
      out = new Uint8Array(expected);
      const written = lz4.decompressFrame(payload, out);
      if (written !== expected) throw new Error(`produced ${written} bytes`);
    } else if (codec === BodyCodec.ZSTD) {
      out = zstdDecompress(payload, new Uint8Array(expected));
      if (out.byteLength !== expected) throw new Error(`produced ${out.byteLength} bytes`);
    } else {
      throw FlightError.invalidArgument(`unsupported body compression codec ${codec} (expected LZ4_FRAME or ZSTD)`);
    }
  } catch (err) {
    if (err instanceof FlightError) throw err;
    const name = codec === BodyCodec.LZ4_FRAME ? 'LZ4_FRAME' : 'ZSTD';
    throw FlightError.invalidArgument(
      `cannot decompress ${name} ${what} declared as ${expected} bytes: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  return out;
}
