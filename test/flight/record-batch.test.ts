/**
 * RecordBatches made without apache-arrow's per-batch schema rebuild
 * (src/flight/record-batch.ts) behave as apache-arrow's own: same rows, slices,
 * metadata and type checks, and the given schema object is kept.
 */
import test from 'ava';
import { Field, Float64, Int32, RecordBatch, Schema, Struct, Utf8, makeData, tableToIPC, Table, vectorFromArray } from 'apache-arrow';
import { recordBatchOf, rowTypeOf, sliceBatch } from '../../src/flight/record-batch.js';

const schema = new Schema([new Field('a', new Int32(), false), new Field('s', new Utf8(), true)], new Map([['k', 'v']]));
const columns = () => [vectorFromArray([1, 2, 3, 4], new Int32()).data[0]!, vectorFromArray(['w', null, 'y', 'z'], new Utf8()).data[0]!];

test('a batch keeps its schema object and reads like apache-arrow\'s', (t) => {
  const ours = recordBatchOf(schema, makeData({ type: rowTypeOf(schema), length: 4, nullCount: 0, children: columns() }));
  const theirs = new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 4, nullCount: 0, children: columns() }));
  t.is(ours.schema, schema);
  t.not(theirs.schema, schema, 'apache-arrow rebuilds the schema: the reason for recordBatchOf');
  t.true(RecordBatch.isRecordBatch(ours));
  t.true(ours instanceof RecordBatch);
  t.is(ours.numRows, 4);
  t.deepEqual(ours.toArray().map((r) => r.toJSON()), theirs.toArray().map((r) => r.toJSON()));
  t.deepEqual(ours.getChild('s')!.toArray(), ['w', null, 'y', 'z']);
  t.is(ours.nullCount, theirs.nullCount);
  t.deepEqual([...ours.dictionaries], []);
  // Same IPC bytes as apache-arrow's batch: nothing the writer reads is missing.
  t.deepEqual(tableToIPC(new Table([ours])), tableToIPC(new Table([theirs])));
});

test('slices are views with the schema and metadata kept', (t) => {
  const batch = recordBatchOf(schema, makeData({ type: rowTypeOf(schema), length: 4, nullCount: 0, children: columns() }), new Map([['m', '1']]));
  const slice = sliceBatch(batch, 1, 3);
  t.is(slice.schema, schema);
  t.is(slice.numRows, 2);
  t.deepEqual(slice.getChild('a')!.toArray(), Int32Array.from([2, 3]));
  t.deepEqual(slice.getChild('s')!.toArray(), [null, 'y']);
  t.is(slice.metadata.get('m'), '1');
  t.deepEqual(sliceBatch(slice, 1, 2).getChild('s')!.toArray(), ['y']);
});

test('columns of other lengths are padded as apache-arrow pads them', (t) => {
  const short = vectorFromArray([1.5], new Float64()).data[0]!;
  const two = new Schema([new Field('a', new Int32(), false), new Field('b', new Float64(), false)]);
  const batch = recordBatchOf(two, makeData({ type: rowTypeOf(two), length: 4, nullCount: 0, children: [columns()[0]!, short] }));
  t.is(batch.numRows, 4);
  t.deepEqual([...batch.getChild('b')!], [1.5, null, null, null]);
  t.true(batch.schema.fields[1]!.nullable, 'the padded column became nullable, as apache-arrow makes it');
});
