/**
 * The V2 BYTES layout shared by the V2 server and the kserve backend (src/codecs/v2-bytes.ts):
 * what one side encodes the other decodes element for element, and hostile data (a count
 * the data cannot hold, lengths past the end, bytes left over, text that is not UTF-8)
 * is refused with a message naming what is wrong, before anything is allocated for it.
 */
import test from 'ava';
import { Binary, Utf8, vectorFromArray } from 'apache-arrow';
import { bytesColumn, encodeBytesColumn, encodeElements, encodeStrings, splitBytes } from '../../src/codecs/v2-bytes.js';

/** Raw BYTES data written by hand (not by the code under test). */
const raw = (...parts: (number | string)[]) => Buffer.concat(parts.map((p) => {
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  const b = Buffer.alloc(4);
  b.writeUInt32LE(p, 0);
  return b;
}));

test('raw data splits into its elements, views of the data', (t) => {
  const data = raw(2, 'hi', 0, 3, 'abc');
  const elements = splitBytes(data, 3);
  t.deepEqual(elements.map((e) => Buffer.from(e).toString()), ['hi', '', 'abc']);
  t.is(elements[0]!.buffer, data.buffer, 'no copy');
});

test('encoding writes the layout the protocol defines', (t) => {
  const expected = raw(2, 'hi', 0, 3, 'abc');
  t.deepEqual(encodeElements([Buffer.from('hi'), Buffer.alloc(0), Buffer.from('abc')]), expected);
  t.deepEqual(encodeStrings(['hi', '', 'abc']), expected);
  t.deepEqual(encodeBytesColumn(vectorFromArray(['hi', '', 'abc'], new Utf8())), expected);
});

test('a count the data cannot hold is refused before any allocation for it', (t) => {
  // 2^40 elements: an array of that many would not fit in memory; the check comes first.
  const err = t.throws(() => splitBytes(raw(1, 'a'), 2 ** 40));
  t.is(err!.message, 'needs 1099511627776 BYTES elements, each at least its 4-byte length, but the raw data has only 5 bytes');
});

test('lengths past the end, too few elements and bytes left over are refused', (t) => {
  t.is(t.throws(() => splitBytes(raw(0xffffffff), 1))!.message, 'BYTES element 0 declares 4294967295 bytes, but only 0 remain in the raw data');
  t.is(t.throws(() => splitBytes(raw(1, 'a', 1), 2))!.message,
    'BYTES element 1 declares 1 bytes, but only 0 remain in the raw data');
  t.is(t.throws(() => splitBytes(raw(9, 'abcdefghi'), 2))!.message,
    'raw BYTES data ends after 1 of 2 elements');
  t.is(t.throws(() => splitBytes(Buffer.concat([raw(1, 'a'), Buffer.from([0])]), 1))!.message,
    'raw BYTES data has 1 bytes after its 1 elements: the shape or the length prefixes are wrong');
});

test('a utf8 column refuses an element that is not UTF-8; a binary column takes any bytes', (t) => {
  const elements = [Buffer.from('ok'), Uint8Array.from([0xc3])];
  t.is(t.throws(() => bytesColumn(elements, true))!.message, 'BYTES element 1 is not valid UTF-8');
  const column = bytesColumn(elements, false);
  t.true(column.type instanceof Binary);
  t.deepEqual([...column.get(1) as Uint8Array], [0xc3]);
  t.deepEqual(bytesColumn([Buffer.from('é')], true).toArray(), ['é']);
});
