/**
 * The `onnx` backend: `.onnx` model files through onnxruntime-node. An entry serves one
 * runner, named after the file (or the entry's `name`); each instance is its own
 * InferenceSession with the placement's threads and, on a GPU, its device.
 */
import { basename, extname } from 'node:path';
import { defineBackend, type BackendEntry, type InstanceSettings } from '../backend.js';
import { loadOnnxRunner, type OnnxRunnerOptions } from './onnx-runner.js';
import { onnxOptionsSchema, type OnnxOptions } from './options.js';

export { loadOnnxRunner, availableProviders, type OnnxRunnerOptions } from './onnx-runner.js';
export { onnxSignature, type OnnxMethodConfig } from './signature.js';
export { onnxOptionsSchema, type OnnxOptions } from './options.js';

/** The runner name of an entry: its `name`, or the model file's base name. */
function runnerName(entry: BackendEntry<OnnxOptions>): string {
  return entry.name ?? basename(entry.path, extname(entry.path));
}

/**
 * The session options of one instance: the entry's, with the placement's threads unless
 * the entry set them, and on a GPU the instance's device with CPU as fallback.
 */
export function instanceOptions(options: OnnxOptions, name: string, instance: InstanceSettings): OnnxRunnerOptions {
  return {
    ...options,
    name,
    intraOpNumThreads: options.intraOpNumThreads ?? instance.threads,
    ...(instance.device !== undefined ? { executionProviders: ['cuda', 'cpu'], deviceId: instance.device } : {}),
  };
}

/** The onnx backend. */
export const onnxBackend = defineBackend<OnnxOptions>({
  name: 'onnx',
  title: 'ONNX',
  paths: { kind: 'file', description: 'a .onnx model', accepts: (path) => path.endsWith('.onnx') },
  options: onnxOptionsSchema,
  entryName: 'names the runner (default: the file\'s base name)',
  // Native code that does not block on JS: in the server's thread unless told otherwise.
  defaultIsolation: 'in-process',
  async list(entry) {
    return [{ name: runnerName(entry), methods: Object.keys(entry.options.methods ?? { predict: {} }) }];
  },
  load(entry, runner, instance) {
    return loadOnnxRunner(entry.path, instanceOptions(entry.options, runner, instance));
  },
});
