/**
 * A runner for the V2 suite's batch-sharing test: `hold` answers each text with the
 * number of rows of the backend call it ran in, and a call holding a text
 * `wait:<file>` does not finish until that file exists, so the test can keep the one
 * instance busy while other calls queue, then let them run together. A call holding the
 * text `fail` fails (the statistics test counts failures).
 */
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { defineRunner, types } from '../../../../src/index.js';

/** Longest a call waits for its file, so a test that fails cannot hang the server. */
const MAX_WAIT_MS = 60_000;

export default defineRunner({
  name: 'v2_gate',
  methods: {
    hold: {
      default: true,
      doc: 'Each text back with the rows of the backend call; waits for the file of a "wait:<file>" text.',
      inputs: { text: types.string() },
      outputs: { text: types.string(), rows: types.scalar('int64') },
      run: async ({ text }) => {
        const texts = text as string[];
        for (const t of texts) {
          if (t === 'fail') throw new Error('asked to fail');
          if (!t.startsWith('wait:')) continue;
          const started = Date.now();
          while (!existsSync(t.slice(5))) {
            if (Date.now() - started > MAX_WAIT_MS) throw new Error(`${t.slice(5)} did not appear in ${MAX_WAIT_MS} ms`);
            await sleep(20);
          }
        }
        return { text: texts, rows: BigInt64Array.from(texts, () => BigInt(texts.length)) };
      },
    },
  },
});
