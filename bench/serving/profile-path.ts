/**
 * Where a one-row call's server time goes, without the network: the same 1-row MLP call
 * timed sequentially at each layer of our path, in one process, interleaved rounds,
 * medians. Layers: onnxruntime-node's session.run alone; our ONNX runner's invoke
 * (tensor in, columns out); the scheduled runner (batcher + pool) with batching off and
 * on; and the service's per-call work on top (conform plan, output schema encode).
 *
 *   npx tsx bench/serving/profile-path.ts [--calls 5000] [--rounds 5]
 */
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { loadOnnxRunner } from '../../src/backends/onnx/index.js';
import { batchFromColumns } from '../../src/codecs/batch.js';
import { Tensor, fixedShapeColumn } from '../../src/codecs/tensor.js';
import { FlightDataDecoder } from '../../src/flight/decode.js';
import { FlightDataEncoder } from '../../src/flight/encode.js';
import { deserializeFlightData, encodeFlightData, encodeFlightDataFrame } from '../../src/flight/flight-data.js';
import { invokeChecked } from '../../src/runner/call.js';
import { planConform } from '../../src/runner/conform.js';
import { fieldFor, type TensorType } from '../../src/codecs/payload.js';
import { outputSchema } from '../../src/runner/signature.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';
import { workerStarter } from '../../src/scheduling/worker-instance.js';

const { values } = parseArgs({ options: { calls: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '5' } } });
const calls = Number(values.calls);
const path = new URL('../../examples/models/mlp_small.onnx', import.meta.url).pathname;

const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, executionProviders: ['cpu'] });
const runner = await loadOnnxRunner(path, { intraOpNumThreads: 1 });
const method = runner.methods[0]!;
const load = () => loadOnnxRunner(path, { intraOpNumThreads: 1 });
const off = await ScheduledRunner.start('mlp_small', 2, inProcessStarter(load), { batching: { enabled: false } });
const on = await ScheduledRunner.start('mlp_small', 2, inProcessStarter(load), { batching: { enabled: true, maxBatchRows: 64, maxQueueDelayMs: 2 } });
const inWorkers = await ScheduledRunner.start('mlp_small', 2, workerStarter(() => ({ backend: 'onnx', entry: { path, options: { intraOpNumThreads: 1 } }, runner: 'mlp_small', instance: { index: 0, threads: 1 } })), { batching: { enabled: false } });

const x = new Float32Array(32).map((_, i) => Math.sin(i));
const spec = method.signature.inputs[0]!;
const batch = batchFromColumns([fieldFor(spec.name, spec.type as TensorType)], [fixedShapeColumn(new Tensor('float32', x, [1, 32]))], 1);
const sig = method.signature;
// The request as the wire carries it: schema and batch messages, serialized.
const requestEncoder = new FlightDataEncoder();
const wire = [requestEncoder.encodeSchema(batch.schema), ...requestEncoder.encodeBatch(batch)].map(encodeFlightData);
const output = await method.invoke(batch, {}, {});

const layers: Record<string, () => unknown> = {
  // Each call owns its receive buffers (the deserializer may realign in place): copy them.
  'decode request (schema + batch messages)': () => {
    const decoder = new FlightDataDecoder();
    for (const bytes of wire) decoder.decode(deserializeFlightData(Buffer.from(bytes)) as never);
  },
  'encode answer (schema + batch frames)': () => {
    const encoder = new FlightDataEncoder();
    encodeFlightDataFrame(encoder.encodeSchema(outputSchema(sig)));
    for (const data of encoder.encodeBatch(output)) encodeFlightDataFrame(data);
  },
  'plan + conform': () => planConform('mlp_small', sig, batch.schema)(batch),
  'ort session.run': () => session.run({ x: new ort.Tensor('float32', x, [1, 32]) }),
  'OnnxRunner invoke': () => method.invoke(batch, {}, {}),
  'ScheduledRunner, batching off': () => off.methods[0]!.invoke(batch, {}, {}),
  'ScheduledRunner, batching on': () => on.methods[0]!.invoke(batch, {}, {}),
  'ScheduledRunner, batching off, worker instances': () => inWorkers.methods[0]!.invoke(batch, {}, {}),
  'service work (plan+conform+invokeChecked+schema), off': () => {
    const conform = planConform('mlp_small', sig, batch.schema);
    new FlightDataEncoder().encodeSchema(outputSchema(sig));
    return invokeChecked('mlp_small', off.methods[0]!, off.methods[0]!.invoke, conform(batch), {}, {});
  },
};

const samples = new Map<string, number[]>();
for (let round = 0; round < Number(values.rounds); round++) {
  for (const [name, fn] of Object.entries(layers)) {
    const started = performance.now();
    for (let i = 0; i < calls; i++) await fn();
    samples.set(name, [...(samples.get(name) ?? []), ((performance.now() - started) * 1000) / calls]);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, xs] of samples) console.log(`${name.padEnd(58)} ${median(xs).toFixed(1).padStart(7)} us/call`);
await off.close();
await on.close();
await inWorkers.close();
