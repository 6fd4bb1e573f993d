/**
 * Test runners, defined with defineRunner, that between them cover every payload type
 * and return form the runner protocol has. The contract suites run them in process
 * (local()) and behind a real Flight server, and expect the very same results.
 *
 * - `tensors`: tensors of float32, float64, int32, int64, bool, uint8 and float16, with
 *   per-example shapes [4], [2,3] and [] (scalar shape), and a free dimension [-1].
 * - `values`: scalars, strings, bytes and JSON objects; one output and several.
 * - `tables`: a table input as a danfo DataFrame and as an Arrow RecordBatch.
 * - `misc`: call params, a non-batchable method, a model that throws, one that returns
 *   the wrong number of rows, an echo for long streams, and a slow echo.
 * - `bulk`: four float64 columns in, one out, cheap enough for 10 million rows.
 */
import { Float64, Int64, RecordBatch, Type } from 'apache-arrow';
import type { DataFrame } from 'danfojs';
import { defineRunner, loadJsRunner, Tensor, types, type JsRunnerDefinition, type Runner } from '../../src/index.js';

/** Tensors of every common dtype and shape kind. `double` is the default method. */
export const tensorsRunner = defineRunner({
  name: 'tensors',
  methods: {
    double: {
      default: true,
      doc: 'y = 2x, float32 [4].',
      inputs: { x: types.tensor('float32', [4]) },
      outputs: { y: types.tensor('float32', [4]) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('float32', (t.data as Float32Array).map((v) => v * 2), t.shape);
      },
    },
    add: {
      doc: 'Element-wise a + b, float64 [2,3]: two inputs, for positional and named arguments.',
      inputs: { a: types.tensor('float64', [2, 3]), b: types.tensor('float64', [2, 3]) },
      outputs: { sum: types.tensor('float64', [2, 3]) },
      run: ({ a, b }) => {
        const ta = a as Tensor;
        const tb = (b as Tensor).data as Float64Array;
        return new Tensor('float64', (ta.data as Float64Array).map((v, i) => v + tb[i]!), ta.shape);
      },
    },
    increment: {
      doc: 'x + 1 for an int32 tensor of shape [] (one number per example).',
      inputs: { x: types.tensor('int32', []) },
      outputs: { y: types.tensor('int32', []) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('int32', (t.data as Int32Array).map((v) => v + 1), t.shape);
      },
    },
    sum: {
      doc: 'The sum of an int64 [4] tensor, as an int64 scalar.',
      inputs: { x: types.tensor('int64', [4]) },
      outputs: { total: types.scalar('int64') },
      run: ({ x }) => {
        const t = x as Tensor;
        const data = t.data as BigInt64Array;
        const out = new BigInt64Array(t.shape[0]!);
        for (let r = 0; r < out.length; r++) for (let j = 0; j < 4; j++) out[r]! += data[r * 4 + j]!;
        return out;
      },
    },
    negate: {
      doc: 'Logical not of a bool [4] tensor.',
      inputs: { x: types.tensor('bool', [4]) },
      outputs: { y: types.tensor('bool', [4]) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('bool', (t.data as Uint8Array).map((v) => (v ? 0 : 1)), t.shape);
      },
    },
    invert: {
      doc: '255 - x for a uint8 [2,3] tensor (an image-like payload).',
      inputs: { x: types.tensor('uint8', [2, 3]) },
      outputs: { y: types.tensor('uint8', [2, 3]) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('uint8', (t.data as Uint8Array).map((v) => 255 - v), t.shape);
      },
    },
    flip: {
      doc: '-x for a float16 [4] tensor: flips the sign bit, so it is exact.',
      inputs: { x: types.tensor('float16', [4]) },
      outputs: { y: types.tensor('float16', [4]) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('float16', (t.data as Uint16Array).map((v) => v ^ 0x8000), t.shape);
      },
    },
    widen: {
      doc: 'x + 0.5 for float64 [4]: float32 input is a safe widening.',
      inputs: { x: types.tensor('float64', [4]) },
      outputs: { y: types.tensor('float64', [4]) },
      run: ({ x }) => {
        const t = x as Tensor;
        return new Tensor('float64', (t.data as Float64Array).map((v) => v + 0.5), t.shape);
      },
    },
    ragged: {
      doc: 'A free dimension: float32 [-1] rows of any length; their sums and the rows doubled.',
      inputs: { x: types.tensor('float32', [-1]) },
      outputs: { total: types.scalar('float64'), doubled: types.tensor('float32', [-1]) },
      run: ({ x }) => {
        // Rows of one length arrive stacked as one tensor, rows of different lengths as a list.
        const rows = x instanceof Tensor ? Array.from({ length: x.shape[0]! }, (_, i) => x.row(i)) : (x as Tensor[]);
        const total = Float64Array.from(rows, (r) => (r.data as Float32Array).reduce((a, b) => a + b, 0));
        const doubled = rows.map((r) => new Tensor('float32', (r.data as Float32Array).map((v) => v * 2), r.shape));
        return { total, doubled };
      },
    },
  },
});

/** Scalars, strings, bytes and JSON objects. `square` is the default method. */
export const valuesRunner = defineRunner({
  name: 'values',
  methods: {
    square: {
      default: true,
      inputs: { x: types.scalar('float64') },
      outputs: { y: types.scalar('float64') },
      run: ({ x }) => (x as Float64Array).map((v) => v * v),
    },
    upper: {
      inputs: { text: types.string() },
      outputs: { text: types.string() },
      run: ({ text }) => (text as string[]).map((s) => s.toUpperCase()),
    },
    reverse: {
      doc: 'Several outputs: the bytes reversed and their length.',
      inputs: { data: types.bytes() },
      outputs: { reversed: types.bytes(), length: types.scalar('int32') },
      run: ({ data }) => {
        const rows = data as Uint8Array[];
        return { reversed: rows.map((b) => Uint8Array.from(b).reverse()), length: Int32Array.from(rows, (b) => b.length) };
      },
    },
    annotate: {
      doc: 'A JSON object per example in and out.',
      inputs: { doc: types.json() },
      outputs: { doc: types.json() },
      run: ({ doc }) => (doc as Record<string, unknown>[]).map((d) => ({ ...d, keys: Object.keys(d).sort() })),
    },
  },
});

/** A table input, as a danfo DataFrame (`summarize`) and as an Arrow RecordBatch (`arrow_sum`). */
export const tablesRunner = defineRunner({
  name: 'tables',
  methods: {
    summarize: {
      default: true,
      doc: 'Needs columns a (float64) and b (int64); any other columns come along in the DataFrame.',
      inputs: { rows: types.table({ a: new Float64(), b: new Int64() }) },
      outputs: { total: types.scalar('float64'), width: types.scalar('int32'), label: types.string() },
      run: ({ rows }) => {
        const df = rows as DataFrame;
        const a = df.column('a').values as number[];
        const b = df.column('b').values as number[];
        return {
          total: Float64Array.from(a, (v, i) => v + b[i]!),
          width: new Int32Array(a.length).fill(df.columns.length),
          label: a.map((v) => `a=${v}`),
        };
      },
    },
    arrow_sum: {
      tables: 'arrow',
      doc: 'Any columns, as an Arrow RecordBatch: the sum of the float64 columns of each row.',
      inputs: { rows: types.table() },
      outputs: { total: types.scalar('float64'), columns: types.scalar('int32') },
      run: ({ rows }) => {
        if (!(rows instanceof RecordBatch)) throw new TypeError('expected an Arrow RecordBatch');
        const total = new Float64Array(rows.numRows);
        for (const field of rows.schema.fields) {
          if (field.type.typeId !== Type.Float) continue;
          const column = rows.getChild(field.name)!;
          for (let i = 0; i < rows.numRows; i++) total[i]! += Number(column.get(i));
        }
        return { total, columns: new Int32Array(rows.numRows).fill(rows.numCols) };
      },
    },
  },
});

/** Params, a non-batchable method, failures, and an echo. `threshold` is the default. */
export const miscRunner = defineRunner({
  name: 'misc',
  methods: {
    threshold: {
      default: true,
      doc: 'x > params.threshold (default 0).',
      inputs: { x: types.scalar('float64') },
      outputs: { above: types.scalar('bool') },
      run: ({ x }, params) => {
        const limit = Number(params['threshold'] ?? 0);
        return Uint8Array.from(x as Float64Array, (v) => (v > limit ? 1 : 0));
      },
    },
    concat: {
      batchable: false,
      doc: 'Not batchable: the whole batch is one call, joined with params.separator.',
      inputs: { text: types.string() },
      outputs: { joined: types.string() },
      run: ({ text }, params) => [(text as string[]).join(String(params['separator'] ?? ' '))],
    },
    explode: {
      inputs: { x: types.scalar('float64') },
      outputs: { y: types.scalar('float64') },
      run: () => {
        throw new Error('model exploded: bad weights');
      },
    },
    short: {
      doc: 'Returns one row fewer than it was given.',
      inputs: { x: types.scalar('float64') },
      outputs: { y: types.scalar('float64') },
      run: ({ x }) => (x as Float64Array).subarray(1),
    },
    echo: {
      inputs: { i: types.scalar('int64') },
      outputs: { i: types.scalar('int64') },
      run: ({ i }) => i,
    },
    slow: {
      doc: 'Echoes x after the call param `ms` milliseconds (default 0): a runner still running when a deadline passes or a call is cancelled.',
      inputs: { x: types.scalar('float64') },
      outputs: { x: types.scalar('float64') },
      run: async ({ x }, params) => {
        await new Promise((resolve) => setTimeout(resolve, Number(params['ms'] ?? 0)));
        return x;
      },
    },
  },
});

/** y = a + 2b + 3c + 4d over four float64 columns: the batch-scoring workload. */
export const bulkRunner = defineRunner({
  name: 'bulk',
  methods: {
    score: {
      default: true,
      inputs: { a: types.scalar('float64'), b: types.scalar('float64'), c: types.scalar('float64'), d: types.scalar('float64') },
      outputs: { y: types.scalar('float64') },
      run: ({ a, b, c, d }) => {
        const [va, vb, vc, vd] = [a, b, c, d] as Float64Array[];
        const y = new Float64Array(va!.length);
        for (let i = 0; i < y.length; i++) y[i] = bulkScore(va![i]!, vb![i]!, vc![i]!, vd![i]!);
        return y;
      },
    },
  },
});

/** The bulk runner's formula, for tests to compute expected outputs the same way. */
export function bulkScore(a: number, b: number, c: number, d: number): number {
  return a + 2 * b + 3 * c + 4 * d;
}

/** Every test runner definition, in the order servers and local clients list them. */
export const testRunnerDefinitions: JsRunnerDefinition<never>[] = [
  tensorsRunner, valuesRunner, tablesRunner, miscRunner, bulkRunner,
] as JsRunnerDefinition<never>[];

/** Fresh runners of every test definition (each caller gets its own instances). */
export function loadTestRunners(): Promise<Runner[]> {
  return Promise.all(testRunnerDefinitions.map((d) => loadJsRunner(d)));
}
