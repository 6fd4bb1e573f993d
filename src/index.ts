/**
 * flight-runner: ML models as Arrow Flight services.
 *
 * - `flight/`: the Flight library (server, client, codec), usable on its own.
 * - `runner/`: signatures, payload types, the runner service.
 * - `codecs/`: JS values <-> Arrow columns (tensors, JSON, DataFrames).
 * - `backends/`: ways to make runners (js, onnx).
 * - `client/`: the SDK, `connect()` and `local()`.
 */
export * from './flight/index.js';
export { types, type PayloadType, type TensorType } from './codecs/payload.js';
export type { MethodSignature, ParamSpec } from './runner/signature.js';
export type { Runner, RunnerMethod, CallParams } from './runner/runner.js';
export { startRunnerServer, type RunnerServer, type RunnerServerOptions } from './runner/runner-server.js';
export { Tensor } from './codecs/tensor.js';
export type { DType } from './codecs/dtypes.js';
export { defineRunner, defineRunnerFromClass, defineFunction, loadJsRunner, type JsMethod, type JsRunnerDefinition } from './backends/js/index.js';
export { connect, local, RunnerClient, RunnerHandle, type ConnectOptions, type HandleOptions, type StreamOptions, type ValueOptions, type LocalRunner } from './client/index.js';

// The one instance of this package, for `require('flight-runner')` (cjs/index.cjs): a
// runner in a CommonJS project gets these same classes rather than a compiled copy.
import * as self from './index.js';
(globalThis as Record<symbol, unknown>)[Symbol.for('flight-runner')] ??= self;
