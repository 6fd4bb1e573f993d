/**
 * Pass-through columns for batch scoring (`stream(input, { keep: ['id'] })`, `call --keep id`):
 * columns of each input batch that are copied onto its answer batch, so outputs join back
 * to inputs by key rather than by row order.
 *
 * Done on the client, with no server support: the runner protocol answers each input batch
 * with exactly one output batch, in order, with one row per input row for a batchable
 * method (docs/protocol.md, "A call is a DoExchange"). So the client takes the kept columns
 * off each batch it sends (the runner never sees a column it does not declare), queues them,
 * and puts them in front of the matching answer. Any Flight client can do the same.
 */
import type { Field, RecordBatch, Vector } from 'apache-arrow';
import { batchFromColumns } from '../codecs/batch.js';
import { FlightError } from '../flight/index.js';
import { describeParams, tableInput, type MethodSignature } from '../runner/signature.js';

/** The columns kept from one input batch. */
export interface KeptColumns {
  fields: Field[];
  vectors: Vector[];
  rows: number;
}

/**
 * Checks that `keep` can be honoured for a method: names are distinct, none is also an
 * output name (the answer would have two columns of one name), and the method is
 * batchable (one output row per input row). Throws a TypeError saying what to change.
 */
export function checkKeep(runner: string, sig: MethodSignature, keep: readonly string[]): void {
  const where = `keep ${keep.map((k) => `'${k}'`).join(', ')} for runner '${runner}' method '${sig.name}'`;
  const twice = keep.filter((k, i) => keep.indexOf(k) !== i);
  if (twice.length) throw new TypeError(`${where}: '${twice[0]}' is named twice`);
  if (!sig.batchable) {
    throw new TypeError(`${where}: the method is not batchable (its answers need not have one row per input row), so kept columns cannot be matched to its rows`);
  }
  const clash = keep.find((k) => sig.outputs.some((o) => o.name === k));
  if (clash) throw new TypeError(`${where}: '${clash}' is also an output of the method (outputs: ${describeParams(sig.outputs)}); rename the input column`);
}

/** True if the method reads column `name` (an input, or a declared column of its table input). */
export function methodReads(sig: MethodSignature, name: string): boolean {
  const table = tableInput(sig);
  if (table) return Boolean(table.type.columns && name in table.type.columns);
  return sig.inputs.some((p) => p.name === name);
}

/**
 * Takes the kept columns off an input batch: returns them, and the batch to send (without
 * them, unless the method reads them). A missing column is an error listing the batch's.
 */
export function takeKept(batch: RecordBatch, keep: readonly string[], sig: MethodSignature): { kept: KeptColumns; send: RecordBatch } {
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  for (const name of keep) {
    const field = batch.schema.fields.find((f) => f.name === name);
    if (!field) {
      throw new TypeError(`keep: the input has no column '${name}'; its columns are ${batch.schema.fields.map((f) => `'${f.name}'`).join(', ') || 'none'}`);
    }
    fields.push(field);
    vectors.push(batch.getChild(name)!);
  }
  const strip = keep.filter((k) => !methodReads(sig, k));
  const send = strip.length ? withoutColumns(batch, strip) : batch;
  return { kept: { fields, vectors, rows: batch.numRows }, send };
}

/** The kept columns of an input batch, then the columns of its answer. */
export function attachKept(kept: KeptColumns, answer: RecordBatch): RecordBatch {
  if (answer.numRows !== kept.rows) {
    throw FlightError.internal(`an answer batch has ${answer.numRows} rows for an input batch of ${kept.rows}; kept columns cannot be matched to its rows`);
  }
  const fields = [...kept.fields, ...answer.schema.fields];
  const vectors = [...kept.vectors, ...answer.schema.fields.map((f) => answer.getChild(f.name)!)];
  return batchFromColumns(fields, vectors, answer.numRows, answer.schema.metadata);
}

function withoutColumns(batch: RecordBatch, names: string[]): RecordBatch {
  const fields = batch.schema.fields.filter((f) => !names.includes(f.name));
  return batchFromColumns(fields, fields.map((f) => batch.getChild(f.name)!), batch.numRows, batch.schema.metadata);
}
