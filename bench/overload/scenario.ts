/**
 * The overload scenario of issue #9 ("goodput under overload"), shared by the bench
 * (bench/overload/run.ts, the full run) and the test (test/scheduling/overload.test.ts,
 * a bounded run): many concurrent callers, each with a deadline, against a runner whose
 * every call takes a fixed time, behind a real Flight server on loopback.
 *
 * The runner is a JS runner in process (one instance, batching off, so one call is one
 * backend call); it sleeps `modelMs` per call (a timer, so the event loop keeps serving
 * the network while it "computes"), and records when each call's model time started
 * and ended. The input x is a call id, so each model run is matched to the caller's
 * outcome: model time is "delivered" when the caller received that call's answer.
 * The server side records each call's deadline as the server saw it, so the scenario
 * can tell whether a call was given model time after its deadline had passed.
 */
import { defineRunner, loadJsRunner } from '../../src/backends/js/index.js';
import { connect } from '../../src/client/index.js';
import { FlightError } from '../../src/flight/index.js';
import { startRunnerServer } from '../../src/runner/runner-server.js';
import { types } from '../../src/runner/payload.js';
import type { Runner } from '../../src/runner/runner.js';
import type { BatchingOptions } from '../../src/scheduling/batcher.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';

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
  /** Runner instances (default 1). */
  instances?: number;
  /** A caller refused with RESOURCE_EXHAUSTED waits this long before calling again (ms). */
  refusedBackoffMs?: number;
  /** Batching settings (default: batching off, one call per backend call). */
  batching?: Partial<BatchingOptions>;
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
  /** Backend calls, total model time, and model time whose answers callers received. */
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
  const modelRuns: ModelRun[] = [];
  const definition = defineRunner({
    name: 'slow',
    methods: {
      work: {
        inputs: { x: types.scalar('float64') },
        outputs: { y: types.scalar('float64') },
        default: true,
        run: async ({ x }) => {
          const xs = x as Float64Array;
          const startedAt = Date.now();
          const started = performance.now();
          await new Promise((r) => setTimeout(r, options.modelMs));
          modelRuns.push({ ids: Array.from(xs), startedAt, ms: performance.now() - started });
          return xs.map((v) => v * 2);
        },
      },
    },
  });
  const scheduled = await ScheduledRunner.start('slow', options.instances ?? 1, inProcessStarter(() => loadJsRunner(definition)), {
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
  const client = await connect(server.location);
  const slow = client.runner('slow').withOptions({ deadline: options.deadlineMs });

  const codes: Record<string, number> = {};
  const sampleMessages: Record<string, string> = {};
  const delivered = new Set<number>();
  let nextId = 0;
  const started = performance.now();
  const end = started + options.durationMs;
  const caller = async () => {
    while (performance.now() < end) {
      const id = nextId++;
      let code = 'OK';
      try {
        const y = await slow.run(id);
        if (y !== 2 * id) throw new Error(`call ${id} got ${String(y)}, expected ${2 * id}`);
        delivered.add(id);
      } catch (err) {
        if (!(err instanceof FlightError)) throw err;
        code = err.codeName;
        sampleMessages[code] ??= err.message;
      }
      codes[code] = (codes[code] ?? 0) + 1;
      if (code === 'RESOURCE_EXHAUSTED' && options.refusedBackoffMs) await new Promise((r) => setTimeout(r, options.refusedBackoffMs));
    }
  };
  try {
    await Promise.all(Array.from({ length: options.callers }, caller));
  } finally {
    client.close();
    await server.close(5000);
  }
  const elapsedMs = performance.now() - started;

  let modelMs = 0;
  let deliveredModelMs = 0;
  let startedAfterDeadline = 0;
  for (const run of modelRuns) {
    modelMs += run.ms;
    deliveredModelMs += run.ms * (run.ids.filter((id) => delivered.has(id)).length / run.ids.length);
    if (run.ids.some((id) => run.startedAt > (serverDeadlines.get(id) ?? Infinity))) startedAfterDeadline++;
  }
  const calls = nextId;
  return {
    calls,
    admitted: calls - (codes['RESOURCE_EXHAUSTED'] ?? 0),
    codes,
    modelRuns,
    modelMs,
    deliveredModelMs,
    startedAfterDeadline,
    sampleMessages,
    elapsedMs,
  };
}
