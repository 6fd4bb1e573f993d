/**
 * What the serving benchmarks share: servers started as child processes and stopped with
 * SIGTERM, the Go load generator (loadgen/) built and run against one of them, the
 * server's CPU time per request read from /proc, and medians.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '../..');

/** One load generator run: what loadgen prints, plus the server's CPU per request. */
export interface Measurement {
  concurrency: number;
  requests: number;
  errors: number;
  first_error?: string;
  rps: number;
  p50_us: number;
  p99_us: number;
  /** Server CPU time per request, in us (all its threads; Linux only, else NaN). */
  cpu_us_per_request: number;
}

/** A server under test, running as a child process. */
export interface Server {
  key: string;
  label: string;
  address: string;
  child: ChildProcess;
}

/** CPU seconds a process has used so far, all threads (utime + stime from /proc). */
export function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // After the command: state is field 3, utime and stime are fields 14 and 15 (1-based).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Spawns a server and waits for its `... listening on grpc://H:P` line. */
export async function startServer(key: string, label: string, command: string, args: string[]): Promise<Server> {
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

export async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  if (code !== 0) process.stderr.write(`${server.label} exited with ${code}\n`);
}

/** Runs a command to completion; resolves with its stdout. */
export async function run(command: string, args: string[], cwd = root, env = process.env): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], cwd, env });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return out;
}

/** Builds the Go load generator into `dir`; returns its path. */
export async function buildLoadgen(dir: string): Promise<string> {
  process.stderr.write('building loadgen (go build)...\n');
  const loadgen = join(dir, 'loadgen');
  await run('go', ['build', '-o', loadgen, '.'], join(here, 'loadgen'), { ...process.env, GOFLAGS: '-mod=mod' });
  return loadgen;
}

/** What one loadgen run sends: descriptor path, tensor width, concurrency, seconds. */
export interface Load {
  path: string;
  width: number;
  concurrency: number;
  warmup: number;
  duration: number;
  /** 'flight' (default: a DoExchange per request) or 'v2' (a KServe V2 ModelInfer per request, model = path). */
  protocol?: 'flight' | 'v2';
}

/** Drives `server` with the load generator once, and charges it the CPU it used. */
export async function measure(loadgen: string, server: Server, load: Load): Promise<Measurement> {
  const cpuBefore = cpuSeconds(server.child.pid);
  const out = await run(loadgen, ['-addr', server.address, '-path', load.path, '-width', String(load.width),
    '-c', String(load.concurrency), '-warmup', `${load.warmup}s`, '-duration', `${load.duration}s`, ...(load.protocol ? ['-protocol', load.protocol] : [])]);
  const m = JSON.parse(out.trim().split('\n').at(-1)!) as Measurement;
  // The CPU covers warm-up and measurement; the requests of both, at the measured rate.
  const served = m.rps * (load.warmup + load.duration);
  m.cpu_us_per_request = ((cpuSeconds(server.child.pid) - cpuBefore) * 1e6) / served;
  if (m.errors) process.stderr.write(`${server.label} c=${load.concurrency}: ${m.errors} errors, first: ${m.first_error}\n`);
  return m;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A flight-runner config serving `model` on `instances` instances of one intra-op thread each. */
export function runnerConfig(model: string, instances: number, isolation: string, batching: Record<string, unknown>): string {
  return [
    'server: { host: 127.0.0.1 }',
    'runners:',
    `  - path: ${JSON.stringify(model)}`,
    '    options: { intraOpNumThreads: 1 }',
    '    scheduling:',
    `      instances: { count: ${instances}, threadsPerInstance: 1 }`,
    `      isolation: ${isolation}`,
    `      batching: ${JSON.stringify(batching)}`,
    '',
  ].join('\n');
}
