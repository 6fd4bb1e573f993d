/**
 * What an instance loads: a plain, structured-clonable description of one instance of
 * one runner (a Runner object cannot cross to a worker thread or child process). Every
 * instance, in process or isolated, loads through loadRunnerSpec, which asks the backend
 * registry by name: no backend is special here.
 */
import type { BackendEntry, InstanceSettings } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import { backendEntryOf, type RunnerConfig } from '../config/serve-config.js';
import type { Runner } from '../runner/runner.js';
import type { Placement } from './placement.js';

/** One instance of one runner: the backend by name, the checked entry, the runner, the instance. */
export interface RunnerSpec {
  backend: string;
  entry: BackendEntry;
  runner: string;
  instance: InstanceSettings;
}

/** Loads the runner a spec describes (in whichever thread or process calls it). */
export function loadRunnerSpec(spec: RunnerSpec): Promise<Runner> {
  return backendNamed(spec.backend).load(spec.entry, spec.runner, spec.instance);
}

/** What placement decided for instance `index`: its threads and, on a GPU, its device. */
export function instanceOf(placement: Placement, index: number): InstanceSettings {
  const device = placement.kind === 'gpu' ? placement.devices[index] : undefined;
  return { index, threads: placement.threadsPerInstance, ...(device !== undefined ? { device } : {}) };
}

/** The spec of instance `index` of runner `runner` of a (checked) config entry. */
export function specOf(entry: RunnerConfig, runner: string, placement: Placement, index: number): RunnerSpec {
  return {
    backend: entry.backend,
    entry: backendEntryOf(entry),
    runner,
    instance: instanceOf(placement, index),
  };
}
