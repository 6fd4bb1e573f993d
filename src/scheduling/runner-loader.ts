/**
 * From a runner config entry to scheduled runners: decide the placement, make a starter
 * for the isolation, and put a ScheduledRunner (pool + batchers) in front. Every runner
 * served is scheduled, so every queue is bounded. What the runners are and how an
 * instance loads is the backend's (backends/registry.ts); nothing here names one.
 */
import type { Isolation, RunnerListing } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import type { RunnerConfig } from '../config/serve-config.js';
import type { Runner } from '../runner/runner.js';
import type { BatcherObserver } from './batcher.js';
import { inProcessStarter } from './in-process-instance.js';
import type { InstanceStarter } from './instance-pool.js';
import { decidePlacement } from './placement.js';
import { processStarter } from './process-instance.js';
import { loadRunnerSpec, specOf, type RunnerSpec } from './runner-spec.js';
import { ScheduledRunner, type SchedulingOptions } from './scheduled-runner.js';
import { workerStarter } from './worker-instance.js';

/** The `scheduling` block of a runner config entry (its schema: src/config/schema.ts). */
export type { SchedulingConfig } from '../config/schema.js';

/** Makes observers for a runner's methods (stats, metrics). */
export type ObserverFactory = (runner: string, method: string) => BatcherObserver;

/** A runner to register: its name now, its loading later. */
export interface PendingRunner {
  name: string;
  load: () => Promise<Runner>;
}

/** A starter loading instance N of a runner from `specFor(N)`, in the given isolation. */
export function starterFor(isolation: Isolation, specFor: (index: number) => RunnerSpec): InstanceStarter {
  switch (isolation) {
    case 'in-process': return inProcessStarter((index) => loadRunnerSpec(specFor(index)));
    case 'worker': return workerStarter(specFor);
    case 'process': return processStarter(specFor);
  }
}

/** The isolation of an entry's instances: the config's, or its backend's default. */
export function isolationOf(entry: RunnerConfig): Isolation {
  return entry.scheduling?.isolation ?? backendNamed(entry.backend).defaultIsolation;
}

/**
 * The runners one config entry serves, each scheduled. `runners` is the backend's
 * listing of the entry (config/method-overrides.ts `runnerMethodsOf`), made once.
 */
export function scheduledRunnersOf(entry: RunnerConfig, runners: RunnerListing[], observe: ObserverFactory): PendingRunner[] {
  const scheduling = entry.scheduling ?? {};
  const placement = decidePlacement(scheduling.instances);
  const options: SchedulingOptions = {
    ...(scheduling.batching ? { batching: scheduling.batching } : {}),
    ...(scheduling.hangTimeoutMs ? { hangTimeoutMs: scheduling.hangTimeoutMs } : {}),
    ...(scheduling.minBackoffMs ? { minBackoffMs: scheduling.minBackoffMs } : {}),
    ...(scheduling.maxBackoffMs ? { maxBackoffMs: scheduling.maxBackoffMs } : {}),
  };
  const isolation = isolationOf(entry);
  return runners.map(({ name }) => {
    const starter = starterFor(isolation, (index) => specOf(entry, name, placement, index));
    return { name, load: () => ScheduledRunner.start(name, placement.count, starter, options, (method) => observe(name, method)) };
  });
}
