/**
 * `npm run bench:serving`: requests/s and p50/p99 latency of one-row calls to the small
 * ONNX MLP at several concurrencies, for three servers measured in the same run and driven
 * by the same load generator (loadgen/, Go):
 *   (a) flight-runner, batching off;  (b) flight-runner, batching on;
 *   (c) python_baseline_server.py (pyarrow Flight + onnxruntime, by hand).
 * All three stay up for the whole run; each repetition measures every (concurrency,
 * server) pair once, rotating which server goes first, so slow phases of this shared
 * machine hit all three alike. Medians over repetitions are printed, and ratios are
 * taken per repetition (peers measured seconds apart) before their median.
 *
 * Flags: --reps N (5), --duration S (3), --warmup S (1), --concurrency 1,8,64,
 * --instances N (2), --max-batch-rows N (64), --max-queue-delay-ms N (2),
 * --python-threads N (1), --only a,b,c, --json FILE,
 * --server-node-args="--cpu-prof --cpu-prof-dir=/tmp/prof" (profile our servers).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');
const model = join(root, 'examples/models/mlp_small.onnx');

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,8,64' },
    instances: { type: 'string', default: '2' },
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

/** One load generator run: what loadgen prints. */
interface Measurement {
  concurrency: number;
  requests: number;
  errors: number;
  first_error?: string;
  rps: number;
  p50_us: number;
  p99_us: number;
}

interface Server {
  key: string;
  label: string;
  address: string;
  child: ChildProcess;
}

/** Spawns a server and waits for its `... listening on grpc://H:P` line. */
async function startServer(key: string, label: string, command: string, args: string[]): Promise<Server> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolveAddress, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} printed no ready line in 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      const m = / listening on grpc:\/\/(\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolveAddress(m[1]!);
      }
    });
  });
  return { key, label, address, child };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  if (code !== 0) process.stderr.write(`${server.label} exited with ${code}\n`);
}

/** Runs a command to completion; resolves with its stdout. */
async function run(command: string, args: string[], cwd = root, env = process.env): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd, env });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A flight-runner config serving the MLP on `instances` instances of one intra-op thread each. */
function config(batching: Record<string, unknown>): string {
  return [
    'server: { host: 127.0.0.1 }',
    'runners:',
    `  - path: ${JSON.stringify(model)}`,
    '    options: { intraOpNumThreads: 1 }',
    '    scheduling:',
    `      instances: { count: ${instances}, threadsPerInstance: 1 }`,
    `      batching: ${JSON.stringify(batching)}`,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-serving-'));
  const servers: Server[] = [];
  try {
    process.stderr.write('building loadgen (go build)...\n');
    const loadgen = join(work, 'loadgen');
    await run('go', ['build', '-o', loadgen, '.'], join(here, 'loadgen'), { ...process.env, GOFLAGS: '-mod=mod' });

    const batching = { enabled: true, maxBatchRows: Number(values['max-batch-rows']), maxQueueDelayMs: Number(values['max-queue-delay-ms']) };
    writeFileSync(join(work, 'off.yaml'), config({ enabled: false }));
    writeFileSync(join(work, 'on.yaml'), config(batching));
    const nodeArgs = values['server-node-args'].split(' ').filter(Boolean);
    const serve = (file: string) => [...nodeArgs, join(root, 'bin/flight-runner.js'), 'serve', join(work, file), '--port', '0', '--log-level', 'warn'];
    const only = new Set(values.only.split(','));
    // Started one after another: three cold starts at once on two cores take long.
    if (only.has('a')) servers.push(await startServer('a', '(a) flight-runner, batching off', process.execPath, serve('off.yaml')));
    if (only.has('b')) servers.push(await startServer('b', '(b) flight-runner, batching on', process.execPath, serve('on.yaml')));
    if (only.has('c')) {
      servers.push(await startServer('c', '(c) python baseline', join(root, '.venv/bin/python'), [
        join(here, 'python_baseline_server.py'), model, '--port', '0', '--threads', values['python-threads'],
      ]));
    }

    const results = new Map<string, Measurement[]>(); // key `${server}:${concurrency}`
    for (let rep = 0; rep < reps; rep++) {
      for (const c of concurrencies) {
        const order = servers.map((_, i) => servers[(i + rep) % servers.length]!);
        for (const server of order) {
          const out = await run(loadgen, ['-addr', server.address, '-c', String(c), '-warmup', `${values.warmup}s`, '-duration', `${values.duration}s`]);
          const m = JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
          if (m.errors) process.stderr.write(`${server.label} c=${c}: ${m.errors} errors, first: ${m.first_error}\n`);
          process.stderr.write(`rep ${rep + 1}/${reps} c=${c} ${server.label}: ${m.rps.toFixed(0)} req/s, p50 ${(m.p50_us / 1000).toFixed(2)} ms, p99 ${(m.p99_us / 1000).toFixed(2)} ms\n`);
          const key = `${server.key}:${c}`;
          results.set(key, [...(results.get(key) ?? []), m]);
        }
      }
    }
    report(servers, results, batching);
    if (values.json) writeFileSync(values.json, `${JSON.stringify(Object.fromEntries(results), null, 1)}\n`);
  } finally {
    for (const server of servers) await stopServer(server);
    rmSync(work, { recursive: true, force: true });
  }
}

function report(servers: Server[], results: Map<string, Measurement[]>, batching: object): void {
  const get = (key: string, c: number) => results.get(`${key}:${c}`) ?? [];
  const pad = (s: string, n: number) => s.padStart(n);
  const lines: string[] = [];
  lines.push(`mlp_small.onnx, one row per request, fresh DoExchange per request; ${instances} instances x 1 intra-op thread;`);
  lines.push(`batching on: ${JSON.stringify(batching)}; medians of ${reps} repetitions of ${values.duration} s (after ${values.warmup} s warm-up)`);
  lines.push('');
  lines.push(`${'server'.padEnd(34)}${pad('conc', 5)}${pad('req/s', 9)}${pad('p50 ms', 9)}${pad('p99 ms', 9)}`);
  for (const server of servers) {
    for (const c of concurrencies) {
      const ms = get(server.key, c);
      lines.push(`${server.label.padEnd(34)}${pad(String(c), 5)}${pad(median(ms.map((m) => m.rps)).toFixed(0), 9)}`
        + `${pad((median(ms.map((m) => m.p50_us)) / 1000).toFixed(2), 9)}${pad((median(ms.map((m) => m.p99_us)) / 1000).toFixed(2), 9)}`);
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
