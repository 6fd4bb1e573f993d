/**
 * The kserve backend against a real V2 server that runs here without Python: our own
 * (startRunnerServer serves the Open Inference Protocol on its Flight port). A kserve
 * runner in front of an example ONNX model must have that model's signature and answer
 * bit-identically to the onnx runner called directly, for every example model (FP16,
 * INT64 scalars, 3-D tensors, strings as BYTES), through the path `serve` takes (config
 * schema, registry listing, ScheduledRunner). Triton and MLServer: test/interop/kserve.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RecordBatch } from 'apache-arrow';
import { kserveBackend, loadKserveRunner } from '../../src/backends/kserve/index.js';
import { loadOnnxRunner } from '../../src/backends/onnx/index.js';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { floatToHalf } from '../../src/codecs/dtypes.js';
import { runnerEntrySchema } from '../../src/config/schema.js';
import { Tensor, startRunnerServer, type Runner, type RunnerServer } from '../../src/index.js';
import { scheduledRunnersOf } from '../../src/scheduling/runner-loader.js';
import { selfSignedCert } from '../helpers/tls.js';

const MODELS = ['iris', 'tensor_model', 'mlp_small', 'scaler_fp16', 'greeter'];
let server: RunnerServer;
let address: string;
const onnx = new Map<string, Runner>();

test.before(async () => {
  for (const name of MODELS) onnx.set(name, await loadOnnxRunner(`examples/models/${name}.onnx`));
  server = await startRunnerServer({ runners: [...onnx.values()] });
  address = server.location.replace('grpc://', '');
});

// The server owns the onnx runners: closing it releases them.
test.after.always(async () => {
  await server?.close();
});

/** Three rows of inputs for a model, different per row. */
function inputsOf(name: string): Record<string, unknown> {
  const floats = (n: number, per: number) => new Tensor('float32', Float32Array.from({ length: n * per }, (_, i) => Math.sin(i + 1) * 3), [n, per]);
  switch (name) {
    case 'iris': return { features: floats(3, 4) };
    case 'tensor_model': return { image: new Tensor('float32', Float32Array.from({ length: 3 * 192 }, (_, i) => Math.cos(i)), [3, 3, 8, 8]) };
    case 'mlp_small': return { x: floats(3, 32) };
    case 'scaler_fp16': return { x: new Tensor('float16', Uint16Array.from([0.5, -2, 1000, 3.14, 0, -0.001, 7, 65000, 1, 2, 3, 4].map(floatToHalf)), [3, 4]) };
    default: return { name: ['Ada', 'Grace', 'héllo wörld'] };
  }
}

/**
 * Every column, to compare batches bit for bit: the bytes of each value buffer (tensors,
 * float16 bits included), and a string column's strings (its buffer may have slack).
 */
function bytesOf(batch: RecordBatch): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  type D = { values?: ArrayBufferView; children: D[] };
  const collect = (d: D): number[] => [
    ...(d.values ? Array.from(new Uint8Array(d.values.buffer, d.values.byteOffset, d.values.byteLength)) : []),
    ...d.children.flatMap(collect),
  ];
  for (const field of batch.schema.fields) {
    const column = batch.getChild(field.name)!;
    out[field.name] = String(field.type) === 'Utf8' ? column.toArray() : column.data.flatMap((d) => collect(d as unknown as D));
  }
  return out;
}

for (const name of MODELS) {
  test(`${name}: a kserve runner on our V2 server has the model's signature and its exact answers`, async (t) => {
    const direct = onnx.get(name)!;
    const strings = name === 'greeter' ? { types: { name: 'string' as const, greeting: 'string' as const } } : {};
    const remote = await loadKserveRunner({ url: address, model: name, ...strings });
    try {
      const [d, r] = [direct.methods[0]!.signature, remote.methods[0]!.signature];
      t.deepEqual(r.inputs, d.inputs);
      t.deepEqual(r.outputs, d.outputs);
      t.is(r.batchable, d.batchable);
      const batch = valuesToBatch(d.inputs, inputsOf(name));
      const expected = await direct.methods[0]!.invoke(batch, {}, {});
      const got = await remote.methods[0]!.invoke(batch, {}, {});
      t.is(got.numRows, 3);
      t.deepEqual(got.schema.fields.map(String), expected.schema.fields.map(String));
      t.deepEqual(bytesOf(got), bytesOf(expected));
    } finally {
      await remote.close?.();
    }
  });
}

test('a config entry goes the way serve takes it: schema, registry listing, scheduled runner', async (t) => {
  const entry = runnerEntrySchema.parse({
    path: `grpc://${address}`, backend: 'kserve', name: 'relay', options: { model: 'iris' },
    scheduling: { instances: { count: 2 }, batching: { maxQueueDelayMs: 1 } },
  });
  t.is(entry.backend, 'kserve');
  const [pending] = await scheduledRunnersOf(entry, () => ({}));
  t.is(pending!.name, 'relay');
  const relay = await pending!.load();
  try {
    t.is(relay.platform, 'kserve');
    const batch = valuesToBatch(relay.methods[0]!.signature.inputs, inputsOf('iris'));
    const [got, expected] = await Promise.all([
      relay.methods[0]!.invoke(batch, {}, {}),
      onnx.get('iris')!.methods[0]!.invoke(batch, {}, {}),
    ]);
    t.deepEqual(bytesOf(got), bytesOf(expected));
  } finally {
    await relay.close?.();
  }
});

test('config mistakes are refused with the key and what would be right', async (t) => {
  const typo = runnerEntrySchema.safeParse({ path: `grpc://${address}`, backend: 'kserve', options: { model: 'iris', timeoutMS: 5 } });
  t.false(typo.success);
  t.regex(JSON.stringify(typo.error!.issues), /options.*timeoutMS.*did you mean \\"timeoutMs\\"/);
  const noModel = runnerEntrySchema.safeParse({ path: `grpc://${address}`, backend: 'kserve' });
  t.false(noModel.success);
  t.regex(JSON.stringify(noModel.error!.issues), /"model"\].*required/);
  const entry = { path: 'http://127.0.0.1:8000', options: { model: 'iris' } };
  await t.throwsAsync(kserveBackend.list(entry), { message: /expected the V2 server's gRPC address, grpc:\/\/host:port or grpc\+tls:\/\/host:port; got "http:\/\/127.0.0.1:8000"/ });
  await t.throwsAsync(kserveBackend.list({ path: `grpc://${address}`, options: { model: 'iris', tokenEnv: 'KSERVE_TEST_UNSET_TOKEN' } }), {
    message: /environment variable KSERVE_TEST_UNSET_TOKEN is not set/,
  });
});

test('a model the server lacks, or a server that is not there, fails the load naming both', async (t) => {
  await t.throwsAsync(loadKserveRunner({ url: address, model: 'nope' }), { message: new RegExp(`kserve model 'nope' at ${address}: cannot read its metadata: NOT_FOUND`) });
  const closed = await startRunnerServer({ runners: [] });
  const gone = closed.location.replace('grpc://', '');
  await closed.close();
  await t.throwsAsync(loadKserveRunner({ url: gone, model: 'iris', timeoutMs: 5000 }), { message: new RegExp(`kserve model 'iris' at ${gone}: cannot read its metadata: UNAVAILABLE`) });
});

test('grpc+tls:// with a CA file and a token from the environment reach a server that requires both', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kserve-tls-'));
  const { cert, key } = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  writeFileSync(join(dir, 'ca.crt'), cert);
  const secure = await startRunnerServer({
    runners: [await loadOnnxRunner('examples/models/iris.onnx')],
    tls: { certChain: cert, privateKey: key },
    auth: { validateToken: (token) => (token === 's3cret' ? 'relay' : undefined) },
  });
  const port = new URL(secure.location.replace(/^grpc\+tls:/, 'https:')).port;
  const entry = (tokenEnv: string) => ({ path: `grpc+tls://127.0.0.1:${port}`, options: { model: 'iris', tokenEnv, caFile: join(dir, 'ca.crt') } });
  process.env['KSERVE_TEST_TOKEN'] = 's3cret';
  process.env['KSERVE_TEST_WRONG_TOKEN'] = 'guess';
  try {
    const relay = await kserveBackend.load(entry('KSERVE_TEST_TOKEN'), 'iris', { index: 0, threads: 1 });
    const batch = valuesToBatch(relay.methods[0]!.signature.inputs, inputsOf('iris'));
    t.deepEqual(bytesOf(await relay.methods[0]!.invoke(batch, {}, {})), bytesOf(await onnx.get('iris')!.methods[0]!.invoke(batch, {}, {})));
    await relay.close?.();
    // The server refuses a wrong token: the load says so, naming the model.
    await t.throwsAsync(kserveBackend.load(entry('KSERVE_TEST_WRONG_TOKEN'), 'iris', { index: 0, threads: 1 }), {
      message: new RegExp(`kserve model 'iris' at 127.0.0.1:${port}: cannot read its metadata: UNAUTHENTICATED`),
    });
    // A CA file needs a TLS address.
    await t.throwsAsync(kserveBackend.list({ path: `grpc://127.0.0.1:${port}`, options: { model: 'iris', caFile: join(dir, 'ca.crt') } }), { message: /a CA file needs a grpc\+tls:\/\/ address/ });
  } finally {
    delete process.env['KSERVE_TEST_TOKEN'];
    delete process.env['KSERVE_TEST_WRONG_TOKEN'];
    await secure.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an answer larger than maxAnswerBytes fails its call RESOURCE_EXHAUSTED, naming the model', async (t) => {
  const relay = await loadKserveRunner({ url: address, model: 'mlp_small', maxAnswerBytes: 1000 });
  try {
    const method = relay.methods[0]!;
    // 64 rows of y float32[8] are 2048 bytes of raw output alone.
    const batch = valuesToBatch(method.signature.inputs, { x: new Tensor('float32', new Float32Array(64 * 32), [64, 32]) });
    const err = await t.throwsAsync(method.invoke(batch, {}, {}), { message: new RegExp(`kserve model 'mlp_small' at ${address} failed: RESOURCE_EXHAUSTED`) });
    t.is((err as { code?: number }).code, 8);
    // A small answer still comes through on the same runner.
    const one = valuesToBatch(method.signature.inputs, { x: new Tensor('float32', new Float32Array(32), [1, 32]) });
    t.is((await method.invoke(one, {}, {})).numRows, 1);
  } finally {
    await relay.close?.();
  }
});

test('mutual TLS: certFile and keyFile present a client certificate to a server that requires one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'kserve-mtls-'));
  const server = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  // A self-signed client certificate is its own CA: the server trusts exactly it.
  const client = selfSignedCert(dir, 'relay-client', 'DNS:relay-client');
  selfSignedCert(dir, 'stranger', 'DNS:stranger');
  writeFileSync(join(dir, 'ca.crt'), server.cert);
  const secure = await startRunnerServer({
    runners: [await loadOnnxRunner('examples/models/iris.onnx')],
    tls: { certChain: server.cert, privateKey: server.key, rootCerts: client.cert },
  });
  const port = new URL(secure.location.replace(/^grpc\+tls:/, 'https:')).port;
  const entry = (options: Record<string, string>) => ({ path: `grpc+tls://127.0.0.1:${port}`, options: { model: 'iris', caFile: join(dir, 'ca.crt'), ...options } });
  try {
    const relay = await kserveBackend.load(entry({ certFile: join(dir, 'relay-client.crt'), keyFile: join(dir, 'relay-client.key') }), 'iris', { index: 0, threads: 1 });
    const batch = valuesToBatch(relay.methods[0]!.signature.inputs, inputsOf('iris'));
    t.deepEqual(bytesOf(await relay.methods[0]!.invoke(batch, {}, {})), bytesOf(await onnx.get('iris')!.methods[0]!.invoke(batch, {}, {})));
    await relay.close?.();
    // Without a certificate, or with one the server does not trust, the load fails naming the model.
    for (const options of [{}, { certFile: join(dir, 'stranger.crt'), keyFile: join(dir, 'stranger.key') }] as Record<string, string>[]) {
      await t.throwsAsync(kserveBackend.load(entry(options), 'iris', { index: 0, threads: 1 }), {
        message: new RegExp(`kserve model 'iris' at 127.0.0.1:${port}: cannot read its metadata: UNAVAILABLE`),
      });
    }
    // Half a key pair, or a client certificate on a plaintext address, is a config error naming the key.
    await t.throwsAsync(kserveBackend.list(entry({ certFile: join(dir, 'relay-client.crt') })), { message: /needs its private key too \(options.keyFile\)/ });
    await t.throwsAsync(kserveBackend.list(entry({ keyFile: join(dir, 'relay-client.key') })), { message: /needs its client certificate too \(options.certFile\)/ });
    await t.throwsAsync(kserveBackend.list({ path: `grpc://127.0.0.1:${port}`, options: { model: 'iris', certFile: join(dir, 'relay-client.crt'), keyFile: join(dir, 'relay-client.key') } }), {
      message: /a client certificate needs a grpc\+tls:\/\/ address/,
    });
    await t.throwsAsync(kserveBackend.list(entry({ certFile: join(dir, 'missing.crt'), keyFile: join(dir, 'relay-client.key') })), { message: /cannot read .*missing.crt/ });
  } finally {
    await secure.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
