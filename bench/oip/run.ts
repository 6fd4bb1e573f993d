/**
 * `npm run bench:oip`: the Open Inference Protocol (KServe V2) path under perf_analyzer
 * (tritonclient 2.41.1's binary, the same client for every server), one-row and 64-row
 * requests at concurrency 1, 8 and 64, all in one run:
 *   ours      flight-runner serving examples/models/mlp_small.onnx, V2 gRPC on its Flight port
 *             (2 in-process instances x 1 thread, batching maxBatchRows 64, maxQueueDelayMs 2);
 *   triton    NVIDIA Triton (nvidia-pytriton) whose Python model calls onnxruntime on the same
 *             file (1 thread), dynamic batching up to 64 rows, 2 ms queue delay;
 *   via-triton flight-runner whose kserve runner relays to that Triton (the backend's cost);
 *   via-mls   flight-runner whose kserve runner relays to MLServer serving the same file with
 *             adaptive batching (64 rows, 2 ms). perf_analyzer cannot drive MLServer itself:
 *             it asks for ModelConfig first, which MLServer lacks over gRPC ("Method not
 *             found") and over HTTP (404), so MLServer is measured behind our kserve backend.
 * Beside them, for one-row requests, the same flight-runner driven by bench/serving's Go load
 * generator over Flight and over V2 (ModelInfer): the two protocols' CPU per request from one
 * client, the issue's "V2 within 1.2x of Flight" (perf_analyzer's V2 rows use another client).
 * Per run: req/s (perf_analyzer's inferences/s over the batch size), p50/p99 latency, and
 * the server's CPU per request: CPU time of the server's whole process tree (from /proc)
 * over the perf_analyzer run, over the requests it served (at the measured rate).
 * As bench/serving does: --reps repetitions, each measuring every (batch, concurrency,
 * server) cell once with the servers in an order rotated per repetition; the table shows
 * medians per cell, and ratios (ours against Triton, V2 against Flight) are taken within a
 * repetition, where the two were measured seconds apart, then their median.
 *
 * Flags: --reps 3, --concurrency 1,8,64, --batch 1,64, --only ours,triton,via-triton,via-mls,
 * --window-ms 2000, --windows 3 (at least 3), --json FILE.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { buildLoadgen, measure, median, root, run, startServer, stopServer, type Server } from '../serving/harness.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,8,64' },
    batch: { type: 'string', default: '1,64' },
    only: { type: 'string', default: 'ours,triton,via-triton,via-mls' },
    'window-ms': { type: 'string', default: '2000' },
    windows: { type: 'string', default: '3' },
    json: { type: 'string' },
  },
});

const MODEL = join(root, 'examples/models/mlp_small.onnx');
const PEERS = join(root, 'test/interop/kserve/peers');

/** One perf_analyzer run against one server (or one loadgen run, for the Flight row). */
interface Result {
  /** Target key ('ours', 'triton', 'via-triton', 'via-mls', 'flight'). */
  key: string;
  server: string;
  rep: number;
  batch: number;
  concurrency: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  cpu_us_per_request: number;
  error?: string;
}

/** A running server: where perf_analyzer calls it and the root of its process tree. */
interface Target {
  key: string;
  label: string;
  grpc: string;
  /** Roots of the process trees whose CPU the server uses. */
  pids: number[];
  stop: () => Promise<void>;
}

/** A venv made from a requirements file, reinstalled when the file changes (as test/run-all.sh does). */
async function venv(dir: string, requirements: string): Promise<void> {
  const marker = join(root, dir, '.requirements');
  // Comments do not change what is installed: only the requirement lines are compared.
  const pins = (file: string) => readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean).join('\n');
  if (existsSync(join(root, dir, 'bin/python')) && existsSync(marker) && pins(marker) === pins(requirements)) return;
  process.stderr.write(`installing ${dir} from ${requirements}...\n`);
  await run('python3', ['-m', 'venv', join(root, dir)]);
  await run(join(root, dir, 'bin/pip'), ['install', '-q', '--disable-pip-version-check', '-r', requirements]);
  writeFileSync(marker, readFileSync(requirements, 'utf8'));
}

/**
 * perf_analyzer links libcudart.so.12 (no GPU is used): .venv-oip has it from the
 * nvidia-cuda-runtime-cu12 wheel (test/interop/oip/requirements.txt), as the V2 suite uses it.
 */
function cudartDir(): string {
  const lib = join(root, '.venv-oip/lib');
  const python = readdirSync(lib).find((d) => d.startsWith('python'));
  const dir = python ? join(lib, python, 'site-packages/nvidia/cuda_runtime/lib') : '';
  if (!dir || !existsSync(join(dir, 'libcudart.so.12'))) throw new Error(`no libcudart.so.12 in .venv-oip (expected ${dir || join(lib, 'python*/site-packages/nvidia/cuda_runtime/lib')})`);
  return dir;
}

/** CPU seconds of a process and all its descendants (utime + stime, /proc). */
function treeCpuSeconds(rootPid: number): number {
  const stats = new Map<number, { ppid: number; cpu: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      // After the command: ppid is field 4, utime and stime fields 14 and 15 (1-based).
      stats.set(Number(entry), { ppid: Number(fields[1]), cpu: (Number(fields[11]) + Number(fields[12])) / 100 });
    } catch { /* exited meanwhile */ }
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop()!;
    total += stats.get(pid)?.cpu ?? 0;
    for (const [child, s] of stats) if (s.ppid === pid) stack.push(child);
  }
  return total;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Spawns a peer in its own process group and waits until `readyUrl` answers 200. */
async function startPeer(label: string, command: string, args: string[], env: NodeJS.ProcessEnv, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => { log = (log + s).slice(-4000); });
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} not ready in 180 s; log:\n${log}`)), 180_000);
    child.once('exit', (code) => reject(new Error(`${label} exited with ${code}; log:\n${log}`)));
    const done = () => { clearTimeout(timer); resolve(); };
    lines.on('line', (line) => { log = `${log}${line}\n`.slice(-4000); });
    const poll = () => fetch(readyUrl).then((r) => (r.ok ? done() : setTimeout(poll, 300)), () => setTimeout(poll, 300));
    poll();
  });
  return child;
}

async function stopPeer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
}

function ourTarget(server: Server, key: string, label: string): Target {
  return { key, label, grpc: server.address, pids: [server.child.pid!], stop: () => stopServer(server) };
}

/** The flight-runner serving the model directly, also measured over Flight (its CPU per request beside V2's). */
let oursServer: Server | undefined;

/** Starts the servers `only` names, each pushed to `targets` once up (so a failure still stops the others). */
async function startTargets(work: string, only: Set<string>, targets: Target[]): Promise<void> {
  if (only.has('ours')) {
    const config = join(work, 'ours.yaml');
    writeFileSync(config, [
      'server: { host: 127.0.0.1 }',
      'runners:',
      `  - path: ${JSON.stringify(MODEL)}`,
      '    options: { intraOpNumThreads: 1 }',
      '    scheduling:',
      '      instances: { count: 2, threadsPerInstance: 1 }',
      '      batching: { maxBatchRows: 64, maxQueueDelayMs: 2 }',
      '',
    ].join('\n'));
    oursServer = await startServer('ours', 'flight-runner V2', 'node', ['bin/flight-runner.js', 'serve', config, '--port', '0']);
    targets.push(ourTarget(oursServer, 'ours', 'flight-runner (onnx)'));
  }
  if (only.has('triton') || only.has('via-triton')) {
    const [grpc, http] = [await freePort(), await freePort()];
    const child = await startPeer('Triton', join(root, '.venv-triton/bin/python'), [
      join(PEERS, 'triton_peer.py'), '--grpc-port', String(grpc), '--http-port', String(http), '--models', 'bench', '--onnx', MODEL,
      '--max-queue-delay-us', '2000',
      // Its READY line can share a line with tritonserver's own output: ask over HTTP instead.
    ], process.env, `http://127.0.0.1:${http}/v2/models/mlp_small/ready`);
    const peer: Target = { key: 'triton', label: 'Triton (pytriton + onnxruntime)', grpc: `127.0.0.1:${grpc}`, pids: [child.pid!], stop: () => stopPeer(child) };
    if (only.has('triton')) targets.push(peer);
    // Stopped last: the relay in front of it stops first.
    else targets.push({ ...peer, key: 'peer-only' });
    if (only.has('via-triton')) targets.unshift(await relay(work, 'via-triton', 'flight-runner kserve -> Triton', peer.grpc, peer.pids));
  }
  if (only.has('via-mls')) {
    const [grpc, http] = [await freePort(), await freePort()];
    const child = await startPeer('MLServer', join(root, '.venv-mlserver/bin/mlserver'), ['start', join(PEERS, 'mlserver/bench')],
      { ...process.env, PYTHONPATH: join(PEERS, 'mlserver'), MLSERVER_GRPC_PORT: String(grpc), MLSERVER_HTTP_PORT: String(http) },
      `http://127.0.0.1:${http}/v2/models/mlp_small/ready`);
    targets.push({ key: 'peer-only', label: 'MLServer', grpc: `127.0.0.1:${grpc}`, pids: [child.pid!], stop: () => stopPeer(child) });
    targets.unshift(await relay(work, 'via-mls', 'flight-runner kserve -> MLServer', `127.0.0.1:${grpc}`, [child.pid!]));
  }
}

/**
 * flight-runner serving the peer's mlp_small through the kserve backend. Its CPU is the
 * relay's and the peer's together (`peerPids`).
 */
async function relay(work: string, key: string, label: string, peer: string, peerPids: number[]): Promise<Target> {
  const config = join(work, `${key}.yaml`);
  writeFileSync(config, [
    'server: { host: 127.0.0.1 }',
    'runners:',
    `  - path: grpc://${peer}`,
    '    backend: kserve',
    '    options: { model: mlp_small }',
    '    scheduling:',
    // Several ModelInfer calls in flight, as the peers' batchers expect.
    '      instances: { count: 4 }',
    '      batching: { maxBatchRows: 64, maxQueueDelayMs: 2 }',
    '',
  ].join('\n'));
  const server = await startServer(key, label, 'node', ['bin/flight-runner.js', 'serve', config, '--port', '0']);
  await waitReady(server).catch(async (err: unknown) => { await stopServer(server); throw err; });
  return { key, label, grpc: server.address, pids: [server.child.pid!, ...peerPids], stop: () => stopServer(server) };
}

/** Waits until the server's runners loaded (a kserve runner loads after `listening`). */
async function waitReady(server: Server): Promise<void> {
  const { FlightClient } = await import('../../src/flight/client.js');
  const client = new FlightClient(`grpc://${server.address}`);
  try {
    for (let i = 0; i < 300; i++) {
      for await (const body of client.doAction('health')) {
        const health = JSON.parse(Buffer.from(body).toString()) as { ready: boolean; errors: unknown };
        if (health.ready) return;
        if (Object.keys(health.errors as object).length) throw new Error(`runner failed: ${JSON.stringify(health.errors)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('runners not ready in 60 s');
  } finally {
    client.close();
  }
}

async function perfAnalyzer(target: Target, batch: number, concurrency: number, rep: number, work: string, env: NodeJS.ProcessEnv): Promise<Result> {
  const csv = join(work, `${target.key}-${batch}-${concurrency}-${rep}.csv`);
  const cpu = () => target.pids.reduce((s, p) => s + treeCpuSeconds(p), 0);
  const cpuBefore = cpu();
  const started = performance.now();
  const base = { key: target.key, server: target.label, rep, batch, concurrency };
  try {
    // -s 1000: no stability requirement (a shared 2-core machine rarely holds 10% for 3 windows);
    // the numbers are then perf_analyzer's average over the windows.
    await run(join(root, '.venv-oip/bin/perf_analyzer'), [
      '-m', 'mlp_small', '-u', target.grpc, '-i', 'grpc', '-b', String(batch), '--concurrency-range', String(concurrency),
      '-p', values['window-ms'], '--max-trials', values.windows, '-s', '1000', '-f', csv,
    ], root, env);
  } catch (err) {
    return { ...base, rps: NaN, p50_ms: NaN, p99_ms: NaN, cpu_us_per_request: NaN, error: (err as Error).message };
  }
  const seconds = (performance.now() - started) / 1000;
  const [header, row] = readFileSync(csv, 'utf8').trim().split('\n').map((l) => l.split(','));
  const col = (name: string) => Number(row![header!.indexOf(name)]);
  const rps = col('Inferences/Second') / batch;
  return {
    ...base,
    rps,
    p50_ms: col('p50 latency') / 1000,
    p99_ms: col('p99 latency') / 1000,
    cpu_us_per_request: ((cpu() - cpuBefore) * 1e6) / (rps * seconds),
  };
}

/** The server label of the Flight row (bench/serving's Go loadgen against the same flight-runner). */
const FLIGHT_LABEL = 'flight-runner (onnx) over Flight';
/** The same flight-runner over V2 from that same Go client. */
const V2_GO_LABEL = 'flight-runner (onnx) V2, Go client';

/** One cell's runs reduced to medians (over the repetitions that did not fail). */
function medians(runs: Result[]): Result & { ok: number; of: number } {
  const ok = runs.filter((r) => !r.error);
  const first = runs[0]!;
  if (!ok.length) return { ...first, ok: 0, of: runs.length };
  return {
    ...first, rps: median(ok.map((r) => r.rps)), p50_ms: median(ok.map((r) => r.p50_ms)), p99_ms: median(ok.map((r) => r.p99_ms)),
    cpu_us_per_request: median(ok.map((r) => r.cpu_us_per_request)), ok: ok.length, of: runs.length,
  };
}

function table(results: Result[]): string {
  const cells = new Map<string, Result[]>();
  for (const r of results) {
    const key = `${r.batch}|${r.server}|${r.concurrency}`;
    cells.set(key, [...(cells.get(key) ?? []), r]);
  }
  const rows = [...cells.values()].map(medians)
    .sort((a, b) => a.batch - b.batch || a.server.localeCompare(b.server) || a.concurrency - b.concurrency);
  const lines = [`${'server'.padEnd(34)} ${'rows'.padStart(4)} ${'conc'.padStart(4)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'cpu us/req'.padStart(10)}`];
  for (const r of rows) {
    const head = `${r.server.padEnd(34)} ${String(r.batch).padStart(4)} ${String(r.concurrency).padStart(4)}`;
    if (!r.ok) { lines.push(`${head}  failed in every repetition: ${r.error}`); continue; }
    const failed = r.ok < r.of ? `  (${r.of - r.ok} of ${r.of} failed: ${runsError(cells.get(`${r.batch}|${r.server}|${r.concurrency}`)!)})` : '';
    lines.push(`${head} ${r.rps.toFixed(0).padStart(8)} ${r.p50_ms.toFixed(2).padStart(8)} ${r.p99_ms.toFixed(2).padStart(8)} ${r.cpu_us_per_request.toFixed(0).padStart(10)}${failed}`);
  }
  return lines.join('\n');
}

const runsError = (runs: Result[]) => runs.find((r) => r.error)?.error ?? '';

/**
 * Ratios taken within each repetition (the two runs seconds apart), then their median:
 * `a`/`b` of `metric` for every (batch, concurrency) both were measured at.
 */
function ratios(results: Result[]): string {
  const get = (key: string, batch: number, c: number, rep: number) => results.find((r) => r.key === key && r.batch === batch && r.concurrency === c && r.rep === rep && !r.error);
  const reps = Math.max(0, ...results.map((r) => r.rep + 1));
  const lines = [`${'ratio (median of per-repetition ratios)'.padEnd(66)} ${'value'.padStart(7)}  ${'n'.padStart(2)}  target`];
  const add = (label: string, a: string, b: string, metric: (r: Result) => number, target: string) => {
    for (const batch of values.batch.split(',').map(Number)) {
      for (const c of values.concurrency.split(',').map(Number)) {
        const per: number[] = [];
        for (let rep = 0; rep < reps; rep++) {
          const [x, y] = [get(a, batch, c, rep), get(b, batch, c, rep)];
          if (x && y) per.push(metric(x) / metric(y));
        }
        if (per.length) lines.push(`${`${label}, ${batch} row${batch > 1 ? 's' : ''}, conc ${c}`.padEnd(66)} ${median(per).toFixed(2).padStart(7)}  ${String(per.length).padStart(2)}  ${target}`);
      }
    }
  };
  add('V2 / Flight cpu us/req (ours, same Go client)', 'v2-go', 'flight', (r) => r.cpu_us_per_request, '<= 1.2');
  add('V2 (perf_analyzer) / Flight (Go) cpu us/req (ours)', 'ours', 'flight', (r) => r.cpu_us_per_request, '');
  add('ours / Triton req/s', 'ours', 'triton', (r) => r.rps, '>= 1');
  add('ours / Triton p99', 'ours', 'triton', (r) => r.p99_ms, '<= 1');
  add('kserve -> Triton / Triton cpu us/req (the relay)', 'via-triton', 'triton', (r) => r.cpu_us_per_request, '');
  add('ours / (kserve -> MLServer) req/s', 'ours', 'via-mls', (r) => r.rps, '>= 2 (MLServer behind our relay)');
  return lines.join('\n');
}

/** The 1-minute load average (/proc/loadavg): how shared the machine was. */
const loadAverage = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

async function main(): Promise<void> {
  // perf_analyzer judges stability over the last 3 windows: with fewer it never reports.
  if (Number(values.windows) < 3) throw new Error('--windows must be at least 3 (perf_analyzer needs 3 windows to report)');
  const reps = Number(values.reps);
  if (!Number.isInteger(reps) || reps < 1) throw new Error(`--reps must be a whole number >= 1, got ${values.reps}`);
  const only = new Set(values.only.split(','));
  await venv('.venv-oip', join(root, 'test/interop/oip/requirements.txt'));
  if (only.has('triton') || only.has('via-triton')) await venv('.venv-triton', join(root, 'test/interop/kserve/requirements-triton.txt'));
  if (only.has('via-mls')) await venv('.venv-mlserver', join(root, 'test/interop/kserve/requirements-mlserver.txt'));
  const work = mkdtempSync(join(tmpdir(), 'bench-oip-'));
  const env = { ...process.env, LD_LIBRARY_PATH: [cudartDir(), process.env['LD_LIBRARY_PATH']].filter(Boolean).join(':') };
  const targets: Target[] = [];
  const results: Result[] = [];
  const loadStart = loadAverage();
  const started = new Date();
  try {
    await startTargets(work, only, targets);
    // The same flight-runner over Flight, one-row requests: bench/serving's Go load generator
    // (one-row DoExchange per request; a different client, so compare the server's CPU per
    // request, not latency). A pseudo-target, rotated with the others.
    const loadgen = oursServer && values.batch.split(',').includes('1') ? await buildLoadgen(work) : undefined;
    const measured = targets.filter((t) => t.key !== 'peer-only');
    for (let rep = 0; rep < reps; rep++) {
      for (const batch of values.batch.split(',').map(Number)) {
        for (const concurrency of values.concurrency.split(',').map(Number)) {
          const order: (Target | 'flight' | 'v2-go')[] = [...measured, ...(loadgen && batch === 1 ? ['flight' as const, 'v2-go' as const] : [])];
          // Which server goes first turns with each repetition (bench/serving's rule).
          for (const target of order.map((_, i) => order[(i + rep) % order.length]!)) {
            const r = target === 'flight' || target === 'v2-go'
              ? await withLoadgen(loadgen!, oursServer!, target, concurrency, rep)
              : await perfAnalyzer(target, batch, concurrency, rep, work, env);
            process.stderr.write(`rep ${rep + 1}/${reps} ${r.server} rows=${batch} c=${concurrency}: ${r.error ?? `${r.rps.toFixed(0)} req/s, ${r.cpu_us_per_request.toFixed(0)} cpu us/req`}\n`);
            results.push(r);
          }
        }
      }
    }
  } finally {
    for (const t of targets) await t.stop().catch(() => {});
    rmSync(work, { recursive: true, force: true });
  }
  const loadEnd = loadAverage();
  process.stdout.write([
    `mlp_small.onnx (MLP 32-64-64-8), perf_analyzer (tritonclient 2.41.1) over gRPC, ${values.windows} windows of ${values['window-ms']} ms;`,
    `medians of ${reps} repetitions (servers in rotated order); load average ${loadStart} at start, ${loadEnd} at end (${started.toISOString()})`,
    '', table(results), '', ratios(results), '',
  ].join('\n'));
  if (values.json) writeFileSync(values.json, JSON.stringify({ reps, loadStart, loadEnd, started: started.toISOString(), results }, null, 2));
}

/**
 * The V2 server's own flight-runner driven by bench/serving's Go loadgen, one-row requests:
 * over Flight ('flight'), or over V2 ('v2-go': ModelInfer from the same client, so the two
 * protocols' CPU per request compare without a client's difference in between).
 */
async function withLoadgen(loadgen: string, server: Server, key: 'flight' | 'v2-go', concurrency: number, rep: number): Promise<Result> {
  const protocol = key === 'flight' ? 'flight' : 'v2';
  const m = await measure(loadgen, server, { path: 'mlp_small', width: 32, concurrency, warmup: 1, duration: 3, protocol });
  return {
    key, server: key === 'flight' ? FLIGHT_LABEL : V2_GO_LABEL, rep, batch: 1, concurrency, rps: m.rps, p50_ms: m.p50_us / 1000, p99_ms: m.p99_us / 1000,
    cpu_us_per_request: m.cpu_us_per_request, ...(m.errors ? { error: `${m.errors} errors, first: ${m.first_error}` } : {}),
  };
}

await main();
