/**
 * The direct paths for plain columns (numbers and tensors without nulls) in
 * arrow-internals.ts, and the codecs that use them (merging calls, slicing answers,
 * building tensor columns), give what apache-arrow's own makeData, slice and IPC writer
 * give: apache-arrow is the oracle here, not our code.
 */
import test from 'ava';
import {
  Bool, Field, FixedSizeList, Float16, Float32, Float64, Int32, Int64, RecordBatch, Schema, Struct, Table, Uint8,
  makeData, tableFromIPC, tableToIPC, type Data, type DataType,
} from 'apache-arrow';
import { concatBatches } from '../../src/codecs/concat.js';
import { Tensor, fixedShapeColumn } from '../../src/codecs/tensor.js';
import { fixedSizeListData, isPlain, numberData, slicePlain } from '../../src/flight/arrow-internals.js';
import { batchOfColumns, sliceBatch } from '../../src/flight/record-batch.js';

const tensorType = (size: number, item: DataType = new Float32()) => new FixedSizeList(size, new Field('item', item, false));

/** A batch of an int32, a float64, a float32 [3] tensor and an int64 column, 5 rows, built by apache-arrow's makeData. */
function arrowBatch(first = 0): RecordBatch {
  const rows = 5;
  const ints = Int32Array.from({ length: rows }, (_, i) => first + i);
  const floats = Float64Array.from({ length: rows }, (_, i) => (first + i) / 4);
  const cells = Float32Array.from({ length: rows * 3 }, (_, i) => first * 3 + i + 0.5);
  const bigs = BigInt64Array.from({ length: rows }, (_, i) => BigInt(first + i) * 1_000_000_000_000n);
  const fields = [new Field('i', new Int32(), false), new Field('f', new Float64(), false), new Field('t', tensorType(3), false), new Field('b', new Int64(), false)];
  const children = [
    makeData({ type: new Int32(), length: rows, data: ints }),
    makeData({ type: new Float64(), length: rows, data: floats }),
    makeData({ type: tensorType(3), length: rows, child: makeData({ type: new Float32(), length: rows * 3, data: cells }) }),
    makeData({ type: new Int64(), length: rows, data: bigs }),
  ];
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: rows, children }));
}

const ipc = (batch: RecordBatch) => tableToIPC(new Table([batch]));
const rowsOf = (batch: RecordBatch) => batch.toArray().map((r) => JSON.stringify(r.toJSON(), (_, v) => (typeof v === 'bigint' ? String(v) : v)));

test('numberData and fixedSizeListData make the Data apache-arrow\'s makeData makes', (t) => {
  const values = Float32Array.of(1, 2, 3, 4, 5, 6);
  const ours = fixedSizeListData(tensorType(2), 3, numberData(new Float32(), 6, values));
  const theirs = makeData({ type: tensorType(2), length: 3, child: makeData({ type: new Float32(), length: 6, data: values }) });
  for (const key of ['offset', 'length', 'nullCount', 'stride'] as const) {
    t.is(ours[key], theirs[key], key);
    t.is(ours.children[0]![key], theirs.children[0]![key], `child ${key}`);
  }
  t.is(ours.children[0]!.values, values, 'the values are the array given, not a copy');
  t.true(isPlain(ours));
  const schema = new Schema([new Field('x', tensorType(2), false)]);
  t.deepEqual(ipc(batchOfColumns(schema, 3, [ours])), ipc(new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 3, children: [theirs] }))));
  // Another typed array than the type's is viewed as the type's, as makeData does.
  const half = numberData(new Float16(), 2, Uint8Array.of(0, 60, 0, 64));
  t.true(half.values instanceof Uint16Array);
  t.deepEqual([...half.values as Uint16Array], [...(makeData({ type: new Float16(), length: 2, data: Uint8Array.of(0, 60, 0, 64) }).values)]);
});

test('slicing a batch of plain columns gives apache-arrow\'s slice: the same Data fields, rows and IPC bytes, a slice of a slice too', (t) => {
  const batch = arrowBatch();
  for (const [begin, end] of [[0, 5], [1, 3], [4, 5], [2, 2]] as const) {
    const ours = sliceBatch(batch, begin, end);
    const theirs = batch.slice(begin, end);
    t.is(ours.schema, batch.schema, 'the schema object is kept');
    t.deepEqual(rowsOf(ours), rowsOf(theirs), `rows ${begin}-${end}`);
    t.deepEqual(ipc(ours), ipc(theirs), `IPC bytes ${begin}-${end}`);
    ours.data.children.forEach((column, i) => {
      const expected = theirs.data.children[i]!;
      t.is(column.offset, expected.offset);
      t.is(column.length, expected.length);
      t.is(column.nullCount, 0);
      if (column.values) t.is(column.values.length, expected.values.length, 'values cut where apache-arrow cuts them');
    });
    const inner = sliceBatch(ours, 0, Math.max(0, end - begin - 1));
    t.deepEqual(ipc(inner), ipc(theirs.slice(0, Math.max(0, end - begin - 1))), 'a slice of a slice');
  }
});

test('a column with nulls, or of another type, is not plain and is sliced by apache-arrow as before', (t) => {
  const withNulls = makeData({ type: new Int32(), length: 3, nullCount: 1, nullBitmap: Uint8Array.of(0b101), data: Int32Array.of(1, 0, 3) });
  t.false(isPlain(withNulls));
  const schema = new Schema([new Field('a', new Int32(), true)]);
  const batch = batchOfColumns(schema, 3, [withNulls]);
  t.deepEqual([...sliceBatch(batch, 1, 3).getChild('a')!], [null, 3]);
  t.false(isPlain(makeData({ type: new Bool(), length: 2, data: Uint8Array.of(1) })), 'bools are bit-packed: not plain');
  t.true(isPlain(makeData({ type: new Uint8(), length: 1, data: Uint8Array.of(7) })));
});

test('merging calls\' batches gives the rows in order, read back by apache-arrow\'s own reader, from whole batches and slices', (t) => {
  const parts = [arrowBatch(0), sliceBatch(arrowBatch(10), 1, 4), arrowBatch(20).slice(3, 5), sliceBatch(arrowBatch(30), 2, 3)];
  const merged = concatBatches(parts);
  t.is(merged.numRows, 5 + 3 + 2 + 1);
  t.deepEqual(rowsOf(merged), parts.flatMap(rowsOf));
  // Each column is one contiguous buffer, its Data as makeData would make it.
  for (const column of merged.data.children) t.true(isPlain(column));
  const read = tableFromIPC(ipc(merged));
  t.deepEqual(read.batches.flatMap(rowsOf), parts.flatMap(rowsOf));
});

test('slicePlain of a tensor column cuts its child at the rows\' values', (t) => {
  const column = arrowBatch().data.children[2]! as Data;
  const slice = slicePlain(column, 2, 2);
  t.deepEqual([...slice.children[0]!.values as Float32Array], [6.5, 7.5, 8.5, 9.5, 10.5, 11.5]);
  t.deepEqual(slice.children[0]!.values, column.slice(2, 2).children[0]!.values);
});

test('a tensor column from a tensor: the rows apache-arrow reads, with the field type given', (t) => {
  const type = tensorType(2);
  const column = fixedShapeColumn(new Tensor('float32', Float32Array.of(1, 2, 3, 4, 5, 6), [3, 2]), type);
  t.is(column.type, type);
  t.deepEqual([...column].map((row) => [...(row as Iterable<number>)]), [[1, 2], [3, 4], [5, 6]]);
  t.true(isPlain(column.data[0]!));
});
