/**
 * Parquet files as an input source (hyparquet, pure JS). Column kinds come from the
 * Parquet schema: floating point -> float, integers -> int, boolean -> bool, strings ->
 * string, lists of numbers -> list, anything else -> JSON text. Row groups are read a
 * batch at a time, so memory stays bounded by a batch.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { SchemaTree } from 'hyparquet';
import type { ColumnKind } from './columns.js';
import type { InputSource } from './input-source.js';
import { rowBatches } from './row-batches.js';

function kindOfParquet(node: SchemaTree): ColumnKind {
  const { type, converted_type: converted, logical_type: logical } = node.element;
  if (!node.children.length) {
    if (logical && logical.type !== 'INTEGER' && logical.type !== 'STRING') return 'json';
    if (type === 'DOUBLE' || type === 'FLOAT') return 'float';
    if ((type === 'INT32' || type === 'INT64') && (!converted || converted.startsWith('INT_') || converted.startsWith('UINT_'))) return 'int';
    if (type === 'BOOLEAN') return 'bool';
    if (type === 'BYTE_ARRAY' && (!converted || converted === 'UTF8')) return 'string';
    return 'json';
  }
  // A LIST annotates a group whose repeated child holds the element (3-level form).
  if (converted === 'LIST' || logical?.type === 'LIST') {
    let leaf = node;
    while (leaf.children.length === 1) leaf = leaf.children[0]!;
    const t = leaf.children.length ? undefined : leaf.element.type;
    if (t === 'DOUBLE' || t === 'FLOAT' || t === 'INT32' || t === 'INT64') return 'list';
  }
  return 'json';
}

/** Opens a Parquet file as an input source. */
export async function openParquet(path: string): Promise<InputSource> {
  const file = await asyncBufferFromFile(path);
  const metadata = await parquetMetadataAsync(file);
  const kinds = new Map<string, ColumnKind>(parquetSchema(metadata).children.map((c) => [c.element.name, kindOfParquet(c)]));
  const totalRows = Number(metadata.num_rows);
  async function* rows(batchRows: number): AsyncIterable<Record<string, unknown>[]> {
    for (let start = 0; start < totalRows; start += batchRows) {
      yield await parquetReadObjects({ file, metadata, rowStart: start, rowEnd: Math.min(totalRows, start + batchRows) });
    }
  }
  return {
    totalRows,
    batches: (batchRows) => rowBatches(rows(batchRows), kinds, batchRows, (row, name) => row[name]),
  };
}
