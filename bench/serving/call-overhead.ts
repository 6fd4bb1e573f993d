/**
 * `npx tsx bench/serving/call-overhead.ts`: where the server's cost of a one-row
 * DoExchange goes, layer by layer. Three servers answer the same load (the Go loadgen,
 * one 1-row request per fresh DoExchange, mlp_small's input) in the same run:
 *   (r) call-overhead/raw-http2-server.ts: node:http2 reading each request unparsed and
 *       answering a pre-encoded batch: the floor of any gRPC server on node:http2;
 *   (f) call-overhead/flight-server.ts: our FlightServer reading the stream as a runner
 *       does and answering a canned batch: (f) - (r) is what src/flight adds;
 *   (b) flight-runner serving mlp_small with batching on, as bench:serving's (b):
 *       (b) - (f) is what runners, scheduling and the model add;
 *   (w) flight-runner serving a JS runner that echoes its input
 *       (call-overhead/echo-runner.mjs) in worker threads (`isolation: worker`, the JS
 *       default), batching on: (w) - (f) is what runners, scheduling and the crossing to
 *       a worker and back add. `--baseline DIR` also starts (w0), the same server from
 *       another checkout (e.g. `git archive BASE | tar -x -C DIR` and a node_modules
 *       symlink; it is built here), measured in the same repetitions, for a same-run
 *       before/after.
 * Every server runs compiled JavaScript, as the package ships it: the project's dist/
 * (built first) and the (r)/(f) servers compiled by call-overhead/tsconfig.json. Under
 * tsx, esbuild's keepNames wraps every function made per call in `__name(...)`, which
 * cost (f) ~25 us per call more than the compiled build (same-window, 2026-11-30).
 * Reported per server: requests/s and its CPU time per request (all threads, /proc),
 * medians over repetitions that rotate which server goes first.
 *
 * Flags: --reps N (5), --duration S (3), --warmup S (1), --concurrency 1,64 (64),
 * --only r,f,b,w (which servers; default r,f,b), --baseline DIR (adds w0).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildLoadgen, here, measure, median, root, run, runnerConfig, startServer, stopServer,
  type Measurement, type Server,
} from './harness.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '64' },
    only: { type: 'string', default: 'r,f,b' },
    baseline: { type: 'string' },
  },
});
const reps = Number(values.reps);
const concurrencies = values.concurrency.split(',').map(Number);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-call-overhead-'));
  const servers: Server[] = [];
  try {
    const loadgen = await buildLoadgen(work);
    await compile(values.baseline ? resolve(values.baseline) : undefined);
    const model = join(root, 'examples/models/mlp_small.onnx');
    writeFileSync(join(work, 'on.yaml'), runnerConfig(model, 2, 'in-process', { enabled: true, maxBatchRows: 64, maxQueueDelayMs: 2 }));
    writeFileSync(join(work, 'echo.yaml'), echoConfig());
    const compiled = (script: string) => [join(compiledServers, 'bench/serving/call-overhead', script)];
    const only = new Set(values.only.split(','));
    if (only.has('r')) servers.push(await startServer('r', '(r) raw node:http2, canned answer', process.execPath, compiled('raw-http2-server.js')));
    if (only.has('f')) servers.push(await startServer('f', '(f) FlightServer, canned answer', process.execPath, compiled('flight-server.js')));
    if (only.has('b')) servers.push(await startServer('b', '(b) flight-runner, mlp_small', process.execPath,
      [join(root, 'bin/flight-runner.js'), 'serve', join(work, 'on.yaml'), '--port', '0', '--log-level', 'warn']));
    const built = (checkout: string) => [join(checkout, 'bin/flight-runner.js'), 'serve', join(work, 'echo.yaml'),
      '--port', '0', '--log-level', 'warn'];
    if (only.has('w') && values.baseline) {
      servers.push(await startServer('w0', '(w0) baseline, JS echo in a worker', process.execPath, built(resolve(values.baseline))));
    }
    if (only.has('w')) servers.push(await startServer('w', '(w) flight-runner, JS echo in a worker', process.execPath, built(root)));

    const results = new Map<string, Measurement[]>(); // key `${server}:${concurrency}`
    for (let rep = 0; rep < reps; rep++) {
      for (const c of concurrencies) {
        for (const server of servers.map((_, i) => servers[(i + rep) % servers.length]!)) {
          const path = server.key.startsWith('w') ? 'echo' : 'mlp_small';
          const m = await measure(loadgen, server, { path, width: 32, concurrency: c, warmup: Number(values.warmup), duration: Number(values.duration) });
          process.stderr.write(`rep ${rep + 1}/${reps} c=${c} ${server.label}: ${m.rps.toFixed(0)} req/s, ${m.cpu_us_per_request.toFixed(0)} cpu us/req\n`);
          results.set(`${server.key}:${c}`, [...(results.get(`${server.key}:${c}`) ?? []), m]);
        }
      }
    }
    report(servers, results);
  } finally {
    for (const server of servers) await stopServer(server);
    rmSync(work, { recursive: true, force: true });
  }
}

/** Where call-overhead/tsconfig.json puts the compiled (r) and (f) servers. */
const compiledServers = join(root, 'node_modules/.cache/flight-runner-bench/call-overhead');

/** Builds dist/ here (and in the baseline checkout) and compiles the (r) and (f) servers. */
async function compile(baseline?: string): Promise<void> {
  const tsc = join(root, 'node_modules/.bin/tsc');
  for (const checkout of baseline ? [root, baseline] : [root]) await run(tsc, ['-p', join(checkout, 'tsconfig.build.json')], checkout);
  await run(tsc, ['-p', join(here, 'call-overhead/tsconfig.json')]);
}

/** The (w) servers' config: the echo runner, 2 worker-thread instances, batching as (b). */
function echoConfig(): string {
  return [
    'server: { host: 127.0.0.1 }',
    'runners:',
    `  - path: ${JSON.stringify(join(here, 'call-overhead', 'echo-runner.mjs'))}`,
    '    scheduling:',
    '      instances: { count: 2 }',
    '      isolation: worker',
    `      batching: ${JSON.stringify({ enabled: true, maxBatchRows: 64, maxQueueDelayMs: 2 })}`,
    '',
  ].join('\n');
}

function report(servers: Server[], results: Map<string, Measurement[]>): void {
  const pad = (s: string, n: number) => s.padStart(n);
  const lines = [
    `one-row DoExchange per request (mlp_small's input), medians of ${reps} repetitions of ${values.duration} s`,
    '',
    `${'server'.padEnd(40)}${pad('conc', 5)}${pad('req/s', 9)}${pad('cpu us/req', 12)}${pad('added', 9)}`,
  ];
  for (const c of concurrencies) {
    const cpuOf = new Map<string, number>();
    for (const key of ['r', 'f', 'b', 'w0', 'w']) {
      const ms = results.get(`${key}:${c}`);
      if (!ms) continue;
      const cpu = median(ms.map((m) => m.cpu_us_per_request));
      cpuOf.set(key, cpu);
      // The runner servers are each measured against the Flight layer alone.
      const base = key === 'f' ? cpuOf.get('r') : key === 'r' ? undefined : cpuOf.get('f');
      const label = servers.find((s) => s.key === key)!.label;
      lines.push(`${label.padEnd(40)}${pad(String(c), 5)}${pad(median(ms.map((m) => m.rps)).toFixed(0), 9)}`
        + `${pad(cpu.toFixed(0), 12)}${pad(base === undefined ? '' : `+${(cpu - base).toFixed(0)}`, 9)}`);
    }
    const w = results.get(`w:${c}`);
    const w0 = results.get(`w0:${c}`);
    if (w && w0) {
      // Per repetition (the two ran seconds apart), then the median.
      const ratios = w.map((m, i) => m.cpu_us_per_request / w0[i]!.cpu_us_per_request);
      lines.push(`${'(w) / (w0) cpu us/req, median of per-repetition ratios'.padEnd(60)}${median(ratios).toFixed(2)}`);
    }
  }
  lines.push('', "'added': cpu us/req over (r) for (f), over (f) for the runner servers (same concurrency).");
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
