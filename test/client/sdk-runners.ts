/**
 * Runners for the SDK value tests (test/client/sdk-contract.ts): outputs of the types
 * whose JS storage is not what a TypeScript user expects (int64, float16, bool), and a
 * table method for stream() inputs and pass-through columns.
 */
import { Float64, Int64 } from 'apache-arrow';
import type { DataFrame } from 'danfojs';
import { defineRunner, Tensor, types } from '../../src/index.js';
import { floatToHalf } from '../../src/codecs/dtypes.js';

/** The label `classify` gives: round(f0); f0 = -1 stands for a label past 2^53. */
export const HUGE_LABEL = 2n ** 60n + 1n;

/** What `score` computes, for tests to compute expected values independently of the SDK. */
export function expectedScore(income: number, debt: number, age: number): number {
  return income - 2 * debt + age;
}

export const sdkRunner = defineRunner({
  name: 'sdk',
  methods: {
    classify: {
      default: true,
      doc: 'An int64 label per example, and the same label as an int64 tensor [2] (label, -label).',
      inputs: { features: types.tensor('float32', [2]) },
      outputs: { label: types.scalar('int64'), pair: types.tensor('int64', [2]) },
      run: ({ features }) => {
        const f = features as Tensor;
        const rows = f.shape[0]!;
        const label = new BigInt64Array(rows);
        const pair = new BigInt64Array(rows * 2);
        for (let i = 0; i < rows; i++) {
          const f0 = (f.data as Float32Array)[i * 2]!;
          label[i] = f0 === -1 ? HUGE_LABEL : BigInt(Math.round(f0));
          pair[i * 2] = label[i]!;
          pair[i * 2 + 1] = -label[i]!;
        }
        return { label, pair: new Tensor('int64', pair, [rows, 2]) };
      },
    },
    half: {
      doc: 'x as a float16 scalar, and [x, -x] as a float16 tensor [2].',
      inputs: { x: types.scalar('float32') },
      outputs: { h: types.scalar('float16'), pair: types.tensor('float16', [2]) },
      run: ({ x }) => {
        const xs = x as Float32Array;
        // As a Tensor: a bare Uint16Array would be read as uint16 numbers, not half bits.
        const h = new Tensor('float16', Uint16Array.from(xs, (v) => floatToHalf(v)), [xs.length]);
        const pair = new Uint16Array(xs.length * 2);
        xs.forEach((v, i) => {
          pair[i * 2] = floatToHalf(v);
          pair[i * 2 + 1] = floatToHalf(-v);
        });
        return { h, pair: new Tensor('float16', pair, [xs.length, 2]) };
      },
    },
    flags: {
      doc: 'x > 0 as a bool scalar, and [x > 0, x < 0] as a bool tensor [2].',
      inputs: { x: types.scalar('float64') },
      outputs: { positive: types.scalar('bool'), signs: types.tensor('bool', [2]) },
      run: ({ x }) => {
        const xs = x as Float64Array;
        const signs = new Uint8Array(xs.length * 2);
        xs.forEach((v, i) => {
          signs[i * 2] = v > 0 ? 1 : 0;
          signs[i * 2 + 1] = v < 0 ? 1 : 0;
        });
        return { positive: Uint8Array.from(xs, (v) => (v > 0 ? 1 : 0)), signs: new Tensor('bool', signs, [xs.length, 2]) };
      },
    },
    score: {
      doc: 'A table of applicants: income - 2 debt + age per row, and how many columns it saw.',
      inputs: { applicants: types.table({ income: new Float64(), debt: new Float64(), age: new Int64() }) },
      outputs: { score: types.scalar('float64'), width: types.scalar('int32') },
      run: ({ applicants }) => {
        const df = applicants as DataFrame;
        const income = df.column('income').values as number[];
        const debt = df.column('debt').values as number[];
        const age = df.column('age').values as number[];
        return {
          score: Float64Array.from(income, (v, i) => expectedScore(v, debt[i]!, age[i]!)),
          width: new Int32Array(income.length).fill(df.columns.length),
        };
      },
    },
    count: {
      batchable: false,
      doc: 'Not batchable: the number of rows of each batch, as one row.',
      inputs: { x: types.scalar('float64') },
      outputs: { n: types.scalar('int32') },
      run: ({ x }) => Int32Array.from([(x as Float64Array).length]),
    },
  },
});
