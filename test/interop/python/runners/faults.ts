/**
 * Runners that misbehave on purpose, for the pyarrow protocol suite: a model error
 * (INTERNAL, and the server keeps serving) and a slow call (a client deadline passes).
 * Served next to examples/serve.yaml by serve-test.yaml.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { defineRunner, types } from '../../../../src/index.js';

/** Upper bound of one `slow` call, so a drained server never waits long. */
const MAX_SLEEP_MS = 10_000;

export const faulty = defineRunner({
  name: 'test_faulty',
  methods: {
    check: {
      default: true,
      doc: 'Echoes each text upper-cased; throws when a text contains "boom".',
      inputs: { text: types.string() },
      outputs: { upper: types.string() },
      run: ({ text }) => (text as string[]).map((t) => {
        if (t.includes('boom')) throw new Error(`the model refused '${t}'`);
        return t.toUpperCase();
      }),
    },
  },
});

export const slow = defineRunner({
  name: 'test_slow',
  methods: {
    echo: {
      default: true,
      doc: 'Echoes each text after sleeping params.ms (default 5000, at most 10000) milliseconds.',
      inputs: { text: types.string() },
      outputs: { text: types.string() },
      run: async ({ text }, params) => {
        await sleep(Math.min(Number(params['ms'] ?? 5000), MAX_SLEEP_MS));
        return text as string[];
      },
    },
  },
});
