/**
 * One call of a runner method, the same in the server and in process: resolve the
 * method, conform the input, invoke, and check what came back against the signature.
 */
import { makeVector, type Data, type Field, type RecordBatch, type Schema } from 'apache-arrow';
import { batchFromSchema } from '../codecs/batch.js';
import { FlightError } from '../flight/index.js';
import { defaultMethod, type CallParams, type InvokeContext, type Runner, type RunnerMethod } from './runner.js';
import { outputSchema, tableOutput } from './signature.js';

/** Finds a method of a runner, or NOT_FOUND listing the runner's methods. */
export function methodOf(runner: Runner, name: string | undefined): RunnerMethod {
  if (name === undefined) {
    const method = defaultMethod(runner);
    if (!method) throw FlightError.notFound(`runner '${runner.name}' has several methods and no default; name one of ${methodList(runner)}`);
    return method;
  }
  const method = runner.methods.find((m) => m.signature.name === name);
  if (!method) throw FlightError.notFound(`runner '${runner.name}' has no method '${name}'; methods: ${methodList(runner)}`);
  return method;
}

/** The runner's method names, for errors (not built on every call's path). */
const methodList = (runner: Runner) => runner.methods.map((m) => `'${m.signature.name}'`).join(', ');

/** A method invocation: the backend's, or the scheduler's in front of it. */
export type Invoke = (input: RecordBatch, params: CallParams, ctx: InvokeContext) => Promise<RecordBatch>;

/**
 * Invokes `invoke` on a conformed batch and checks the result: one row per input row for
 * a batchable method, exactly the declared output columns with the declared types. A
 * model error becomes INTERNAL naming the runner and method, with the model's message.
 */
export async function invokeChecked(
  runner: string, method: RunnerMethod, invoke: Invoke, input: RecordBatch, params: CallParams, ctx: InvokeContext,
): Promise<RecordBatch> {
  let output: RecordBatch;
  try {
    output = await invoke(input, params, ctx);
  } catch (err) {
    throw invokeFailure(runner, method, err);
  }
  return checkedOutput(runner, method, input, output);
}

/**
 * What a method invocation's failure answers: a FlightError as it is (a scheduler's
 * RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED), anything else INTERNAL naming the runner and
 * method, with the model's message.
 */
export function invokeFailure(runner: string, method: RunnerMethod, err: unknown): FlightError {
  if (err instanceof FlightError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return FlightError.internal(`${where(runner, method.signature.name)} failed: ${message}`, err);
}

/**
 * A method's output for `input`, checked (see invokeChecked): the output itself, or its
 * declared columns rebuilt in declared order. Throws INTERNAL naming what is wrong.
 */
export function checkedOutput(runner: string, method: RunnerMethod, input: RecordBatch, output: RecordBatch): RecordBatch {
  const sig = method.signature;
  if (sig.batchable && output.numRows !== input.numRows) {
    throw FlightError.internal(`${where(runner, sig.name)} returned ${output.numRows} rows for ${input.numRows} input rows`);
  }
  // A table output is whatever table the method returned (its columns are its own).
  if (tableOutput(sig)) return output;
  const schema = outputSchema(sig);
  // A backend that answers with the signature's output schema (as ONNX does; each of a
  // runner's instances has its own copy) has its columns in declared order already: only
  // their types need checking, and the batch is kept as it is.
  const declaredOrder = sameSchema(output.schema, schema);
  if (declaredOrder) {
    // The usual answer: nothing to rebuild, and nothing allocated to check it.
    const columns = output.data.children;
    for (let i = 0; i < schema.fields.length; i++) checkColumn(runner, sig.name, output, schema.fields[i]!, columns[i], i);
    return output;
  }
  const columns = schema.fields.map((field, i) => {
    const column = output.getChild(field.name)?.data[0];
    checkColumn(runner, sig.name, output, field, column, i);
    return column!;
  });
  return batchFromSchema(schema, columns.map((c) => makeVector(c)), output.numRows);
}

/** Throws INTERNAL unless the output has `field`'s column (`column`, found at `i` or by name) with its declared type. */
function checkColumn(runner: string, method: string, output: RecordBatch, field: Field, column: Data | undefined, i: number): void {
  if (!column) {
    throw FlightError.internal(`${where(runner, method)} did not return output '${field.name}'; it returned ${output.schema.fields.map((f) => `'${f.name}'`).join(', ')}`);
  }
  if (column.type !== field.type && column.type !== output.schema.fields[i]?.type && String(column.type) !== String(field.type)) {
    throw FlightError.internal(`${where(runner, method)} returned output '${field.name}' as ${String(column.type)}, declared ${String(field.type)}`);
  }
}

/** How errors name a method; built only when one is thrown, not on every call's path. */
const where = (runner: string, method: string) => `runner '${runner}' method '${method}'`;

/** Output schemas found equal to a signature's, so each is compared once. */
const equalSchemas = new WeakMap<Schema, Schema>();

/** Whether `a` has exactly the fields (names, types, nullability, metadata) and metadata of `b`. */
function sameSchema(a: Schema, b: Schema): boolean {
  if (a === b || equalSchemas.get(a) === b) return true;
  const equal = sameSchemaContent(a, b);
  if (equal) equalSchemas.set(a, b);
  return equal;
}

/** sameSchema's comparison itself, remembering nothing (for schemas made per batch). */
export function sameSchemaContent(a: Schema, b: Schema): boolean {
  return a.fields.length === b.fields.length && sameMetadata(a.metadata, b.metadata)
    && a.fields.every((f, i) => {
      const g = b.fields[i]!;
      return f.name === g.name && f.nullable === g.nullable && String(f.type) === String(g.type) && sameMetadata(f.metadata, g.metadata);
    });
}

/** Whether two metadata maps hold the same entries. */
function sameMetadata(x: Map<string, string>, y: Map<string, string>): boolean {
  if (x.size !== y.size) return false;
  for (const [k, v] of x) if (y.get(k) !== v) return false;
  return true;
}
