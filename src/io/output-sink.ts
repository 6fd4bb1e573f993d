/**
 * Where a call's output batches go, chosen by the output file's extension:
 * - .jsonl / .ndjson (and stdout): one JSON object per row
 * - .json: one array of row objects
 * - .csv: a header row, then one record per row; a tensor or list column of fixed size n
 *   becomes n columns name_0 .. name_{n-1} (row-major), other nested values JSON text
 * - .arrow / .feather: an Arrow IPC file; .arrows: an Arrow IPC stream
 * - .parquet: a Parquet file (parquet-output.ts)
 * Batches are written as they come, so memory stays bounded by a batch.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RecordBatchFileWriter, RecordBatchStreamWriter, Type, type FixedSizeList, type RecordBatch } from 'apache-arrow';
import { csvField } from './csv.js';
import { extensionOf } from './input-source.js';
import { jsonReader } from './json-values.js';
import { ParquetSink } from './parquet-output.js';

/** Receives output batches in order; `close` finishes the file. */
export interface OutputSink {
  write(batch: RecordBatch): Promise<void>;
  close(): Promise<void>;
}

/** The output formats, by file extension. */
export const OUTPUT_EXTENSIONS = ['.jsonl', '.ndjson', '.json', '.csv', '.arrow', '.arrows', '.feather', '.parquet'];

/** True if `path` has an extension openOutput knows. */
export function isOutputPath(path: string): boolean {
  return OUTPUT_EXTENSIONS.includes(extensionOf(path));
}

/** Opens the sink for `path` by its extension, or JSON lines on stdout when no path is given. */
export function openOutput(path: string | undefined): OutputSink {
  if (path === undefined) return new JsonLinesSink(new TextOut(process.stdout, false));
  switch (extensionOf(path)) {
    case '.jsonl':
    case '.ndjson': return new JsonLinesSink(new TextOut(createWriteStream(path), true));
    case '.json': return new JsonArraySink(new TextOut(createWriteStream(path), true));
    case '.csv': return new CsvSink(new TextOut(createWriteStream(path), true));
    case '.arrow':
    case '.feather': return new ArrowSink(path, new RecordBatchFileWriter());
    case '.arrows': return new ArrowSink(path, new RecordBatchStreamWriter());
    case '.parquet': return new ParquetSink(path);
    default: throw new Error(`unsupported output format '${path}': use one of ${OUTPUT_EXTENSIONS.join(' ')}`);
  }
}

/** Text to a stream, waiting for it to drain so a fast server cannot flood memory. */
class TextOut {
  constructor(private readonly stream: Writable, private readonly owned: boolean) {}

  async write(text: string): Promise<void> {
    if (!this.stream.write(text)) await once(this.stream, 'drain');
  }

  async close(): Promise<void> {
    if (!this.owned) return;
    this.stream.end();
    await once(this.stream, 'finish');
  }
}

/** One function per column giving row i as a plain JSON value. */
function rowObjects(batch: RecordBatch): (i: number) => Record<string, unknown> {
  const fields = batch.schema.fields;
  const readers = fields.map((f) => jsonReader(f, batch.getChild(f.name)!));
  return (i) => {
    const row: Record<string, unknown> = {};
    fields.forEach((f, c) => (row[f.name] = readers[c]!(i)));
    return row;
  };
}

class JsonLinesSink implements OutputSink {
  constructor(private readonly out: TextOut) {}

  async write(batch: RecordBatch): Promise<void> {
    const row = rowObjects(batch);
    const lines: string[] = [];
    for (let i = 0; i < batch.numRows; i++) lines.push(JSON.stringify(row(i)));
    if (lines.length) await this.out.write(`${lines.join('\n')}\n`);
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

class JsonArraySink implements OutputSink {
  private rows = 0;

  constructor(private readonly out: TextOut) {}

  async write(batch: RecordBatch): Promise<void> {
    const row = rowObjects(batch);
    const parts: string[] = [];
    for (let i = 0; i < batch.numRows; i++) parts.push(`${this.rows++ === 0 ? '[\n' : ',\n'}${JSON.stringify(row(i))}`);
    if (parts.length) await this.out.write(parts.join(''));
  }

  async close(): Promise<void> {
    await this.out.write(this.rows === 0 ? '[]\n' : '\n]\n');
    await this.out.close();
  }
}

class CsvSink implements OutputSink {
  private headerWritten = false;

  constructor(private readonly out: TextOut) {}

  async write(batch: RecordBatch): Promise<void> {
    const fields = batch.schema.fields;
    // A fixed-size list (a tensor of known shape) spreads over `size` columns.
    const widths = fields.map((f) => (f.type.typeId === Type.FixedSizeList ? (f.type as FixedSizeList).listSize : 0));
    if (!this.headerWritten) {
      const names = fields.flatMap((f, c) => (widths[c] ? Array.from({ length: widths[c]! }, (_, j) => `${f.name}_${j}`) : [f.name]));
      await this.out.write(`${names.map(csvField).join(',')}\n`);
      this.headerWritten = true;
    }
    const readers = fields.map((f) => jsonReader(f, batch.getChild(f.name)!));
    const lines: string[] = [];
    for (let i = 0; i < batch.numRows; i++) {
      const cells: string[] = [];
      fields.forEach((_, c) => {
        const value = readers[c]!(i);
        if (widths[c]) {
          const flat = Array.isArray(value) ? value.flat(Infinity) : [];
          for (let j = 0; j < widths[c]!; j++) cells.push(cell(flat[j]));
        } else {
          cells.push(cell(value));
        }
      });
      lines.push(cells.join(','));
    }
    if (lines.length) await this.out.write(`${lines.join('\n')}\n`);
  }

  close(): Promise<void> {
    return this.out.close();
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return csvField(JSON.stringify(value));
  return csvField(String(value));
}

class ArrowSink implements OutputSink {
  private readonly done: Promise<void>;

  constructor(path: string, private readonly writer: RecordBatchFileWriter | RecordBatchStreamWriter) {
    this.done = pipeline(Readable.from(writer as AsyncIterable<Uint8Array>), createWriteStream(path));
  }

  async write(batch: RecordBatch): Promise<void> {
    this.writer.write(batch);
  }

  async close(): Promise<void> {
    this.writer.finish();
    await this.done;
  }
}
