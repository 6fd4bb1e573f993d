/**
 * The backend contract: what every backend (js, onnx, ...) must do, checked the same way
 * for each, through the path `serve` takes: a config entry checked by the config schema,
 * its runners listed by the backend registry, each run as a ScheduledRunner (batcher and
 * instance pool) whose instances load through the registry, in process and in worker
 * threads. A backend lists its entry's runners and their methods, and the loaded runners
 * have exactly those; each method exposes a signature whose output schema is exactly what
 * the method returns; a batch runs with the right row count and dtypes; bad input is
 * INVALID_ARGUMENT from the runner pipeline (before the backend sees it); and runners close.
 *
 * Inputs are generated from each method's signature, so a new backend or model needs no
 * hand-written sample.
 */
import test from 'ava';
import { resolve } from 'node:path';
import { Binary, Field, Int32, Float64, RecordBatch, Schema, Struct, Type, Utf8, makeData, vectorFromArray, type DataType } from 'apache-arrow';
import type { Isolation, RunnerListing } from '../../src/backends/backend.js';
import { backendNamed, backendOfPath } from '../../src/backends/registry.js';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { dtypeOf } from '../../src/codecs/dtypes.js';
import { runnerMethodsOf } from '../../src/config/method-overrides.js';
import { runnerEntrySchema } from '../../src/config/schema.js';
import type { RunnerConfig } from '../../src/config/serve-config.js';
import { FlightError, Status, Tensor, local, type Runner } from '../../src/index.js';
import { planConform } from '../../src/runner/conform.js';
import type { PayloadType } from '../../src/codecs/payload.js';
import { NAME_PATTERN, inputSchema, outputSchema, tableInput, tableOutput, type MethodSignature, type ParamSpec } from '../../src/runner/signature.js';
import { scheduledRunnersOf } from '../../src/scheduling/runner-loader.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';

/** One target a backend loads. */
export interface BackendCase {
  /** Shown in test titles. */
  title: string;
  /**
   * The entry's `path`: a file (resolved against the working directory) or an address. A
   * function when it is known only once the file's tests run (a server the file starts;
   * ava runs `before` hooks concurrently, so it is awaited in the contract's own hook).
   */
  target: string | (() => Promise<string>);
  /** The entry's `options`, as a config would write them. */
  options?: Record<string, unknown>;
  /** Runner names the target must yield (in any order). */
  runners: string[];
  /** `runner.method` names not to run (methods that fail on purpose). */
  skip?: string[];
}

/** The isolations the contract runs each case in: the in-process path and the worker-thread path. */
const ISOLATIONS: Isolation[] = ['in-process', 'worker'];

const ROWS = 5;

/** Deterministic values, varied enough to catch mixed-up rows, small enough for every dtype. */
function numbersFor(count: number, seed: number): number[] {
  return Array.from({ length: count }, (_, i) => ((i * 7 + seed * 3) % 11) - 3);
}

/** Batch-first JS values for one input of `rows` examples. Free dimensions are 2. */
function sampleValue(type: Exclude<PayloadType, { kind: 'table' }>, rows: number, seed: number): unknown {
  switch (type.kind) {
    case 'tensor': {
      const shape = [rows, ...type.shape.map((d) => (d < 0 ? 2 : d))];
      const count = shape.reduce((a, b) => a * b, 1);
      const values = numbersFor(count, seed).map((v) => (type.dtype === 'bool' ? v > 0 : type.dtype.startsWith('uint') ? Math.abs(v) : v));
      return Tensor.from(values, type.dtype, shape);
    }
    case 'scalar': return numbersFor(rows, seed).map((v) => (type.dtype === 'bool' ? v > 0 : type.dtype.startsWith('uint') ? Math.abs(v) : v));
    case 'string': return Array.from({ length: rows }, (_, i) => `text ${i} of the sample, row ${i}`);
    case 'bytes': return Array.from({ length: rows }, (_, i) => Uint8Array.from({ length: i + 1 }, (_, j) => j));
    case 'json': return Array.from({ length: rows }, (_, i) => ({ row: i, tags: ['a', String(i)] }));
  }
}

/** A column of `type` for a table input. */
function tableColumn(type: DataType, rows: number, seed: number) {
  if (type.typeId === Type.Utf8) return vectorFromArray(Array.from({ length: rows }, (_, i) => `v${i}`), new Utf8());
  if (type.typeId === Type.Binary) return vectorFromArray(Array.from({ length: rows }, (_, i) => Uint8Array.of(i)), new Binary());
  const dtype = dtypeOf(type)!;
  const values = numbersFor(rows, seed).map((v) => Math.abs(v) * 1000 + 20);
  return vectorFromArray(values.map((v) => (dtype === 'bool' ? v > 1000 : dtype.endsWith('64') && dtype.includes('int') ? BigInt(v) : v)) as never, type);
}

/** A sample input batch for a method, from its signature alone. */
export function sampleBatch(sig: MethodSignature, rows = ROWS): RecordBatch {
  const table = tableInput(sig);
  if (table) {
    // Declared columns, or (for a table of any columns) two numeric ones.
    const columns = table.type.columns ?? { v: new Float64(), k: new Int32() };
    const fields = Object.entries(columns).map(([name, type]) => new Field(name, type, false));
    const children = fields.map((f, i) => tableColumn(f.type, rows, i).data[0]!);
    return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: rows, nullCount: 0, children }));
  }
  const values = Object.fromEntries(sig.inputs.map((p, i) => [p.name, sampleValue(p.type as Exclude<PayloadType, { kind: 'table' }>, rows, i)]));
  return valuesToBatch(sig.inputs, values);
}

/**
 * The same batch without column `name`, or with it retyped: a text or bytes column as
 * float64, anything else as utf8 (neither is a safe widening of the other).
 */
function alter(batch: RecordBatch, name: string, how: 'drop' | 'retype'): RecordBatch {
  const fields: Field[] = [];
  const children = [];
  for (const f of batch.schema.fields) {
    if (f.name === name && how === 'drop') continue;
    if (f.name === name) {
      const text = [Type.Utf8, Type.LargeUtf8, Type.Binary, Type.LargeBinary].includes(f.type.typeId);
      const column = text
        ? vectorFromArray(new Float64Array(batch.numRows).fill(1.5))
        : vectorFromArray(Array.from({ length: batch.numRows }, () => 'not a number'), new Utf8());
      fields.push(new Field(name, column.type, false));
      children.push(column.data[0]!);
    } else {
      fields.push(f);
      children.push(batch.getChild(f.name)!.data[0]!);
    }
  }
  return new RecordBatch(new Schema(fields), makeData({ type: new Struct(fields), length: batch.numRows, nullCount: 0, children }));
}

/** The names of the columns a method's input batch must have. */
function declaredColumns(sig: MethodSignature): string[] {
  return inputSchema(sig).fields.map((f) => f.name);
}

/** The dtype an output column holds: its own, or its tensor elements'. */
function columnDtype(type: DataType): string | undefined {
  if (type.typeId === Type.FixedSizeList) return dtypeOf(type.children[0]!.type);
  if (type.typeId === Type.Struct && type.children[0]?.name === 'data') return dtypeOf(type.children[0].type.children[0]!.type);
  return dtypeOf(type);
}

function expectedDtype(spec: ParamSpec): string | undefined {
  return spec.type.kind === 'tensor' || spec.type.kind === 'scalar' ? spec.type.dtype : undefined;
}

/** The case as serve reads it: a config entry, checked by the config schema. */
function entryOf(backend: string, c: BackendCase, target: string, isolation: Isolation): RunnerConfig {
  const entry = runnerEntrySchema.parse({
    path: target,
    backend,
    ...(c.options ? { options: c.options } : {}),
    scheduling: { isolation, instances: { count: 1, threadsPerInstance: 1 } },
  });
  // An address (grpc://host:port) is not a file.
  return { ...entry, path: /^[a-z][a-z0-9+.-]*:\/\//i.test(entry.path) ? entry.path : resolve(entry.path) };
}

async function targetOf(c: BackendCase): Promise<string> {
  return typeof c.target === 'function' ? c.target() : c.target;
}

/** The runners `serve` would register for the entry, loaded: listed by the registry, each a ScheduledRunner. */
async function serveRunners(entry: RunnerConfig, listed: RunnerListing[]): Promise<ScheduledRunner[]> {
  const pending = await scheduledRunnersOf(entry, () => ({}), listed);
  return (await Promise.all(pending.map((p) => p.load()))) as ScheduledRunner[];
}

/**
 * Registers the backend contract for the backend named `backend` over the given targets,
 * in each isolation. Every method of every runner is exercised, except those a case skips.
 */
export function backendContract(backend: string, cases: BackendCase[]): void {
  for (const c of cases) {
    for (const isolation of ISOLATIONS) {
      caseContract(backend, c, isolation);
    }
  }
}

function caseContract(backend: string, c: BackendCase, isolation: Isolation): void {
  const title = (what: string) => `${backend} backend, ${c.title}, ${isolation}: ${what}`;
  let entry: RunnerConfig;
  let listed: RunnerListing[] = [];
  let runners: ScheduledRunner[] = [];
  const methods = () => runners.flatMap((runner) => runner.methods
    .filter((m) => !c.skip?.includes(`${runner.name}.${m.signature.name}`))
    .map((method) => ({ runner: runner as Runner, method, sig: method.signature })));

  test.before(async () => {
    entry = entryOf(backend, c, await targetOf(c), isolation);
    listed = await runnerMethodsOf(entry);
    runners = await serveRunners(entry, listed);
  });
  test.after.always(async () => {
    await Promise.all(runners.map((r) => r.close()));
  });

  test(title('accepts its target and serves it as scheduled runners with the methods it listed'), async (t) => {
    // A backend that picks its entries by path picks this one; others must be named (entryOf does).
    if (backendNamed(backend).paths.accepts) t.is(backendOfPath(await targetOf(c))?.name, backend);
    // A module's exports come in no particular order: compare the sets.
    t.deepEqual(listed.map((r) => r.name).sort(), [...c.runners].sort());
    t.deepEqual(runners.map((r) => r.name).sort(), [...c.runners].sort());
    for (const runner of runners) {
      t.true(runner instanceof ScheduledRunner, runner.name);
      // The methods a loaded instance has are those the backend listed before loading
      // (serve checks per-method overrides against the listing).
      t.deepEqual(runner.methods.map((m) => m.signature.name).sort(), [...listed.find((l) => l.name === runner.name)!.methods].sort(), runner.name);
      t.true(runner.methods.length > 0, runner.name);
      t.true(runner.versions.length > 0, runner.name);
      t.is(typeof runner.platform, 'string');
      for (const m of runner.methods) {
        t.regex(m.signature.name, NAME_PATTERN);
        t.true(m.signature.outputs.length > 0, `${runner.name}.${m.signature.name} has outputs`);
      }
    }
    t.true(methods().length > 0);
  });

  test(title('what each method returns is exactly its declared output schema'), async (t) => {
    for (const { runner, method, sig } of methods()) {
      const where = `${runner.name}.${sig.name}`;
      const input = sampleBatch(sig);
      // The scheduled runner's own result, before the pipeline's checks could mask a mismatch.
      const conformed = planConform(runner.name, sig, input.schema)(input);
      const raw = await method.invoke(conformed, {}, {});
      if (tableOutput(sig)) {
        t.true(raw.numCols > 0, where);
        continue;
      }
      const declared = outputSchema(sig).fields;
      t.deepEqual(raw.schema.fields.map((f) => f.name), declared.map((f) => f.name), where);
      t.deepEqual(raw.schema.fields.map((f) => String(f.type)), declared.map((f) => String(f.type)), where);
      if (sig.batchable) t.is(raw.numRows, ROWS, where);
    }
  });

  test(title('a batch runs through the pipeline with the right row count and dtypes'), async (t) => {
    const client = await local(runners);
    for (const { runner, sig } of methods()) {
      const where = `${runner.name}.${sig.name}`;
      const out = await client.caller.call(runner.name, sig.name, sampleBatch(sig));
      if (sig.batchable) t.is(out.numRows, ROWS, where);
      else t.true(out.numRows >= 1, where);
      for (const spec of tableOutput(sig) ? [] : sig.outputs) {
        const column = out.getChild(spec.name);
        t.truthy(column, `${where} output ${spec.name}`);
        t.is(column!.nullCount, 0, `${where} output ${spec.name}`);
        const want = expectedDtype(spec);
        if (want) t.is(columnDtype(column!.type), want, `${where} output ${spec.name}`);
      }
    }
  });

  test(title('bad input is INVALID_ARGUMENT from the pipeline, naming runner, method and column'), async (t) => {
    const client = await local(runners);
    let checked = 0;
    for (const { runner, sig } of methods()) {
      const column = declaredColumns(sig)[0];
      if (!column) continue; // a table of any columns: no input is malformed
      const where = `runner '${runner.name}' method '${sig.name}'`;
      const input = sampleBatch(sig);
      for (const how of ['drop', 'retype'] as const) {
        const err = await t.throwsAsync(client.caller.call(runner.name, sig.name, alter(input, column, how)), { instanceOf: FlightError });
        t.is(err?.code, Status.INVALID_ARGUMENT, err?.message);
        t.true(err?.message.startsWith(where), err?.message);
        t.true(err?.message.includes(`'${column}'`), err?.message);
      }
      checked++;
    }
    t.true(checked > 0);
  });

  test(title('runners close'), async (t) => {
    const fresh = await serveRunners(entry, await runnerMethodsOf(entry));
    t.deepEqual(fresh.map((r) => r.name).sort(), [...c.runners].sort());
    await t.notThrowsAsync(Promise.all(fresh.map((r) => r.close())));
  });
}
