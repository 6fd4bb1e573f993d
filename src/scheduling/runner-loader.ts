/**
 * From a runner config entry to scheduled runners: decide the placement, make a starter
 * for the isolation, and put a ScheduledRunner (pool + batchers) in front. Every runner
 * served is scheduled, so every queue is bounded. What the runners are and how an
 * instance loads is the backend's (backends/registry.ts); nothing here names one.
 */
import type { InstanceSettings, Isolation, RunnerListing } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import { runnerMethodsOf } from '../config/method-overrides.js';
import { backendEntryOf, type RunnerConfig } from '../config/serve-config.js';
import type { Runner } from '../runner/runner.js';
import type { BatcherObserver } from './batcher.js';
import { inProcessStarter } from './in-process-instance.js';
import type { InstanceStarter } from './instance-pool.js';
import { decidePlacement, type Placement } from './placement.js';
import { processStarter } from './process-instance.js';
import { loadRunnerSpec, type RunnerSpec } from './runner-spec.js';
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

/** What placement decided for instance `index`: its threads and, on a GPU, its device. */
export function instanceOf(placement: Placement, index: number): InstanceSettings {
  const device = placement.kind === 'gpu' ? placement.devices[index] : undefined;
  return { index, threads: placement.threadsPerInstance, ...(device !== undefined ? { device } : {}) };
}

/** The spec of instance `index` of runner `runner` of a (checked) config entry. */
export function specOf(entry: RunnerConfig, runner: string, placement: Placement, index: number): RunnerSpec {
  return { backend: entry.backend, entry: backendEntryOf(entry), runner, instance: instanceOf(placement, index) };
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
 * The runners one config entry serves, each scheduled. `runners` is the backend's listing
 * of the entry (config/method-overrides.ts `runnerMethodsOf`), if the caller has made it
 * already (serve lists each entry once, to check it); otherwise it is made here.
 */
export async function scheduledRunnersOf(entry: RunnerConfig, observe: ObserverFactory, runners?: RunnerListing[]): Promise<PendingRunner[]> {
  const listed = runners ?? await runnerMethodsOf(entry);
  const scheduling = entry.scheduling ?? {};
  const placement = decidePlacement(scheduling.instances);
  const options: SchedulingOptions = {
    ...(scheduling.batching ? { batching: scheduling.batching } : {}),
    ...(scheduling.hangTimeoutMs ? { hangTimeoutMs: scheduling.hangTimeoutMs } : {}),
    ...(scheduling.minBackoffMs ? { minBackoffMs: scheduling.minBackoffMs } : {}),
    ...(scheduling.maxBackoffMs ? { maxBackoffMs: scheduling.maxBackoffMs } : {}),
  };
  const isolation = isolationOf(entry);
  return listed.map(({ name }) => {
    const starter = starterFor(isolation, (index) => specOf(entry, name, placement, index));
    return { name, load: () => ScheduledRunner.start(name, placement.count, starter, options, (method) => observe(name, method)) };
  });
}
