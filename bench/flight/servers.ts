/** Starting and stopping the benchmark's server processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

/** A running server process and the location it printed. */
export interface ServerProcess {
  name: string;
  location: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns `command` and waits for its ready line (`... listening on grpc://host:port`).
 * Stop sends SIGTERM and waits for the exit, so runs never overlap.
 */
export async function startServer(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const lines = createInterface({ input: child.stdout! });
  const location = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} printed no ready line in 30 s`)), 30_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before it was ready`)));
    lines.on('line', (line) => {
      const m = / listening on (grpc:\/\/\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  return {
    name,
    location,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs a command to completion; resolves with its stdout, rejects on a non-zero exit. */
export async function runToEnd(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => { out += s; });
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}`);
  return out;
}

/**
 * CPU seconds (user + system, all threads) a process has used so far, from
 * /proc/<pid>/stat; undefined where there is no /proc (not Linux). Counts what a
 * wall-clock rate hides on a shared machine: the work a server does per byte, GC and
 * helper threads included.
 */
export function cpuSeconds(pid: number): number | undefined {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/**
 * CPU seconds of a process's main thread so far (/proc/<pid>/task/<pid>/stat); undefined
 * where there is no /proc. With cpuSeconds it splits a server's CPU into the thread that
 * runs JS and the rest (for Node: V8's worker threads, which mark and sweep for the GC
 * and compile in the background, and libuv's pool),
 * which is where the full GCs of large-batch echo show (bench/flight/README.md).
 * The rest is taken as the process total minus this, not summed over threads: a thread
 * that exits between two samples (pyarrow's gRPC pool) would take its CPU with it.
 */
export function mainThreadCpuSeconds(pid: number): number | undefined {
  return statCpuSeconds(`/proc/${pid}/task/${pid}/stat`);
}

function statCpuSeconds(path: string): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces): utime and stime are the 12th
  // and 13th, in clock ticks of USER_HZ, 100 on Linux.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
