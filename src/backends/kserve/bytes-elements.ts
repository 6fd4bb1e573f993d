/**
 * BYTES tensors on the V2 wire: each element is a 4-byte little-endian length followed
 * by that many bytes. Decoding treats the buffer as hostile: every length is checked
 * against what is left, and the element count and the total must match exactly.
 */
import { Binary, Utf8, makeData, makeVector, type Vector } from 'apache-arrow';
import { isUtf8 } from 'node:buffer';

/** Encodes the rows of a utf8 or binary column (no nulls) as one raw BYTES buffer. */
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

/** Encodes strings (JSON texts) as one raw BYTES buffer. */
export function encodeStrings(texts: readonly string[]): Buffer {
  const parts = texts.map((t) => Buffer.from(t, 'utf8'));
  const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.writeUInt32LE(p.length, pos);
    out.set(p, pos + 4);
    pos += 4 + p.length;
  }
  return out;
}

/**
 * Decodes a raw BYTES buffer of exactly `count` elements into a binary column, or a
 * utf8 column when `utf8` (every element must then be valid UTF-8). Throws a message
 * (without the tensor's name: the caller adds it) when the buffer does not hold that.
 */
export function decodeBytes(raw: Uint8Array, count: number, utf8: boolean): Vector {
  const offsets = new Int32Array(count + 1);
  // Sized for what the buffer could hold, not for what `count` says: a hostile count
  // must not decide an allocation, nor run the copy past its end.
  const data = new Uint8Array(raw.length);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let pos = 0;
  let out = 0;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > raw.length) throw new Error(`holds ${i} elements where its shape says ${count}`);
    const length = view.getUint32(pos, true);
    pos += 4;
    if (length > raw.length - pos) throw new Error(`element ${i} claims ${length} bytes, but only ${raw.length - pos} remain`);
    const element = raw.subarray(pos, pos + length);
    if (utf8 && !isUtf8(element)) throw new Error(`element ${i} is not valid UTF-8`);
    data.set(element, out);
    pos += length;
    out += length;
    offsets[i + 1] = out;
  }
  if (pos !== raw.length) throw new Error(`has ${raw.length - pos} bytes after its ${count} elements`);
  const type = utf8 ? new Utf8() : new Binary();
  return makeVector(makeData({ type, length: count, nullCount: 0, valueOffsets: offsets, data: data.subarray(0, out) } as never));
}

/** A binary or utf8 column from separate elements (typed `bytes_contents`). */
export function bytesFromElements(elements: readonly Uint8Array[], utf8: boolean): Vector {
  const offsets = new Int32Array(elements.length + 1);
  const data = new Uint8Array(elements.reduce((n, e) => n + e.length, 0));
  let out = 0;
  elements.forEach((e, i) => {
    if (utf8 && !isUtf8(e)) throw new Error(`element ${i} is not valid UTF-8`);
    data.set(e, out);
    out += e.length;
    offsets[i + 1] = out;
  });
  const type = utf8 ? new Utf8() : new Binary();
  return makeVector(makeData({ type, length: elements.length, nullCount: 0, valueOffsets: offsets, data } as never));
}
