/**
 * A JS runner that takes a DataFrame: scores loan applicants row by row. Its input is a
 * table (any client sends a record batch with these columns, e.g. a pandas DataFrame);
 * each row is one example and comes back as one score.
 */
import { Float64, Int64 } from 'apache-arrow';
import type { DataFrame } from 'danfojs';
import { defineRunner, types } from 'flight-runner';

export default defineRunner({
  name: 'loan_scorer',
  methods: {
    score: {
      default: true,
      doc: 'Probability of repayment from income, debt and age (a logistic score).',
      inputs: { applicants: types.table({ income: new Float64(), debt: new Float64(), age: new Int64() }) },
      outputs: { score: types.scalar('float64'), approved: types.scalar('bool') },
      run: ({ applicants }) => {
        const df = applicants as DataFrame;
        const income = df.column('income').values as number[];
        const debt = df.column('debt').values as number[];
        const age = df.column('age').values as number[];
        const score = new Float64Array(income.length);
        const approved = new Uint8Array(income.length);
        for (let i = 0; i < income.length; i++) {
          const z = 1.5 * Math.log1p(income[i]! / 10_000) - 2.5 * (debt[i]! / Math.max(income[i]!, 1)) + 0.01 * (age[i]! - 40) - 2;
          score[i] = 1 / (1 + Math.exp(-z));
          approved[i] = score[i]! >= 0.5 ? 1 : 0;
        }
        return { score, approved };
      },
    },
  },
});
