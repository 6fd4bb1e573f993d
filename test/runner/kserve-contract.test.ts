/**
 * The backend contract (backend-contract.ts) for the kserve backend, in process and in
 * worker threads, through the path `serve` takes. Its peer is our own V2 server (the Open
 * Inference Protocol on the Flight port) serving example ONNX models, started here, so no
 * Python is needed: every runner is a kserve runner relaying to it over loopback.
 */
import test from 'ava';
import { loadOnnxRunner } from '../../src/backends/onnx/index.js';
import { startRunnerServer, type RunnerServer } from '../../src/index.js';
import { backendContract } from './backend-contract.js';

let started: Promise<RunnerServer> | undefined;

/** The peer's address; the first hook that asks starts it (ava runs `before` hooks concurrently). */
const peer = async () => {
  started ??= Promise.all(['iris', 'tensor_model', 'scaler_fp16', 'greeter'].map((m) => loadOnnxRunner(`examples/models/${m}.onnx`)))
    .then((runners) => startRunnerServer({ runners }));
  return (await started).location;
};

// Registered after the contract's hooks: ava runs after.always hooks in order, so the runners close first.
backendContract('kserve', [
  // int64 scalar output beside a float32 tensor
  { title: 'iris (FP32 in, INT64 and FP32 out)', target: peer, options: { model: 'iris' }, runners: ['iris'] },
  // a 3-D tensor per example
  { title: 'tensor_model (3-D FP32)', target: peer, options: { model: 'tensor_model' }, runners: ['tensor_model'] },
  { title: 'scaler_fp16 (FP16)', target: peer, options: { model: 'scaler_fp16' }, runners: ['scaler_fp16'] },
  // BYTES as utf8 strings
  { title: 'greeter (BYTES as strings)', target: peer, options: { model: 'greeter', types: { name: 'string', greeting: 'string' } }, runners: ['greeter'] },
]);

test.after.always(async () => {
  await (await started?.catch(() => undefined))?.close();
});
