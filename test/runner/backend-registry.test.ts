/**
 * The backend registry as serve and its instances use it: every registered backend's
 * options are what the config checks (unknown keys named with the nearest valid one) and
 * what the docs list; an isolated instance finds its backend by name; an instance's
 * options come from the placement once, whatever the isolation.
 */
import test from 'ava';
import { join } from 'node:path';
import { instanceOptions } from '../../src/backends/onnx/index.js';
import { backendNamed, backends } from '../../src/backends/registry.js';
import { configReference } from '../../src/config/reference.js';
import { runnerEntrySchema } from '../../src/config/schema.js';
import { decidePlacement } from '../../src/scheduling/placement.js';
import { instanceOf, specOf, starterFor } from '../../src/scheduling/runner-loader.js';
import { ROOT } from '../helpers/serve-process.js';

/** The messages of the issues parsing `entry` gives, as `path: message`. */
function issues(entry: unknown): string[] {
  const parsed = runnerEntrySchema.safeParse(entry);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

test('every registered backend can be named in a config, checks its options and has a docs section', (t) => {
  t.true(backends().length >= 2);
  const reference = configReference();
  for (const backend of backends()) {
    t.is(backendNamed(backend.name), backend);
    // Its own schema refuses an unknown key, at the key's path under options.
    const unknown = issues({ path: 'anything', backend: backend.name, options: { surelyNotAnOption: 1 } })
      .filter((m) => m.startsWith('options.surelyNotAnOption'));
    t.is(unknown.length, 1, backend.name);
    t.regex(unknown[0]!, /^options\.surelyNotAnOption: unknown key; /, backend.name);
    t.true(reference.includes(`### \`runners[].options\` for the ${backend.name} backend`), backend.name);
  }
});

test('a backend name the registry lacks is refused with the registered ones; options are checked by the named backend', (t) => {
  const names = backends().map((b) => JSON.stringify(b.name)).join(', ');
  t.deepEqual(issues({ path: 'model.onnx', backend: 'tensorflow' }), [`backend: must be one of ${names}`]);
  // The named backend's schema, not the path's: js takes no options.
  t.deepEqual(issues({ path: 'model.onnx', backend: 'js', options: { intraOpNumThreads: 2 } }), ['options.intraOpNumThreads: unknown key; nothing may be set here']);
  t.deepEqual(issues({ path: 'model.onnx', options: { intraOpNumThread: 2 } }), ['options.intraOpNumThread: unknown key; did you mean "intraOpNumThreads"?']);
  t.throws(() => backendNamed('tensorflow'), { message: `unknown backend 'tensorflow'; backends: ${backends().map((b) => b.name).join(', ')}` });
});

test('an instance gets the placement\'s threads unless the options set them, and on a GPU its device with CPU as fallback', (t) => {
  const cpu = decidePlacement({ count: 2, threadsPerInstance: 3 }, { cores: 8, gpus: [] });
  t.deepEqual([0, 1].map((i) => instanceOf(cpu, i)), [{ index: 0, threads: 3 }, { index: 1, threads: 3 }]);
  const gpu = decidePlacement({ kind: 'gpu', count: 3 }, { cores: 8, gpus: [0, 1] });
  t.deepEqual([0, 1, 2].map((i) => instanceOf(gpu, i)), [{ index: 0, threads: 1, device: 0 }, { index: 1, threads: 1, device: 1 }, { index: 2, threads: 1, device: 0 }]);

  t.deepEqual(instanceOptions({ graphOptimizationLevel: 'basic' }, 'm', instanceOf(cpu, 1)), { graphOptimizationLevel: 'basic', name: 'm', intraOpNumThreads: 3 });
  t.deepEqual(instanceOptions({ intraOpNumThreads: 1 }, 'm', instanceOf(cpu, 0)), { name: 'm', intraOpNumThreads: 1 });
  t.deepEqual(instanceOptions({}, 'm', instanceOf(gpu, 1)), { name: 'm', intraOpNumThreads: 1, executionProviders: ['cuda', 'cpu'], deviceId: 1 });
});

test('the spec an isolated instance receives is plain data: it survives structured clone unchanged', (t) => {
  const entry = runnerEntrySchema.parse({
    path: join(ROOT, 'examples/models/iris.onnx'),
    name: 'iris',
    options: { version: 2, methods: { predict: { outputs: ['label'], types: { label: { kind: 'scalar', dtype: 'int64' } }, default: true } } },
  });
  const spec = specOf(entry, 'iris', decidePlacement({ count: 1, threadsPerInstance: 1 }), 0);
  t.deepEqual(structuredClone(spec), spec);
  t.deepEqual(spec, {
    backend: 'onnx',
    entry: { path: entry.path, name: 'iris', options: { version: '2', methods: { predict: { outputs: ['label'], types: { label: { kind: 'scalar', dtype: 'int64' } }, default: true } } } },
    runner: 'iris',
    instance: { index: 0, threads: 1 },
  });
});

test.serial('a worker thread loads its runner by asking the registry for the backend by name', async (t) => {
  const spec = { backend: 'tensorflow', entry: { path: join(ROOT, 'examples/models/iris.onnx'), options: {} }, runner: 'iris', instance: { index: 0, threads: 1 } };
  const err = await t.throwsAsync(starterFor('worker', () => spec)(0));
  t.regex(err!.message, /^worker thread \d+ could not load the runner: unknown backend 'tensorflow'; backends: onnx, js/);
  const started = await starterFor('worker', () => ({ ...spec, backend: 'onnx' }))(0);
  try {
    t.is(started.runner.name, 'iris');
    t.is(started.runner.platform, 'onnxruntime-node');
  } finally {
    await started.stop();
  }
});
