/**
 * `npm run bench:flight`: the Flight layer's numbers, each beside a peer measured in the
 * same run (the machine is shared and noisy, so only same-run ratios mean much).
 *
 *  (a) codec: our FlightData encode/decode against memcpy of the same bytes;
 *  (b) transport: our memory-server process against a pyarrow (C++) echo server, both
 *      driven by the same pyarrow client, alternating servers in every repetition; for
 *      the echo also each server's CPU seconds per GiB (on Linux), which a loaded
 *      machine disturbs far less than MiB/s.
 *
 * Flags: --reps N (default 5), --total-mib N (echo bytes per batch size, default 256),
 * --calls N (latency calls per repetition, default 300), --sizes 1,4,16,64 (echo batch
 * MiB), --warmup-mib N (MiB echoed per size to every server before the repetitions,
 * untimed; default 2048: our server's CPU per GiB settles after ~1.5 GiB; 0 for none), --skip-codec, --skip-transport, --skip-latency,
 * --server-node-args "..." (extra node flags for our server, e.g. --cpu-prof, or
 * --heap-growing-percent=0 for V8's own heap growth instead of src/cli/heap-tuning.ts's),
 * --baseline DIR (another flight-runner checkout, built, e.g. a `git worktree` of an older
 * commit: its memory-server is measured in the same run, for before/after ratios).
 * The echo's server CPU is also split by thread (on Linux): the part off the main thread
 * is, for our server, mostly V8's concurrent marking for full GCs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runCodecBench } from './codec.js';
import { cpuSeconds, mainThreadCpuSeconds, runToEnd, startServer, type ServerProcess } from './servers.js';
import { fmt, median, table } from './stats.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const here = fileURLToPath(new URL('./', import.meta.url));
const python = existsSync(`${root}.venv/bin/python`) ? `${root}.venv/bin/python` : 'python3';

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'total-mib': { type: 'string', default: '256' },
    calls: { type: 'string', default: '300' },
    sizes: { type: 'string', default: '1,4,16,64' },
    'skip-codec': { type: 'boolean', default: false },
    'skip-transport': { type: 'boolean', default: false },
    'skip-latency': { type: 'boolean', default: false },
    'server-node-args': { type: 'string', default: '' },
    'warmup-mib': { type: 'string', default: '2048' },
    baseline: { type: 'string' },
  },
});

interface EchoResult { batch_mib: number; batches: number; mib_per_s: number }
interface Latency { p50_us: number; p99_us: number }
interface Samples {
  echo: Map<number, number[]>;
  cpu: Map<number, number[]>;
  /** The part of `cpu` spent off the server's main thread. */
  cpuOffMain: Map<number, number[]>;
  exchange: Latency[];
  action: Latency[];
}

/** MiB the client echoes before it times anything (pyarrow_client.py's warm-up). */
const WARM_UP_MIB = 16;

const client = (location: string, args: string[]) => runToEnd(python, [`${here}pyarrow_client.py`, location, ...args]);

async function measure(server: ServerProcess, into: Samples): Promise<void> {
  // One client run per size, so that the server's CPU time can be put down to it.
  for (const size of flags.sizes!.split(',')) {
    const pid = server.child.pid!;
    const before = cpuSeconds(pid);
    const mainBefore = mainThreadCpuSeconds(pid);
    const echo = JSON.parse(await client(server.location,
      ['--mode', 'echo', '--sizes', size, '--total-mib', flags['total-mib']!])) as { echo: EchoResult[] };
    const after = cpuSeconds(pid);
    const mainAfter = mainThreadCpuSeconds(pid);
    for (const e of echo.echo) {
      push(into.echo, e.batch_mib, e.mib_per_s);
      if (before !== undefined && after !== undefined && mainBefore !== undefined && mainAfter !== undefined) {
        // Per GiB echoed (payload one way), the warm-up's bytes included.
        const gib = (e.batches * e.batch_mib + WARM_UP_MIB) / 1024;
        push(into.cpu, e.batch_mib, (after - before) / gib);
        push(into.cpuOffMain, e.batch_mib, (after - before - (mainAfter - mainBefore)) / gib);
      }
    }
  }
  if (flags['skip-latency']) return;
  const lat = JSON.parse(await client(server.location, ['--mode', 'latency', '--calls', flags.calls!])) as { exchange: Latency; action: Latency };
  into.exchange.push(lat.exchange);
  into.action.push(lat.action);
}

async function runTransportBench(): Promise<string> {
  const reps = Number(flags.reps);
  const nodeArgs = flags['server-node-args']!.split(' ').filter(Boolean);
  const memoryServer = (checkout: string) => [...nodeArgs, `${checkout}bin/flight-runner.js`, 'memory-server', '--port', '0'];
  const servers: { label: string; process: ServerProcess; samples: Samples }[] = [];
  const add = async (label: string, start: Promise<ServerProcess>) => { servers.push({ label, process: await start, samples: newSamples() }); };
  try {
    await add('ours', startServer('ours', process.execPath, memoryServer(root)));
    if (flags.baseline) await add('baseline', startServer('baseline', process.execPath, memoryServer(`${resolve(flags.baseline)}/`)));
    await add('pyarrow C++', startServer('pyarrow', python, [`${here}pyarrow_echo_server.py`, '--port', '0']));
    // Untimed warm-up of every server at every size: a fresh Node process is still
    // compiling its hot paths through its first GiB or two (our server's CPU per GiB of
    // 1 MiB batches fell from 1.46 to 1.10 s over four 512 MiB runs), and the C++ peer has
    // no such start; the comparison is of servers in steady state.
    const warmUp = Number(flags['warmup-mib']);
    if (warmUp > 0) {
      for (const s of servers) await client(s.process.location, ['--mode', 'echo', '--sizes', flags.sizes!, '--total-mib', String(warmUp)]);
      process.stderr.write(`  warm-up done (${warmUp} MiB per size and server)\n`);
    }
    for (let rep = 0; rep < reps; rep++) {
      // Alternate the order, so drift in machine load hits every server alike.
      for (const s of rep % 2 ? [...servers].reverse() : servers) await measure(s.process, s.samples);
      process.stderr.write(`  transport repetition ${rep + 1}/${reps} done\n`);
    }
  } finally {
    for (const s of servers) await s.process.stop();
  }
  const peer = servers.at(-1)!;
  const ours = servers.slice(0, -1);
  const rows: string[][] = [['metric', ...servers.map((s) => s.label), ...ours.map((s) => `${s.label}/pyarrow`), 'target']];
  const row = (metric: string, pick: (s: Samples) => number[] | undefined, digits: number, target: string) => {
    const values = servers.map((s) => median(pick(s.samples) ?? [Number.NaN]));
    const peerValue = values.at(-1)!;
    rows.push([metric, ...values.map((v) => fmt(v, digits)), ...values.slice(0, -1).map((v) => fmt(v / peerValue, 2)), target]);
  };
  for (const mib of peer.samples.echo.keys()) row(`DoExchange echo ${mib} MiB batches (MiB/s)`, (s) => s.echo.get(mib), 0, '>= 0.8');
  for (const mib of peer.samples.cpu.keys()) row(`server CPU s per GiB echoed, ${mib} MiB`, (s) => s.cpu.get(mib), 2, '');
  for (const mib of peer.samples.cpuOffMain.keys()) row(`  of which off the main thread, ${mib} MiB`, (s) => s.cpuOffMain.get(mib), 2, '');
  for (const kind of flags['skip-latency'] ? [] : ['exchange', 'action'] as const) {
    const name = kind === 'exchange' ? 'one-row DoExchange' : 'DoAction healthcheck';
    for (const p of ['p50_us', 'p99_us'] as const) {
      row(`${name} ${p.slice(0, 3)} (us)`, (s) => s[kind].map((l) => l[p]), 0, p === 'p50_us' ? '<= 1.5' : '');
    }
  }
  return `${table(rows)}\n(medians of ${reps} repetitions; echo MiB/s counts payload one way; server CPU s per GiB: user + system`
    + ` time of the server process, all threads, while the client echoed one size (off the main thread: for ours V8's worker`
    + ` threads, i.e. GC marking and sweeping and background compiles, and libuv's pool; for pyarrow its gRPC threads, which do all its work); latencies over ${flags.calls} calls each`
    + `${flags.baseline ? `; baseline: the memory-server of ${resolve(flags.baseline)}` : ''})`;
}

function newSamples(): Samples {
  return { echo: new Map(), cpu: new Map(), cpuOffMain: new Map(), exchange: [], action: [] };
}

function push(into: Map<number, number[]>, key: number, value: number): void {
  const values = into.get(key);
  if (values) values.push(value);
  else into.set(key, [value]);
}

async function main(): Promise<void> {
  console.log(`flight bench: node ${process.version}, pyarrow client ${python}, ${new Date().toISOString()}`);
  if (!flags['skip-codec']) {
    console.log('\n(a) codec vs memcpy (MB/s = 1e6 bytes/s; ratio = our speed / memcpy speed)\n');
    console.log(runCodecBench());
  }
  if (!flags['skip-transport']) {
    console.log('\n(b) DoExchange / DoAction: our memory-server vs pyarrow C++ echo server, same pyarrow client\n');
    console.log(await runTransportBench());
  }
}

await main();
