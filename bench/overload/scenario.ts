/**
 * The overload scenario of issue #9 ("goodput under overload"), shared by the bench
 * (bench/overload/run.ts, the full run) and the test (test/scheduling/overload.test.ts,
 * a bounded run): many concurrent callers, each with a deadline, against a runner whose
 * every call takes a fixed time, behind a real Flight server on loopback.
 *
 * The callers run in a child process, as a load generator would, so that their own
 * work does not delay the server's event loop and its timers: callers/ (Go) for the
 * bench, callers.ts (Node, the project's SDK) for the test.
 * The runner (slow-runner.ts) is a JS runner, in process or in a worker thread (one
 * instance by default, batching off, so one call is one backend call); it sleeps
 * `modelMs` per call (a timer, so its thread stays free while it "computes"), and
 * records when each call's model time started and how long it took. The input x is a call id, so each model run is matched to the caller's
 * outcome: model time is "delivered" when the caller received that call's answer.
 * The server side records each call's deadline as the server saw it, so the scenario
 * can tell whether a call was given model time after its deadline had passed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRunnerServer } from '../../src/runner/runner-server.js';
import type { Runner } from '../../src/runner/runner.js';
import type { BatchingOptions } from '../../src/scheduling/batcher.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { loadRunnerSpec, type RunnerSpec } from '../../src/scheduling/runner-spec.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';
import { workerStarter } from '../../src/scheduling/worker-instance.js';

/** What to run. */
export interface OverloadOptions {
  /** Concurrent callers, each calling again as soon as its previous call settled. */
  callers: number;
  /** Each call's deadline, in ms from when it is made. */
  deadlineMs: number;
  /** Model time per call, in ms. */
  modelMs: number;
  /** How long callers keep making new calls, in ms; calls in flight then are awaited. */
  durationMs: number;
  /** Where the runner runs: in the server's thread (default), or in worker threads. */
  isolation?: 'in-process' | 'worker';
  /** Runner instances (default 1). */
  instances?: number;
  /** A caller refused with RESOURCE_EXHAUSTED waits this long before calling again (ms). */
  refusedBackoffMs?: number;
  /** Batching settings (default: batching off, one call per backend call). */
  batching?: Partial<BatchingOptions>;
  /**
   * The callers' program: a built `callers/` Go binary (the bench; see buildGoCallers),
   * or undefined for callers.ts on Node (the test: no Go toolchain needed).
   */
  goCallers?: string;
}

/** One run of the model, as the runner saw it. */
export interface ModelRun {
  /** Call ids (x) in this backend call. */
  ids: number[];
  /** Wall-clock start (Date.now()) and duration in ms. */
  startedAt: number;
  ms: number;
}

/** What happened. */
export interface OverloadResult {
  calls: number;
  /** Calls not refused at admission (everything but RESOURCE_EXHAUSTED). */
  admitted: number;
  /** Calls by final status: OK, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ... */
  codes: Record<string, number>;
  /** Backend calls (without the callers' warm-up call), total model time, and model time whose answers callers received. */
  modelRuns: ModelRun[];
  modelMs: number;
  deliveredModelMs: number;
  /** Model runs that started after one of their calls' server-side deadlines had passed. */
  startedAfterDeadline: number;
  /** A few refusal messages, to show what callers are told. */
  sampleMessages: Record<string, string>;
  elapsedMs: number;
}

/** Runs the scenario once. */
export async function runOverload(options: OverloadOptions): Promise<OverloadResult> {
  // The runner records its runs in a file, from whichever thread runs it.
  const work = mkdtempSync(join(tmpdir(), 'overload-'));
  const runsFile = join(work, 'runs.jsonl');
  writeFileSync(runsFile, '');
  process.env['OVERLOAD_MODEL_MS'] = String(options.modelMs);
  process.env['OVERLOAD_RUNS_FILE'] = runsFile;
  const spec: RunnerSpec = { backend: 'js', entry: { path: SLOW_RUNNER, options: {} }, runner: 'slow', instance: { index: 0, threads: 1 } };
  const starter = options.isolation === 'worker' ? workerStarter(() => spec) : inProcessStarter(() => loadRunnerSpec(spec));
  const scheduled = await ScheduledRunner.start('slow', options.instances ?? 1, starter, {
    batching: options.batching ?? { enabled: false },
  });
  // The deadline each call had on the server, by call id: what the scheduler had to respect.
  const serverDeadlines = new Map<number, number>();
  const recording: Runner = {
    name: scheduled.name,
    platform: scheduled.platform,
    versions: scheduled.versions,
    methods: scheduled.methods.map((m) => ({
      signature: m.signature,
      invoke: (input, params, ctx) => {
        const ids = input.getChild('x')!.toArray() as Float64Array;
        if (ctx.deadline) for (const id of ids) serverDeadlines.set(id, ctx.deadline.getTime());
        return m.invoke(input, params, ctx);
      },
    })),
    close: () => scheduled.close(),
  };
  const server = await startRunnerServer({ runners: [recording] });
  const started = performance.now();
  let callers: CallersReport;
  try {
    callers = await runCallers(server.location, options);
  } finally {
    // FlightServer.close's grace timer is unref'd: if a session lingers after the flood,
    // nothing else holds the event loop and the process would end (exit 13) mid-close.
    const keepAlive = setInterval(() => {}, 1000);
    await server.close(5000).finally(() => clearInterval(keepAlive));
  }
  const elapsedMs = performance.now() - started;
  const modelRuns = readFileSync(runsFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as ModelRun);
  rmSync(work, { recursive: true, force: true });
  const delivered = new Set(callers.delivered);
  const codes = callers.codes;

  let modelMs = 0;
  let deliveredModelMs = 0;
  let startedAfterDeadline = 0;
  for (const run of modelRuns) {
    if (run.ids.some((id) => id < 0)) continue; // the callers' warm-up call
    modelMs += run.ms;
    deliveredModelMs += run.ms * (run.ids.filter((id) => delivered.has(id)).length / run.ids.length);
    if (run.ids.some((id) => run.startedAt > (serverDeadlines.get(id) ?? Infinity))) startedAfterDeadline++;
  }
  const calls = callers.calls;
  return {
    calls,
    admitted: calls - (codes['RESOURCE_EXHAUSTED'] ?? 0),
    codes,
    modelRuns: modelRuns.filter((run) => run.ids.every((id) => id >= 0)),
    modelMs,
    deliveredModelMs,
    startedAfterDeadline,
    sampleMessages: callers.messages,
    elapsedMs,
  };
}

/** What callers.ts prints. */
interface CallersReport {
  calls: number;
  codes: Record<string, number>;
  messages: Record<string, string>;
  delivered: number[];
}

const SLOW_RUNNER = fileURLToPath(new URL('./slow-runner.ts', import.meta.url));
const CALLERS = fileURLToPath(new URL('./callers.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Builds the Go callers into `dir`; resolves with the binary's path. */
export async function buildGoCallers(dir: string): Promise<string> {
  const binary = join(dir, 'overload-callers');
  await exec('go', ['build', '-o', binary, '.'], fileURLToPath(new URL('./callers/', import.meta.url)), { ...process.env, GOFLAGS: '-mod=mod' });
  return binary;
}

/** Runs the callers against `uri` and parses their report. */
async function runCallers(uri: string, o: OverloadOptions): Promise<CallersReport> {
  const backoff = o.refusedBackoffMs ?? 0;
  const [command, args] = o.goCallers
    ? [o.goCallers, ['-addr', uri.replace(/^grpc(\+tcp)?:\/\//, ''), '-c', String(o.callers), '-deadline', `${o.deadlineMs}ms`,
      '-duration', `${o.durationMs}ms`, '-backoff', `${backoff}ms`]]
    : [process.execPath, ['--import', 'tsx', CALLERS, ...[uri, o.callers, o.deadlineMs, o.durationMs, backoff].map(String)]];
  return JSON.parse((await exec(command, args, ROOT)).trim().split('\n').at(-1)!) as CallersReport;
}

/** Runs a command; resolves with its stdout, rejects (with its stderr) if it fails. */
async function exec(command: string, args: string[], cwd: string, env = process.env): Promise<string> {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const code = await new Promise<number | null>((resolve, reject) => child.once('error', reject).once('exit', resolve));
  if (code !== 0) throw new Error(`${command} exited with ${String(code)}:\n${stderr}`);
  return stdout;
}
