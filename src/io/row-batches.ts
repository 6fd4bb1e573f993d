/**
 * Row-shaped inputs (JSON rows, JSON lines, CSV records, Parquet rows) as record batches:
 * rows are gathered `batchRows` at a time and turned into typed columns whose kinds were
 * inferred beforehand over the whole input (see columns.ts).
 */
import type { RecordBatch } from 'apache-arrow';
import { batchFromColumns } from '../codecs/batch.js';
import { buildColumn, fieldForKind, type ColumnKind } from './columns.js';

/** Reads a named value from one row. */
export type RowReader<Row> = (row: Row, name: string, index: number) => unknown;

/**
 * Record batches of at most `batchRows` rows from `groups` of rows (as a reader hands
 * them over), with one column per entry of `kinds` (in that order).
 */
export async function* rowBatches<Row>(
  groups: AsyncIterable<Row[]> | Iterable<Row[]>, kinds: Map<string, ColumnKind>, batchRows: number, read: RowReader<Row>,
): AsyncIterable<RecordBatch> {
  const names = [...kinds.keys()];
  const fields = names.map((n) => fieldForKind(n, kinds.get(n)!));
  let pending: Row[] = [];
  const flush = (): RecordBatch => {
    const columns = names.map((name, c) => buildColumn(kinds.get(name)!, pending.map((row) => read(row, name, c))));
    const batch = batchFromColumns(fields, columns, pending.length);
    pending = [];
    return batch;
  };
  for await (const group of groups) {
    for (const row of group) {
      pending.push(row);
      if (pending.length >= batchRows) yield flush();
    }
  }
  if (pending.length) yield flush();
}
