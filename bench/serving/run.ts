/**
 * `npm run bench:serving`: requests/s and p50/p99 latency of one-row calls to ONNX MLPs at
 * several concurrencies, for three servers measured in the same run and driven by the
 * same load generator (loadgen/, Go):
 *   (a) flight-runner, batching off;  (b) flight-runner, batching on;
 *   (c) python_baseline_server.py (pyarrow Flight + onnxruntime, by hand).
 * Two models: mlp_small (examples/models, 6.7 k parameters: transport dominates a
 * request) and mlp_wide (made by make_bench_model.py, 5.2 M parameters: the model's own
 * time matters). Per model, all three servers stay up for the whole run; each repetition
 * measures every (concurrency, server) pair once, rotating which server goes first, so
 * slow phases of this shared machine hit all three alike. Medians over repetitions are
 * printed, and ratios are taken per repetition (peers measured seconds apart) before
 * their median.
 *
 * Flags: --models mlp_small,mlp_wide, --reps N (5), --duration S (3), --warmup S (1),
 * --concurrency 1,8,64, --instances N (2), --isolation in-process|worker|process
 * (in-process), --max-batch-rows N (64), --max-queue-delay-ms N (2),
 * --python-threads N (1), --only a,b,c, --json FILE,
 * --server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof" (profile our servers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildLoadgen, here, measure, median, root, run, runnerConfig, startServer, stopServer,
  type Measurement, type Server,
} from './harness.js';

/** The benchmark's models: where each comes from and its per-example input width. */
const MODELS: Record<string, { width: number; describe: string }> = {
  mlp_small: { width: 32, describe: 'MLP 32-64-64-8, 6.7 k parameters' },
  mlp_wide: { width: 512, describe: 'MLP 512-2048-2048-16, 5.2 M parameters' },
};

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mlp_small,mlp_wide' },
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,8,64' },
    instances: { type: 'string', default: '2' },
    isolation: { type: 'string', default: 'in-process' },
    'max-batch-rows': { type: 'string', default: '64' },
    'max-queue-delay-ms': { type: 'string', default: '2' },
    'python-threads': { type: 'string', default: '1' },
    only: { type: 'string', default: 'a,b,c' },
    json: { type: 'string' },
    'server-node-args': { type: 'string', default: '' },
  },
});
const reps = Number(values.reps);
const concurrencies = values.concurrency.split(',').map(Number);
const instances = Number(values.instances);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-serving-'));
  try {
    const loadgen = await buildLoadgen(work);
    const python = join(root, '.venv/bin/python');
    for (const name of values.models.split(',')) {
      if (!MODELS[name]) throw new Error(`unknown model '${name}'; models: ${Object.keys(MODELS).join(', ')}`);
      const path = name === 'mlp_small'
        ? join(root, 'examples/models/mlp_small.onnx')
        : (await run(python, [join(here, 'make_bench_model.py'), work])).trim();
      await benchModel(name, path, work, loadgen, python);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Every (repetition, concurrency, server) measurement of one model, then its report. */
async function benchModel(name: string, model: string, work: string, loadgen: string, python: string): Promise<void> {
  const servers: Server[] = [];
  try {
    const batching = { enabled: true, maxBatchRows: Number(values['max-batch-rows']), maxQueueDelayMs: Number(values['max-queue-delay-ms']) };
    writeFileSync(join(work, 'off.yaml'), runnerConfig(model, instances, values.isolation, { enabled: false }));
    writeFileSync(join(work, 'on.yaml'), runnerConfig(model, instances, values.isolation, batching));
    const nodeArgs = values['server-node-args'].split(' ').filter(Boolean);
    const serve = (file: string) => [...nodeArgs, join(root, 'bin/flight-runner.js'), 'serve', join(work, file), '--port', '0', '--log-level', 'warn'];
    const only = new Set(values.only.split(','));
    // Started one after another: three cold starts at once on two cores take long.
    if (only.has('a')) servers.push(await startServer('a', '(a) flight-runner, batching off', process.execPath, serve('off.yaml')));
    if (only.has('b')) servers.push(await startServer('b', '(b) flight-runner, batching on', process.execPath, serve('on.yaml')));
    if (only.has('c')) {
      servers.push(await startServer('c', '(c) python baseline', python, [
        join(here, 'python_baseline_server.py'), model, '--name', name, '--port', '0', '--threads', values['python-threads'],
      ]));
    }

    const results = new Map<string, Measurement[]>(); // key `${server}:${concurrency}`
    for (let rep = 0; rep < reps; rep++) {
      for (const c of concurrencies) {
        const order = servers.map((_, i) => servers[(i + rep) % servers.length]!);
        for (const server of order) {
          const m = await measure(loadgen, server, {
            path: name, width: MODELS[name]!.width, concurrency: c, warmup: Number(values.warmup), duration: Number(values.duration),
          });
          process.stderr.write(`${name} rep ${rep + 1}/${reps} c=${c} ${server.label}: ${m.rps.toFixed(0)} req/s, p50 ${(m.p50_us / 1000).toFixed(2)} ms, p99 ${(m.p99_us / 1000).toFixed(2)} ms\n`);
          const key = `${server.key}:${c}`;
          results.set(key, [...(results.get(key) ?? []), m]);
        }
      }
    }
    report(name, servers, results, batching);
    if (values.json) writeFileSync(values.json.replace(/(\.json)?$/, `.${name}.json`), `${JSON.stringify(Object.fromEntries(results), null, 1)}\n`);
  } finally {
    for (const server of servers) await stopServer(server);
  }
}

function report(name: string, servers: Server[], results: Map<string, Measurement[]>, batching: object): void {
  const get = (key: string, c: number) => results.get(`${key}:${c}`) ?? [];
  const pad = (s: string, n: number) => s.padStart(n);
  const lines: string[] = [];
  lines.push(`${name}.onnx (${MODELS[name]!.describe}), one row per request, fresh DoExchange per request;`);
  lines.push(`${instances} ${values.isolation} instances x 1 intra-op thread;`);
  lines.push(`batching on: ${JSON.stringify(batching)}; medians of ${reps} repetitions of ${values.duration} s (after ${values.warmup} s warm-up)`);
  lines.push('');
  lines.push(`${'server'.padEnd(34)}${pad('conc', 5)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}${pad('cpu us/req', 12)}`);
  for (const server of servers) {
    for (const c of concurrencies) {
      const ms = get(server.key, c);
      lines.push(`${server.label.padEnd(34)}${pad(String(c), 5)}${pad(median(ms.map((m) => m.rps)).toFixed(0), 9)}`
        + `${pad((median(ms.map((m) => m.p50_us)) / 1000).toFixed(2), 9)}${pad((median(ms.map((m) => m.p99_us)) / 1000).toFixed(2), 9)}`
        + `${pad(median(ms.map((m) => m.cpu_us_per_request)).toFixed(0), 12)}`);
    }
  }
  // Ratios per repetition (the peers ran seconds apart), then their median.
  const ratio = (a: Measurement[], b: Measurement[], f: (m: Measurement) => number) =>
    median(a.map((m, i) => f(m) / f(b[i]!)));
  const has = (k: string) => servers.some((s) => s.key === k);
  lines.push('');
  lines.push(`${'ratio (median of per-repetition ratios)'.padEnd(58)}${pad('value', 7)}  target`);
  if (has('a') && has('b')) {
    for (const c of concurrencies) {
      lines.push(`${`batching on / off, req/s, conc ${c}`.padEnd(58)}${pad(ratio(get('b', c), get('a', c), (m) => m.rps).toFixed(2), 7)}  ${c === 64 ? '>= 4' : ''}`);
      lines.push(`${`batching on / off, p99, conc ${c}`.padEnd(58)}${pad(ratio(get('b', c), get('a', c), (m) => m.p99_us).toFixed(2), 7)}  ${c === 64 ? '<= 2' : ''}`);
    }
  }
  if (has('c')) {
    for (const c of concurrencies) {
      // "Best" flight-runner: per repetition, whichever of (a) and (b) served more req/s.
      const ours = ['a', 'b'].filter(has).map((k) => get(k, c));
      if (!ours.length) continue;
      const best = get('c', c).map((_, i) => ours.reduce((x, y) => (y[i]!.rps > x[i]!.rps ? y : x))[i]!);
      lines.push(`${`flight-runner (best) / python, req/s, conc ${c}`.padEnd(58)}${pad(ratio(best, get('c', c), (m) => m.rps).toFixed(2), 7)}  > 1`);
      lines.push(`${`flight-runner (best) / python, p99, conc ${c}`.padEnd(58)}${pad(ratio(best, get('c', c), (m) => m.p99_us).toFixed(2), 7)}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
