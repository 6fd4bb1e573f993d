/**
 * The overload scenario's runner (scenario.ts), a module so that it can load in a worker
 * thread as well as in process: `work(x) -> y = 2x`, taking OVERLOAD_MODEL_MS per call (a
 * timer), and appending each run (call ids, wall-clock start, duration) as a JSON line to
 * OVERLOAD_RUNS_FILE, which the scenario reads once the run is over.
 */
import { appendFileSync } from 'node:fs';
import { defineRunner } from '../../src/backends/js/index.js';
import { types } from '../../src/codecs/payload.js';

export default defineRunner({
  name: 'slow',
  methods: {
    work: {
      inputs: { x: types.scalar('float64') },
      outputs: { y: types.scalar('float64') },
      default: true,
      run: async ({ x }) => {
        const xs = x as Float64Array;
        const startedAt = Date.now();
        const started = performance.now();
        await new Promise((r) => setTimeout(r, Number(process.env['OVERLOAD_MODEL_MS'])));
        const ms = performance.now() - started;
        appendFileSync(process.env['OVERLOAD_RUNS_FILE']!, `${JSON.stringify({ ids: Array.from(xs), startedAt, ms })}\n`);
        return xs.map((v) => v * 2);
      },
    },
  },
});
