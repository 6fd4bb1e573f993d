/**
 * Making apache-arrow RecordBatches without its constructor's per-batch schema rebuild.
 * `new RecordBatch(schema, data)` pads short columns, and to do so derives a new schema
 * for every batch (Schema.assign clones each field and merges its metadata maps): a
 * tenth of a one-row call's server time, and the new Schema object defeats every cache
 * keyed on the schema (decoded headers, conform plans, encoded schemas). Batches built
 * here keep the schema they are given.
 */
import { RecordBatch, Struct, type Data, type Schema } from 'apache-arrow';
import { recordBatchKeepingSchema, slicePlainRows, structData } from './arrow-internals.js';

/** The struct type of a schema's rows, made once per schema. */
const rowTypes = new WeakMap<Schema, Struct>();

/** The Struct type whose children are `schema`'s fields (one object per schema). */
export function rowTypeOf(schema: Schema): Struct {
  let type = rowTypes.get(schema);
  if (!type) rowTypes.set(schema, type = new Struct(schema.fields));
  return type;
}

/**
 * `new RecordBatch(schema, data)`, keeping `schema` when every column has the batch's
 * length (else apache-arrow's constructor pads them, as before).
 */
export function recordBatchOf(schema: Schema, data: Data<Struct>, metadata: Map<string, string> = new Map()): RecordBatch {
  const consistent = data.children.length === schema.fields.length && data.children.every((c) => c.length === data.length);
  if (!consistent) return new RecordBatch(schema, data, metadata as never);
  return recordBatchKeepingSchema(schema, data, metadata);
}

/** A batch of `schema` with `length` rows from its columns' Data (in field order), keeping `schema`. */
export function batchOfColumns(schema: Schema, length: number, children: Data[]): RecordBatch {
  return recordBatchOf(schema, structData(rowTypeOf(schema), length, children));
}

/** Rows `begin` (inclusive) to `end` (exclusive) of a batch, as a view, keeping its schema. */
export function sliceBatch(batch: RecordBatch, begin: number, end: number): RecordBatch {
  // Number and tensor columns without nulls (nearly every model's) are cut directly: the
  // batcher slices every merged answer back to each caller.
  const data = slicePlainRows(batch.data, begin, end - begin) ?? batch.data.slice(begin, end - begin) as Data<Struct>;
  return recordBatchOf(batch.schema, data, batch.metadata);
}
