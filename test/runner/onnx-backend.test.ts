/**
 * The backend contract for the onnx backend over the example models, and what is ONNX's
 * own: signatures derived from the models, method overrides, and results that match
 * examples/models/expected.json (Python onnxruntime) and onnxruntime-node called
 * directly on the same file, within the file's tolerances, in process and over Flight.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Float32 } from 'apache-arrow';
import { loadOnnxRunner } from '../../src/backends/onnx/index.js';
import { halfToFloat, type DType } from '../../src/codecs/dtypes.js';
import {
  FlightError, Status, Tensor, connect, local, startRunnerServer, type RunnerClient, type RunnerServer, type Runner,
} from '../../src/index.js';
import { signatureToJSON } from '../../src/runner/signature.js';
import { backendContract } from './backend-contract.js';
import { listColumn, rawBatch, rejectsWith } from './contract.js';

const MODELS = 'examples/models';

interface TensorSpec { dtype: DType; shape: number[]; data: number[] }
interface ModelSpec {
  file: string;
  inputs_spec: { name: string; dtype: string; shape: (string | number)[] }[];
  outputs_spec: { name: string; dtype: string; shape: (string | number)[] }[];
  inputs: Record<string, TensorSpec>;
  outputs: Record<string, TensorSpec>;
}
const expected = JSON.parse(readFileSync(join(MODELS, 'expected.json'), 'utf8')) as {
  tolerance: Record<string, number>;
  models: Record<string, ModelSpec>;
};
const models = Object.entries(expected.models);
/** Models whose values are numbers (compared within tolerance); greeter's are strings. */
const isNumeric = (m: ModelSpec) => [...m.inputs_spec, ...m.outputs_spec].every((s) => s.dtype !== 'string');
const numericModels = models.filter(([, m]) => isNumeric(m));

/** iris with one method per output, as examples/serve.yaml serves it. */
const IRIS_METHODS = { predict: { outputs: ['label'], default: true }, predict_proba: { outputs: ['probabilities'] } };

backendContract('onnx', [
  ...models.map(([name, m]) => ({ title: m.file, target: join(MODELS, m.file), runners: [name] })),
  { title: 'iris.onnx with predict and predict_proba', target: join(MODELS, 'iris.onnx'), options: { methods: IRIS_METHODS }, runners: ['iris'] },
]);

/** An output as dtype, shape and plain numbers (float16 decoded, int64 as numbers). */
interface Flat { dtype: string; shape: number[]; values: number[] }

function flatOfTensor(t: Tensor): Flat {
  const values = t.dtype === 'float16' ? Array.from(t.data as Uint16Array, halfToFloat) : Array.from(t.data as ArrayLike<number | bigint>, Number);
  return { dtype: t.dtype, shape: [...t.shape], values };
}

function maxDiff(a: number[], b: number[]): number {
  if (a.length !== b.length) return Infinity;
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

const inputTensor = (spec: TensorSpec) => Tensor.from(spec.data, spec.dtype, spec.shape);

/** Each model's outputs from onnxruntime-node itself, on the expected.json inputs. */
async function runDirectly(spec: ModelSpec): Promise<Record<string, Flat>> {
  const session = await ort.InferenceSession.create(join(MODELS, spec.file));
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, input] of Object.entries(spec.inputs)) {
      const t = inputTensor(input);
      feeds[name] = new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as never, [...t.shape]);
    }
    const results = await session.run(feeds);
    return Object.fromEntries(Object.entries(results).map(([name, r]) =>
      [name, flatOfTensor(new Tensor(r.type as DType, r.data as never, r.dims.map(Number)))]));
  } finally {
    await session.release();
  }
}

/** Fresh runners: each model with its derived method, and iris with one method per output. */
async function loadModels(): Promise<Runner[]> {
  return Promise.all([
    ...models.map(([name, m]) => loadOnnxRunner(join(MODELS, m.file), { name })),
    loadOnnxRunner(join(MODELS, 'iris.onnx'), { name: 'iris_methods', methods: IRIS_METHODS }),
  ]);
}

let direct: Record<string, Record<string, Flat>> = {};
let localRunners: Runner[] = [];
let localClient: RunnerClient;
let remoteClient: RunnerClient;
let server: RunnerServer | undefined;

test.before(async () => {
  direct = Object.fromEntries(await Promise.all(numericModels.map(async ([name, m]) => [name, await runDirectly(m)] as const)));
  localRunners = await loadModels();
  localClient = await local(localRunners);
  server = await startRunnerServer({ runners: await loadModels() });
  await server.registry.ready();
  remoteClient = await connect(server.location);
});

test.after.always(async () => {
  remoteClient?.close();
  await server?.close(1000);
  await Promise.all(localRunners.map((r) => r.close?.()));
});

test('onnx: signatures are derived from the models (names, dtypes, batch dim, per-example shapes)', (t) => {
  for (const client of [localClient, remoteClient]) {
    for (const [name, m] of models) {
      const sig = client.runner(name).signature;
      t.is(sig.name, 'predict');
      t.true(sig.batchable, name);
      // The symbolic first dimension is the batch; the rest is the per-example shape.
      const shapeOf = (spec: ModelSpec['inputs_spec'][number]) => {
        t.is(spec.shape[0], 'batch');
        return spec.shape.slice(1);
      };
      // A string tensor of shape [batch] is one string per example: a string payload.
      const payloadOf = (s: ModelSpec['inputs_spec'][number]) => {
        if (s.dtype !== 'string') return { name: s.name, kind: 'tensor', dtype: s.dtype, shape: shapeOf(s) };
        t.deepEqual(shapeOf(s), []);
        return { name: s.name, kind: 'string' };
      };
      t.deepEqual(sig.inputs.map((p) => ({ name: p.name, ...signatureOf(p.type) })), m.inputs_spec.map(payloadOf), name);
      t.deepEqual(sig.outputs.map((p) => ({ name: p.name, ...signatureOf(p.type) })), m.outputs_spec.map(payloadOf), name);
    }
  }
});

function signatureOf(type: unknown): Record<string, unknown> {
  const json = signatureToJSON('r', { name: 'm', inputs: [{ name: 'p', type: type as never }], outputs: [], batchable: true });
  const { name: _name, ...rest } = (json['inputs'] as Record<string, unknown>[])[0]!;
  return rest;
}

test('onnx: method overrides choose outputs (iris predict -> label, predict_proba -> probabilities)', (t) => {
  for (const client of [localClient, remoteClient]) {
    const iris = client.runner('iris_methods');
    t.deepEqual(iris.methods, ['predict', 'predict_proba']);
    t.is(iris.signature.name, 'predict');
    t.deepEqual(iris.signature.outputs.map((o) => o.name), ['label']);
    t.deepEqual(iris.method('predict_proba').signature.outputs.map((o) => o.name), ['probabilities']);
    t.deepEqual(iris.method('predict_proba').signature.inputs.map((o) => o.name), ['features']);
  }
});

for (const where of ['local', 'remote'] as const) {
  test(`onnx (${where}): results match expected.json and onnxruntime-node run directly`, async (t) => {
    const client = where === 'local' ? localClient : remoteClient;
    for (const [name, m] of numericModels) {
      const inputs = Object.fromEntries(Object.entries(m.inputs).map(([input, spec]) => [input, inputTensor(spec)]));
      const result = await client.runner(name).run(inputs);
      const outputs = m.outputs_spec.length === 1 ? { [m.outputs_spec[0]!.name]: result } : result as Record<string, unknown>;
      t.deepEqual(Object.keys(outputs).sort(), Object.keys(m.outputs).sort(), name);
      for (const [output, want] of Object.entries(m.outputs)) {
        const got = flatOfTensor(outputs[output] as Tensor);
        const tolerance = expected.tolerance[want.dtype]!;
        const label = `${name}.${output}`;
        // The SDK hands float16 back as float32 values and safe int64 as float64 numbers.
        t.is(got.dtype, ({ float16: 'float32', int64: 'float64', uint64: 'float64' } as Record<string, string>)[want.dtype] ?? want.dtype, label);
        t.deepEqual(got.shape, want.shape, label);
        t.true(maxDiff(got.values, want.data) <= tolerance, `${label}: max |diff| vs expected.json ${maxDiff(got.values, want.data)} > ${tolerance}`);
        const ortResult = direct[name]![output]!;
        t.deepEqual(ortResult.shape, want.shape, `${label} (onnxruntime-node)`);
        t.true(maxDiff(got.values, ortResult.values) <= tolerance, `${label}: max |diff| vs onnxruntime-node ${maxDiff(got.values, ortResult.values)} > ${tolerance}`);
      }
    }
  });

  test(`onnx (${where}): string tensors in and out (greeter.onnx) give expected.json's strings`, async (t) => {
    const client = where === 'local' ? localClient : remoteClient;
    const greeter = expected.models['greeter']!;
    const names = greeter.inputs['name']!.data as unknown as string[];
    const want = greeter.outputs['greeting']!.data as unknown as string[];
    t.deepEqual(await client.runner('greeter').run({ name: names }), want);
    t.deepEqual(await client.runner('greeter').run([names[3]!]), [want[3]]);
    // onnxruntime-node on its own agrees (expected.json comes from Python onnxruntime).
    const session = await ort.InferenceSession.create(join(MODELS, greeter.file));
    try {
      const out = await session.run({ name: new ort.Tensor('string', names, [names.length]) });
      t.deepEqual(Array.from(out['greeting']!.data as string[]), want);
    } finally {
      await session.release();
    }
  });

  test(`onnx (${where}): iris methods give the label and the probabilities of expected.json`, async (t) => {
    const client = where === 'local' ? localClient : remoteClient;
    const iris = expected.models['iris']!;
    const features = inputTensor(iris.inputs['features']!);
    const labels = flatOfTensor(await client.runner('iris_methods').run(features) as Tensor);
    t.is(labels.dtype, 'float64'); // int64 labels, as JS numbers (all safe integers)
    t.deepEqual(labels.values, iris.outputs['label']!.data);
    const probabilities = flatOfTensor(await client.runner('iris_methods').method('predict_proba').run({ features }) as Tensor);
    t.deepEqual(probabilities.shape, iris.outputs['probabilities']!.shape);
    t.true(maxDiff(probabilities.values, iris.outputs['probabilities']!.data) <= expected.tolerance['float32']!);
    // One example in, one label out.
    t.is(await client.runner('iris_methods').run(Array.from(features.row(0).data as Float32Array)), iris.outputs['label']!.data[0]!);
  });

  test(`onnx (${where}): a wrong shape or dtype is INVALID_ARGUMENT before the model runs`, async (t) => {
    const client = where === 'local' ? localClient : remoteClient;
    // The SDK refuses a wrong shape before sending anything...
    const err = await t.throwsAsync(client.runner('mlp_small').run(new Tensor('float32', new Float32Array(2 * 31), [2, 31])), { instanceOf: TypeError });
    t.is(err?.message, "predict: 'x' expects shape [batch, 32], got [2, 31]");
    // ...and the runner pipeline refuses what a plain Flight client could send.
    await rejectsWith(t, client.caller.call('mlp_small', 'predict', rawBatch([listColumn('x', new Float32(), 31, new Float32Array(62), { shape: [31] })])),
      Status.INVALID_ARGUMENT, "runner 'mlp_small' method 'predict': column 'x' expected tensor<float32>[32] (FixedSizeList[32]<Float32>), received arrow.fixed_shape_tensor<float32>[31]");
    // float32 to a float16 model would lose precision: not a safe widening.
    await rejectsWith(t, client.caller.call('scaler_fp16', 'predict', rawBatch([listColumn('x', new Float32(), 4, [1, 2, 3, 4], { shape: [4] })])),
      Status.INVALID_ARGUMENT, "runner 'scaler_fp16' method 'predict': column 'x' expected tensor<float16>[4] (FixedSizeList[4]<Float16>), received arrow.fixed_shape_tensor<float32>[4]; "
      + 'cast the values to float16 first, e.g. np.asarray(x, dtype=np.float16)');
  });
}

test('onnx: a call after close is INTERNAL naming the runner, and does not take the process down', async (t) => {
  const runner = await loadOnnxRunner(join(MODELS, 'mlp_small.onnx'));
  const handle = await local(runner);
  const x = new Tensor('float32', new Float32Array(2 * 32).fill(0.5), [2, 32]);
  t.deepEqual(((await handle.run(x)) as Tensor).shape, [2, 8]);
  await runner.close!();
  const err = await t.throwsAsync(handle.run(x), { instanceOf: FlightError });
  t.is(err?.code, Status.INTERNAL);
  t.true(err?.message.startsWith("runner 'mlp_small' method 'predict' failed: "), err?.message);
});
