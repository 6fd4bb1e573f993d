/**
 * `npx tsx bench/serving/call-overhead.ts`: where the server's cost of a one-row
 * DoExchange goes, layer by layer. Three servers answer the same load (the Go loadgen,
 * one 1-row request per fresh DoExchange, mlp_small's input) in the same run:
 *   (r) call-overhead/raw-http2-server.ts: node:http2 reading each request unparsed and
 *       answering a pre-encoded batch: the floor of any gRPC server on node:http2;
 *   (f) call-overhead/flight-server.ts: our FlightServer reading the stream as a runner
 *       does and answering a canned batch: (f) - (r) is what src/flight adds;
 *   (b) flight-runner serving mlp_small with batching on, as bench:serving's (b):
 *       (b) - (f) is what runners, scheduling and the model add.
 * Reported per server: requests/s and its CPU time per request (all threads, /proc),
 * medians over repetitions that rotate which server goes first.
 *
 * Flags: --reps N (5), --duration S (3), --warmup S (1), --concurrency 1,64 (64),
 * --only r,f,b (which servers).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildLoadgen, here, measure, median, root, runnerConfig, startServer, stopServer,
  type Measurement, type Server,
} from './harness.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '64' },
    only: { type: 'string', default: 'r,f,b' },
  },
});
const reps = Number(values.reps);
const concurrencies = values.concurrency.split(',').map(Number);

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-call-overhead-'));
  const servers: Server[] = [];
  try {
    const loadgen = await buildLoadgen(work);
    const model = join(root, 'examples/models/mlp_small.onnx');
    writeFileSync(join(work, 'on.yaml'), runnerConfig(model, 2, 'in-process', { enabled: true, maxBatchRows: 64, maxQueueDelayMs: 2 }));
    const tsx = (script: string) => ['--import', 'tsx', join(here, 'call-overhead', script)];
    const only = new Set(values.only.split(','));
    if (only.has('r')) servers.push(await startServer('r', '(r) raw node:http2, canned answer', process.execPath, tsx('raw-http2-server.ts')));
    if (only.has('f')) servers.push(await startServer('f', '(f) FlightServer, canned answer', process.execPath, tsx('flight-server.ts')));
    if (only.has('b')) servers.push(await startServer('b', '(b) flight-runner, mlp_small', process.execPath,
      [join(root, 'bin/flight-runner.js'), 'serve', join(work, 'on.yaml'), '--port', '0', '--log-level', 'warn']));

    const results = new Map<string, Measurement[]>(); // key `${server}:${concurrency}`
    for (let rep = 0; rep < reps; rep++) {
      for (const c of concurrencies) {
        for (const server of servers.map((_, i) => servers[(i + rep) % servers.length]!)) {
          const m = await measure(loadgen, server, { path: 'mlp_small', width: 32, concurrency: c, warmup: Number(values.warmup), duration: Number(values.duration) });
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

function report(servers: Server[], results: Map<string, Measurement[]>): void {
  const pad = (s: string, n: number) => s.padStart(n);
  const lines = [
    `one-row DoExchange per request (mlp_small's input), medians of ${reps} repetitions of ${values.duration} s`,
    '',
    `${'server'.padEnd(40)}${pad('conc', 5)}${pad('req/s', 9)}${pad('cpu us/req', 12)}${pad('added', 9)}`,
  ];
  for (const c of concurrencies) {
    let below: number | undefined;
    for (const key of ['r', 'f', 'b']) {
      const ms = results.get(`${key}:${c}`);
      if (!ms) continue;
      const cpu = median(ms.map((m) => m.cpu_us_per_request));
      const label = servers.find((s) => s.key === key)!.label;
      lines.push(`${label.padEnd(40)}${pad(String(c), 5)}${pad(median(ms.map((m) => m.rps)).toFixed(0), 9)}`
        + `${pad(cpu.toFixed(0), 12)}${pad(below === undefined ? '' : `+${(cpu - below).toFixed(0)}`, 9)}`);
      below = cpu;
    }
  }
  lines.push('', "'added': cpu us/req over the server above it (same concurrency).");
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
