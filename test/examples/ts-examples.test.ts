/**
 * The TypeScript examples, run as a user would against the bundled default server,
 * with their printed results checked against the runners called in process.
 */
import test from 'ava';
import { join } from 'node:path';
import { loadJsRunner, local, type Tensor } from '../../src/index.js';
import { importRunnerDefinitions } from '../../src/backends/js/index.js';
import { loadOnnxRunner } from '../../src/backends/onnx/index.js';
import { ROOT, run, startServerProcess, type ServerProcess } from '../helpers/serve-process.js';
import { waitForRunners } from './ready.js';

let server: ServerProcess;
/** The examples import 'flight-runner': run them on the sources (the export condition), not on a build. */
const runExample = (file: string, args: string[]) =>
  run(process.execPath, ['--conditions=flight-runner-source', '--import', import.meta.resolve('tsx'), file, ...args]);

test.before(async () => {
  server = await startServerProcess(['serve', 'examples/serve.yaml', '--port', '0']);
  await waitForRunners(server.uri);
});

test.after.always(async () => {
  if (server) {
    const code = await server.stop();
    if (code !== 0) throw new Error(`server exited ${code}`);
  }
});

test('examples/ts/client.ts prints what the runners compute in process', async (t) => {
  const { code, stdout, stderr } = await runExample('examples/ts/client.ts', [server.uri]);
  t.is(code, 0, stderr);
  const iris = await local(await loadOnnxRunner(join(ROOT, 'examples/models/iris.onnx'), {
    methods: { predict: { outputs: ['label'], default: true }, predict_proba: { outputs: ['probabilities'] } },
  }));
  const flowers = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [7.2, 3.2, 6.0, 2.2]];
  const labels = Array.from((await iris.run(flowers)) as Tensor, Number);
  t.true(stdout.includes(`labels -> [ ${labels.join(', ')} ]`), stdout);
  // An int64 label comes back as a number (JSON-friendly), not a bigint.
  t.true(stdout.split('\n').includes(`one flower -> ${String(await iris.run(flowers[0]))}`), stdout);
  t.regex(stdout, /embedding \[ 2, 2 \] feature_map \[ 2, 4, 8, 8 \]/);
  t.regex(stdout, /text stats -> \{ chars: 19, words: 5, top: 'the' \}/);
});

test('examples/ts/batch-scoring.ts scores every row, as the runner does in process', async (t) => {
  const rows = 300_000;
  const { code, stdout, stderr } = await runExample('examples/ts/batch-scoring.ts', [server.uri, String(rows)]);
  t.is(code, 0, stderr);
  const printed = JSON.parse(stdout.trim().split('\n').at(-1)!) as { rows: number; approved: number; meanScore: number };
  t.is(printed.rows, rows);
  t.regex(stderr, /300,000 \/ 300,000 rows/);

  // The same rows through the runner in this process.
  const [definition] = await importRunnerDefinitions(join(ROOT, 'examples/runners/loan-scorer.ts'));
  const scorer = await local(await loadJsRunner(definition!));
  let approved = 0;
  let sum = 0;
  const n = rows;
  const income = new Float64Array(n);
  const debt = new Float64Array(n);
  const age: number[] = [];
  for (let r = 0; r < n; r++) {
    income[r] = 15_000 + ((r * 7919) % 90_000);
    debt[r] = (r * 104_729) % 30_000;
    age.push(18 + (r % 60));
  }
  const dfd = await import('danfojs');
  const out = (await scorer.run(new dfd.DataFrame({ income: Array.from(income), debt: Array.from(debt), age }))) as { score: Float64Array; approved: boolean[] };
  for (let i = 0; i < n; i++) { sum += out.score[i]!; if (out.approved[i]) approved++; }
  t.is(printed.approved, approved);
  t.is(printed.meanScore, Number((sum / n).toFixed(6)));
});
