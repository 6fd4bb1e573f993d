/**
 * Assembling record batches from columns: the one place that knows how apache-arrow
 * wants a batch built, so codecs and runners only deal in fields and vectors.
 */
import { Schema, vectorFromArray, type Data, type Field, type RecordBatch, type Vector } from 'apache-arrow';
import { batchOfColumns } from '../flight/record-batch.js';

/** One Data for a vector: its only chunk, or (rarely) a copy of several chunks. */
export function singleChunk(vector: Vector): Data {
  if (vector.data.length === 1) return vector.data[0]!;
  return vectorFromArray(vector.toArray() as never, vector.type).data[0]!;
}

/**
 * A record batch of `length` rows from fields and their columns (same order).
 * `metadata` becomes the schema's custom metadata.
 */
export function batchFromColumns(
  fields: Field[], columns: Vector[], length: number, metadata?: Map<string, string>,
): RecordBatch {
  return batchFromSchema(new Schema(fields, metadata), columns, length);
}

/**
 * A record batch of `length` rows with a schema made beforehand, e.g. a method's output
 * schema: callers that answer many calls with one schema skip rebuilding it per batch,
 * and the batch keeps that very schema object (see flight/record-batch.ts).
 */
export function batchFromSchema(schema: Schema, columns: Vector[], length: number): RecordBatch {
  columns.forEach((c, i) => {
    if (c.length !== length) {
      throw new RangeError(`column '${schema.fields[i]!.name}' has ${c.length} rows, expected ${length}`);
    }
  });
  const children = columns.map(singleChunk);
  return batchOfColumns(schema, length, children);
}
