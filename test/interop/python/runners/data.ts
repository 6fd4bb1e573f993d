/**
 * Runners for the pyarrow suite's data rules (docs/protocol.md, "Nulls" and tensors):
 * nullable inputs reach the runner as nulls (JS arrays) and NaN (DataFrames), and a
 * tensor with a free dimension arrives from a hand-built `arrow.variable_shape_tensor`.
 * Served next to examples/serve.yaml by serve-test.yaml.
 */
import { Float64, Utf8 } from 'apache-arrow';
import type { DataFrame } from 'danfojs';
import { Tensor, defineRunner, types } from '../../../../src/index.js';

export const nullable = defineRunner({
  name: 'test_nullable',
  methods: {
    describe: {
      default: true,
      doc: 'Says, per row, what the runner received: "null" for a null, else the value as text.',
      inputs: { x: types.scalar('float64', { nullable: true }), label: types.string({ nullable: true }) },
      outputs: { seen: types.string() },
      run: ({ x, label }) => (x as (number | null)[]).map((v, i) => `${v === null ? 'null' : v}/${(label as (string | null)[])[i] ?? 'null'}`),
    },
    table: {
      doc: 'A table whose column b may be null (NaN in the DataFrame); a may not.',
      inputs: { rows: types.table({ a: new Float64(), b: new Float64(), c: new Utf8() }, { nullable: ['b', 'c'] }) },
      outputs: { seen: types.string() },
      run: ({ rows }) => {
        const df = rows as DataFrame;
        const a = df.column('a').values as number[];
        const b = df.column('b').values as number[];
        const c = df.column('c').values as (string | null)[];
        return a.map((v, i) => `${v}/${Number.isNaN(b[i]) ? 'NaN' : b[i]}/${c[i] === null ? 'null' : c[i]}`);
      },
    },
  },
});

export const ragged = defineRunner({
  name: 'test_ragged',
  methods: {
    sum: {
      default: true,
      doc: 'Matrices of any shape [-1, -1] (a variable_shape_tensor): each row\'s sum and shape.',
      inputs: { m: types.tensor('float32', [-1, -1]) },
      outputs: { total: types.scalar('float64'), shape: types.string() },
      run: ({ m }) => {
        const rows = m instanceof Tensor ? Array.from({ length: m.shape[0]! }, (_, i) => m.row(i)) : (m as Tensor[]);
        return {
          total: Float64Array.from(rows, (r) => (r.data as Float32Array).reduce((a, b) => a + b, 0)),
          shape: rows.map((r) => r.shape.join('x')),
        };
      },
    },
  },
});
