/**
 * From a runner config entry to scheduled runners: decide the placement, make a starter
 * for the backend, and put a ScheduledRunner (pool + batchers) in front. Every runner
 * served is scheduled, so every queue is bounded.
 */
import { basename, extname } from 'node:path';
import { importRunnerDefinitions, loadJsRunner } from '../backends/js/index.js';
import { loadOnnxRunner } from '../backends/onnx/index.js';
import type { RunnerConfig } from '../config/serve-config.js';
import type { Runner } from '../runner/runner.js';
import type { BatcherObserver } from './batcher.js';
import { inProcessStarter } from './in-process-instance.js';
import type { InstanceStarter } from './instance-pool.js';
import { decidePlacement, type Placement } from './placement.js';
import { processIsolation } from './process-instance.js';
import { ScheduledRunner, type SchedulingOptions } from './scheduled-runner.js';
import { workerIsolation } from './worker-instance.js';

/** The `scheduling` block of a runner config entry (its schema: src/config/schema.ts). */
export type { SchedulingConfig } from '../config/schema.js';

/** Makes observers for a runner's methods (stats, metrics). */
export type ObserverFactory = (runner: string, method: string) => BatcherObserver;

/** Starters for isolation kinds other than in-process, registered by their modules. */
export type IsolatedStarterFactory = (entry: RunnerConfig, runnerName: string, placement: Placement) => InstanceStarter;
const isolatedStarters = new Map<string, IsolatedStarterFactory>();

/** Registers how to start instances in worker threads or child processes. */
export function registerIsolation(kind: 'worker' | 'process', factory: IsolatedStarterFactory): void {
  isolatedStarters.set(kind, factory);
}
registerIsolation('worker', workerIsolation);
registerIsolation('process', processIsolation);

/** For GPU placement: pin instance `index` to its device (CUDA), with CPU as fallback. */
function gpuProviders(placement: Placement, index: number): { executionProviders?: string[]; deviceId?: number } {
  const device = placement.devices[index];
  return placement.kind === 'gpu' && device !== undefined ? { executionProviders: ['cuda', 'cpu'], deviceId: device } : {};
}

/** A runner to register: its name now, its loading later. */
export interface PendingRunner {
  name: string;
  load: () => Promise<Runner>;
}

/** The runners one config entry serves, each scheduled. */
export async function scheduledRunnersOf(entry: RunnerConfig, observe: ObserverFactory): Promise<PendingRunner[]> {
  const scheduling = entry.scheduling ?? {};
  const placement = decidePlacement(scheduling.instances);
  // The config resolved the backend and checked the options against it (config/schema.ts).
  const backend = entry.backend;
  const options: SchedulingOptions = {
    ...(scheduling.batching ? { batching: scheduling.batching } : {}),
    ...(scheduling.hangTimeoutMs ? { hangTimeoutMs: scheduling.hangTimeoutMs } : {}),
    ...(scheduling.minBackoffMs ? { minBackoffMs: scheduling.minBackoffMs } : {}),
    ...(scheduling.maxBackoffMs ? { maxBackoffMs: scheduling.maxBackoffMs } : {}),
  };
  // JS runners default to worker threads: user code then runs in parallel with the
  // server's I/O and cannot block it; ONNX runs native code, in process by default.
  const isolation = scheduling.isolation ?? (backend === 'js' ? 'worker' : 'in-process');
  const schedule = (name: string, starter: InstanceStarter): PendingRunner => ({
    name,
    load: () => ScheduledRunner.start(name, placement.count, starter, options, (method) => observe(name, method)),
  });
  const isolated = (name: string) => {
    const factory = isolatedStarters.get(isolation);
    if (!factory) throw new Error(`isolation '${isolation}' is not available; use in-process, worker or process`);
    return factory(entry, name, placement);
  };

  if (entry.backend === 'onnx') {
    const name = entry.name ?? basename(entry.path, extname(entry.path));
    const onnxOptions = entry.options;
    const starter = isolation === 'in-process'
      ? inProcessStarter((index) => loadOnnxRunner(entry.path, {
        ...onnxOptions,
        name,
        intraOpNumThreads: onnxOptions.intraOpNumThreads ?? placement.threadsPerInstance,
        ...gpuProviders(placement, index),
      }))
      : isolated(name);
    return [schedule(name, starter)];
  }
  // JS modules: import once to learn the runner names; each instance runs its own setup.
  const definitions = await importRunnerDefinitions(entry.path);
  return definitions
    .filter((d) => !entry.name || d.name === entry.name)
    .map((definition) => schedule(definition.name, isolation === 'in-process'
      ? inProcessStarter(() => loadJsRunner(definition))
      : isolated(definition.name)));
}
