/**
 * What an instance loads: a plain, structured-clonable description of one instance of
 * one runner (a Runner object cannot cross to a worker thread or child process). Every
 * instance, in process or isolated, loads through loadRunnerSpec, which asks the backend
 * registry by name: no backend is special here. (runner-loader.ts makes specs from config
 * entries; this module stays small, since every worker thread and child process imports it.)
 */
import type { BackendEntry, InstanceSettings } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import type { Runner } from '../runner/runner.js';

/** One instance of one runner: the backend by name, the checked entry, the runner, the instance. */
export interface RunnerSpec {
  backend: string;
  entry: BackendEntry;
  runner: string;
  instance: InstanceSettings;
}

/**
 * Loads the runner a spec describes (in whichever thread or process calls it). Async
 * all through: an unknown backend rejects, so an instance reports it as a load error.
 */
export async function loadRunnerSpec(spec: RunnerSpec): Promise<Runner> {
  return backendNamed(spec.backend).load(spec.entry, spec.runner, spec.instance);
}
