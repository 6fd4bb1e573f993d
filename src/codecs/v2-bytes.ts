/**
 * The Open Inference Protocol's (KServe V2) BYTES tensor layout, in one place for the V2
 * server (src/oip) and the kserve backend: raw BYTES data is each element's 4-byte
 * little-endian length followed by its bytes, nothing after the last. Decoding treats
 * the data as hostile: a count the data cannot hold is refused before anything is
 * allocated for it, every length is checked against what is left, and the element count
 * and the total must match exactly.
 *
 * Errors are plain Errors whose message names no tensor: each caller adds which tensor
 * it was and the status that fits its side (a client's request, a peer's answer).
 */
import { isUtf8 } from 'node:buffer';
import { Binary, Utf8, makeData, makeVector, type Vector } from 'apache-arrow';

/**
 * The `count` elements of raw BYTES data, as views of it (no copy).
 *
 * @example
 * splitBytes(Buffer.from([1, 0, 0, 0, 0x61]), 1) // [Uint8Array [0x61]]
 */
export function splitBytes(raw: Uint8Array, count: number): Uint8Array[] {
  // Each element takes at least its 4-byte length: a count the data cannot hold is
  // refused before the array of elements is made (a hostile shape decides no allocation).
  if (count > raw.byteLength / 4) {
    throw new Error(`needs ${count} BYTES elements, each at least its 4-byte length, but the raw data has only ${raw.byteLength} bytes`);
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out: Uint8Array[] = new Array(count);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > raw.byteLength) throw new Error(`raw BYTES data ends after ${i} of ${count} elements`);
    const length = view.getUint32(pos, true);
    pos += 4;
    if (length > raw.byteLength - pos) throw new Error(`BYTES element ${i} declares ${length} bytes, but only ${raw.byteLength - pos} remain in the raw data`);
    out[i] = raw.subarray(pos, pos + length);
    pos += length;
  }
  if (pos !== raw.byteLength) {
    throw new Error(`raw BYTES data has ${raw.byteLength - pos} bytes after its ${count} elements: the shape or the length prefixes are wrong`);
  }
  return out;
}

/** Checks that every element is UTF-8, naming the first that is not. */
export function checkUtf8(elements: readonly Uint8Array[]): void {
  for (let i = 0; i < elements.length; i++) {
    if (!isUtf8(elements[i]!)) throw new Error(`BYTES element ${i} is not valid UTF-8`);
  }
}

/** Offsets and concatenated bytes of variable-length elements (the Arrow utf8/binary layout). */
export function packElements(elements: readonly Uint8Array[]): { offsets: Int32Array; data: Uint8Array } {
  const offsets = new Int32Array(elements.length + 1);
  let total = 0;
  for (let i = 0; i < elements.length; i++) {
    total += elements[i]!.byteLength;
    if (total > 0x7fffffff) throw new Error('BYTES elements total more than 2 GiB, more than one Arrow column holds');
    offsets[i + 1] = total;
  }
  const data = new Uint8Array(total);
  for (let i = 0; i < elements.length; i++) data.set(elements[i]!, offsets[i]!);
  return { offsets, data };
}

/**
 * A utf8 column (`utf8`: every element is checked to be UTF-8 first) or a binary column
 * of the elements, of `type` when given (a field's own type, shared by every call).
 */
export function bytesColumn(elements: readonly Uint8Array[], utf8: boolean, type: Utf8 | Binary = utf8 ? new Utf8() : new Binary()): Vector {
  if (utf8) checkUtf8(elements);
  const { offsets, data } = packElements(elements);
  return makeVector(makeData({ type, length: elements.length, nullCount: 0, valueOffsets: offsets, data } as never));
}

/** Raw BYTES data of separate elements. */
export function encodeElements(elements: readonly Uint8Array[]): Buffer {
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const e of elements) {
    out.writeUInt32LE(e.byteLength, pos);
    out.set(e, pos + 4);
    pos += 4 + e.byteLength;
  }
  return out;
}

/** Raw BYTES data of strings (their UTF-8 bytes), e.g. JSON texts. */
export function encodeStrings(texts: readonly string[]): Buffer {
  return encodeElements(texts.map((t) => Buffer.from(t, 'utf8')));
}

/** Raw BYTES data of the rows of a utf8 or binary column (no nulls), read from its buffers. */
export function encodeBytesColumn(column: Vector): Buffer {
  let total = 0;
  for (const d of column.data) {
    const offsets = d.valueOffsets as Int32Array;
    total += 4 * d.length + (offsets[d.length]! - offsets[0]!);
  }
  const out = Buffer.allocUnsafe(total);
  let pos = 0;
  for (const d of column.data) {
    const offsets = d.valueOffsets as Int32Array;
    const values = d.values as Uint8Array;
    for (let i = 0; i < d.length; i++) {
      const begin = offsets[i]!;
      const length = offsets[i + 1]! - begin;
      out.writeUInt32LE(length, pos);
      out.set(values.subarray(begin, begin + length), pos + 4);
      pos += 4 + length;
    }
  }
  return out;
}
