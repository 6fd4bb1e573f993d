/**
 * CSV as RFC 4180 writes it: comma-separated, double quotes around fields that hold
 * commas, quotes or line breaks, a doubled quote for a literal one. Records are read as
 * a stream, so a file of any size is parsed in bounded memory. An empty field is a
 * missing value (a null) wherever it is read into columns (io/input-source.ts).
 */
import { createReadStream } from 'node:fs';

/**
 * Splits one record's text into fields, or returns undefined when a quoted field is
 * still open at the end (it holds a line break: the record continues on the next line).
 */
export function parseRecord(text: string): string[] | undefined {
  // Most records have no quotes at all: a plain split is many times faster.
  if (!text.includes('"')) return text.split(',');
  const fields: string[] = [];
  let field = '';
  let i = 0;
  while (i <= text.length) {
    if (text[i] === '"') {
      // A quoted field: up to the closing quote, "" standing for one quote.
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) return undefined;
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
    }
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    field += text.slice(i, end);
    fields.push(field);
    field = '';
    i = end + 1;
    if (comma < 0) break;
  }
  return fields;
}

/**
 * The records (arrays of field texts) of a CSV file, in order, in groups as they are
 * read (one await per megabyte rather than per record). The first record is the header.
 * Blank lines are skipped; `\r\n` line endings are accepted.
 */
export async function* csvRecords(path: string): AsyncIterable<string[][]> {
  let carry = '';
  let pending: string | undefined;
  const records: string[][] = [];
  const take = (line: string) => {
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const text = pending === undefined ? line : `${pending}\n${line}`;
    if (text === '') return;
    const record = parseRecord(text);
    pending = record ? undefined : text;
    if (record) records.push(record);
  };
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }) as AsyncIterable<string>) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop()!;
    for (const line of lines) take(line);
    yield records.splice(0);
  }
  take(carry);
  if (pending !== undefined) throw new Error(`${path}: a quoted field is not closed at the end of the file`);
  if (records.length) yield records;
}

const needsQuotes = /[",\r\n]/;

/** One CSV field: quoted when it holds a comma, a quote or a line break. */
export function csvField(text: string): string {
  return needsQuotes.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
