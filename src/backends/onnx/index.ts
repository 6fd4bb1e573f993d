/** The `onnx` backend: `.onnx` model files through onnxruntime-node. */
import type { Backend } from '../backend.js';
import { loadOnnxRunner, type OnnxRunnerOptions } from './onnx-runner.js';

export { loadOnnxRunner, availableProviders, type OnnxRunnerOptions } from './onnx-runner.js';
export { onnxSignature, type OnnxMethodConfig } from './signature.js';

/** The onnx backend. */
export const onnxBackend: Backend = {
  name: 'onnx',
  accepts: (target) => target.endsWith('.onnx'),
  async load(target, options) {
    return [await loadOnnxRunner(target, options as OnnxRunnerOptions)];
  },
};
