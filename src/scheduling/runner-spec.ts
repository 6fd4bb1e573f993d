/**
 * What an isolated instance (worker thread or child process) loads: a plain,
 * structured-clonable description of one runner, since a Runner object cannot cross
 * the boundary. The child loads it the same way an in-process instance would.
 */
import { importRunnerDefinitions, loadJsRunner } from '../backends/js/index.js';
import { loadOnnxRunner, type OnnxRunnerOptions } from '../backends/onnx/index.js';
import type { RunnerConfig } from '../config/serve-config.js';
import type { Runner } from '../runner/runner.js';
import type { Placement } from './placement.js';

/** One runner to load: a named runner of a JS/TS module, or an ONNX model file. */
export type RunnerSpec =
  | { kind: 'js'; path: string; name: string }
  | { kind: 'onnx'; path: string; options: OnnxRunnerOptions };

/** Loads the runner a spec describes (in whichever thread or process calls it). */
export async function loadRunnerSpec(spec: RunnerSpec): Promise<Runner> {
  if (spec.kind === 'onnx') return loadOnnxRunner(spec.path, spec.options);
  const definitions = await importRunnerDefinitions(spec.path);
  const definition = definitions.find((d) => d.name === spec.name);
  if (!definition) {
    throw new Error(`${spec.path} exports no runner '${spec.name}'; it exports ${definitions.map((d) => `'${d.name}'`).join(', ')}`);
  }
  return loadJsRunner(definition);
}

/**
 * The spec of instance `index` of runner `runnerName` from a config entry: ONNX options
 * get the placement's threads and, on GPU, the instance's device (as in-process
 * instances do in runner-loader).
 */
export function specOf(entry: RunnerConfig, runnerName: string, placement: Placement, index: number): RunnerSpec {
  // The config resolved the backend and checked the options against it (config/schema.ts).
  if (entry.backend !== 'onnx') return { kind: 'js', path: entry.path, name: runnerName };
  const options = entry.options;
  const device = placement.devices[index];
  return {
    kind: 'onnx',
    path: entry.path,
    options: {
      ...options,
      name: runnerName,
      intraOpNumThreads: options.intraOpNumThreads ?? placement.threadsPerInstance,
      ...(placement.kind === 'gpu' && device !== undefined ? { executionProviders: ['cuda', 'cpu'], deviceId: device } : {}),
    },
  };
}
