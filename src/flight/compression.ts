/**
 * Decompression of IPC bodies that peers such as pyarrow send with
 * `IpcWriteOptions(compression=...)`. Each compressed buffer is an 8-byte little-endian
 * uncompressed length (-1: stored raw) followed by an LZ4 frame or a ZSTD frame.
 */
import * as lz4 from 'lz4js';
import { decompress as zstdDecompress } from 'fzstd';
import { FlightError } from './errors.js';

/** The two codecs of the Arrow format (`BodyCompression.codec`). */
export const enum BodyCodec {
  LZ4_FRAME = 0,
  ZSTD = 1,
}

const NOT_COMPRESSED = -1n;

/**
 * Decompresses one buffer of a compressed body. The declared length is checked against
 * what the codec produced, so a corrupt buffer is refused, never mis-read.
 */
export function decompressBuffer(codec: number, buffer: Uint8Array, what: string): Uint8Array {
  if (buffer.byteLength === 0) return buffer;
  if (buffer.byteLength < 8) {
    throw FlightError.invalidArgument(`compressed ${what} is ${buffer.byteLength} bytes, shorter than its 8-byte length prefix`);
  }
  const declared = new DataView(buffer.buffer, buffer.byteOffset, 8).getBigInt64(0, true);
  const payload = buffer.subarray(8);
  if (declared === NOT_COMPRESSED) return payload;
  if (declared < 0n || declared > BigInt(2 ** 31)) {
    throw FlightError.invalidArgument(`compressed ${what} declares an impossible uncompressed length ${declared}`);
  }
  const expected = Number(declared);
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
