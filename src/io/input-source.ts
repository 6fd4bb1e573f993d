/**
 * Input files as record batches, whatever their format, chosen by extension:
 * - .json: an array of row objects, or one object of named arguments for a single call
 * - .jsonl / .ndjson: one row object per line
 * - .csv: a header row, then one record per row; column types inferred (columns.ts)
 * - .arrow / .arrows / .feather: an Arrow IPC file or stream
 * - .parquet: a Parquet file
 * Row formats are read twice, once to count rows and infer column types and once to
 * build batches, so memory stays bounded by a batch rather than by the file.
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { KindInference, kindOfText, kindOfValue } from './columns.js';
import { csvRecords } from './csv.js';
import { openParquet } from './parquet-input.js';
import { rowBatches } from './row-batches.js';

/** An input file, ready to be read as batches. */
export interface InputSource {
  /** Rows in the file, when known before reading it (for progress). */
  totalRows?: number;
  /** For a JSON object file: the named arguments of one call, instead of rows. */
  namedArguments?: Record<string, unknown>;
  /** The rows as record batches of at most `batchRows` rows, in file order. */
  batches(batchRows: number): AsyncIterable<RecordBatch>;
}

/** The input formats, by file extension. */
export const INPUT_EXTENSIONS = ['.json', '.jsonl', '.ndjson', '.csv', '.arrow', '.arrows', '.feather', '.parquet'];

/** The extension of a path, lower-cased, with its dot ('' if none). */
export function extensionOf(path: string): string {
  const match = /\.[^./\\]+$/.exec(path);
  return match ? match[0].toLowerCase() : '';
}

/** Opens an input file by its extension; throws if the format is not one of INPUT_EXTENSIONS. */
export async function openInput(path: string): Promise<InputSource> {
  switch (extensionOf(path)) {
    case '.json': return openJson(path);
    case '.jsonl':
    case '.ndjson': return openJsonLines(path);
    case '.csv': return openCsv(path);
    case '.arrow':
    case '.arrows':
    case '.feather': return openArrow(path);
    case '.parquet': return openParquet(path);
    default: throw new Error(`unsupported input format '${path}': use one of ${INPUT_EXTENSIONS.join(' ')}`);
  }
}

const isRow = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function openJson(path: string): Promise<InputSource> {
  const value = JSON.parse(await readFile(path, 'utf8')) as unknown;
  if (isRow(value)) return { totalRows: undefined, namedArguments: value, batches: async function* () {} };
  if (!Array.isArray(value) || !value.every(isRow)) {
    throw new Error(`${path}: expected an array of row objects, or one object of named arguments`);
  }
  const inference = new KindInference('json');
  for (const row of value) for (const [name, v] of Object.entries(row)) inference.add(name, kindOfValue(v));
  return {
    totalRows: value.length,
    batches: (batchRows) => rowBatches([value], inference.kinds, batchRows, (row, name) => row[name]),
  };
}

/** The rows of a JSON lines file, in groups as they are read. */
async function* jsonLines(path: string): AsyncIterable<Record<string, unknown>[]> {
  let line = 0;
  const group: Record<string, unknown>[] = [];
  for await (const text of createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity })) {
    line++;
    if (!text.trim()) continue;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch (err) {
      throw new Error(`${path}:${line}: ${(err as Error).message}`);
    }
    if (!isRow(row)) throw new Error(`${path}:${line}: expected a JSON object per line`);
    group.push(row);
    if (group.length >= 4096) yield group.splice(0);
  }
  if (group.length) yield group;
}

async function openJsonLines(path: string): Promise<InputSource> {
  const inference = new KindInference('json');
  let rows = 0;
  for await (const group of jsonLines(path)) {
    for (const row of group) {
      rows++;
      for (const [name, v] of Object.entries(row)) inference.add(name, kindOfValue(v));
    }
  }
  return {
    totalRows: rows,
    batches: (batchRows) => rowBatches(jsonLines(path), inference.kinds, batchRows, (row, name) => row[name]),
  };
}

async function openCsv(path: string): Promise<InputSource> {
  const inference = new KindInference('string');
  let header: string[] | undefined;
  let rows = 0;
  for await (const group of csvRecords(path)) {
    for (const record of group) {
      if (!header) {
        header = record;
        if (new Set(header).size !== header.length) throw new Error(`${path}: the header names a column twice`);
        header.forEach((name) => inference.add(name, 'null'));
        continue;
      }
      rows++;
      if (record.length !== header.length) {
        throw new Error(`${path}: record ${rows} has ${record.length} fields, the header ${header.length}`);
      }
      for (let c = 0; c < record.length; c++) inference.add(header[c]!, kindOfText(record[c]!));
    }
  }
  if (!header) throw new Error(`${path}: empty CSV file (a header row is required)`);
  async function* records(): AsyncIterable<string[][]> {
    let first = true;
    for await (const group of csvRecords(path)) {
      yield first ? group.slice(1) : group;
      if (group.length) first = false;
    }
  }
  return {
    totalRows: rows,
    // An empty cell is a missing value in every column (as pandas reads CSV): a null,
    // which an input that is not nullable refuses, never a 0 or an empty string.
    batches: (batchRows) => rowBatches(records(), inference.kinds, batchRows, (record, _name, c) => (record[c] === '' ? null : record[c])),
  };
}

async function openArrow(path: string): Promise<InputSource> {
  // IPC file or stream alike; tableFromIPC reads either (the file format needs the whole
  // file for its footer anyway). The batches are sliced without copying.
  const table = tableFromIPC(await readFile(path));
  return {
    totalRows: table.numRows,
    batches: async function* (batchRows) {
      for (const batch of table.batches) {
        for (let start = 0; start < batch.numRows; start += batchRows) yield batch.slice(start, start + batchRows);
      }
    },
  };
}
