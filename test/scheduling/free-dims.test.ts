/**
 * Batching never merges what cannot be merged (issue #10, item 4): a sequence model
 * x[N, T, 4] -> y[N, 4] = mean of x over T, where T is free. Concurrent callers each
 * sending rows of their own length T must all get their right answers (calls are merged
 * only with calls whose rows have the same shape); a batch whose own rows differ in
 * shape, which no ONNX tensor can hold, is the caller's INVALID_ARGUMENT, never INTERNAL.
 * The model is made here by onnx's Python helper (the project's venv), and the expected
 * means are computed here by hand.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { Tensor } from '../../src/codecs/tensor.js';
import type { MethodStatsJSON } from '../../src/runner/stats.js';
import { outcome, serveScheduled, specFor, starterFor } from './fixtures/helpers.js';

const PYTHON = fileURLToPath(new URL('../../.venv/bin/python', import.meta.url));
const MAKE_MODEL = `
import sys, onnx
from onnx import helper, TensorProto
x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 'T', 4])
y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 4])
node = helper.make_node('ReduceMean', ['x'], ['y'], axes=[1], keepdims=0)
graph = helper.make_graph([node], 'sequence_mean', [x], [y])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)], ir_version=9)
onnx.checker.check_model(model)
onnx.save(model, sys.argv[1])
`;

const dir = mkdtempSync(join(tmpdir(), 'free-dims-'));
const MODEL = join(dir, 'sequence_mean.onnx');
execFileSync(PYTHON, ['-c', MAKE_MODEL, MODEL]);
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** `rows` sequences of length `t`, 4 features, values unique to (caller, call). */
function sequences(caller: number, call: number, rows: number, t: number): Float32Array {
  return Float32Array.from({ length: rows * t * 4 }, (_, k) => ((caller * 7919 + call * 104729 + k * 31) % 1000) / 100);
}

/** The mean over T of x[rows, t, 4], by hand. */
function meanOverT(x: Float32Array, rows: number, t: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < 4; f++) {
      let sum = 0;
      for (let s = 0; s < t; s++) sum += x[(r * t + s) * 4 + f]!;
      out.push(sum / t);
    }
  }
  return out;
}

test('four concurrent callers with sequences of different lengths T all get their right means; same-T calls still merge', async (t) => {
  const served = await serveScheduled('sequence_mean', 1, starterFor('in-process', specFor('onnx', MODEL, 'sequence_mean', { intraOpNumThreads: 1 })), {
    batching: { maxBatchRows: 64, maxQueueDelayMs: 20 },
  });
  t.teardown(() => served.close());
  const model = served.client.runner('sequence_mean');
  const lengths = [2, 3, 5, 7];
  const callsEach = 12;
  const results = await Promise.all(lengths.flatMap((len, caller) => Array.from({ length: callsEach }, async (_, call) => {
    const rows = 1 + (call % 3);
    const x = sequences(caller, call, rows, len);
    const got = await outcome(model.run(new Tensor('float32', x, [rows, len, 4])));
    return { what: `caller T=${len} call ${call}`, rows, got, want: meanOverT(x, rows, len) };
  })));
  for (const { what, rows, got, want } of results) {
    if (!got.ok) {
      t.fail(`${what}: ${got.code} ${got.message}`);
      continue;
    }
    const y = got.value as Tensor;
    t.deepEqual(y.shape, [rows, 4], what);
    const worst = Math.max(...want.map((w, k) => Math.abs((y.data as Float32Array)[k]! - w)));
    t.true(worst < 1e-4, `${what}: differs from the mean by ${worst}`);
  }
  const stats = (await served.action('stats'))['runners'] as Record<string, Record<string, MethodStatsJSON>>;
  const predict = Object.values(stats['sequence_mean']!)[0]!;
  t.is(predict.calls, lengths.length * callsEach);
  t.is(predict.errors, 0);
  t.true(predict.batches < predict.calls, `calls with the same T were merged: ${predict.batches} backend batches for ${predict.calls} calls`);
});

test('a batch whose own rows have different lengths T is INVALID_ARGUMENT naming the input, and the server keeps serving', async (t) => {
  const served = await serveScheduled('sequence_mean', 1, starterFor('in-process', specFor('onnx', MODEL, 'sequence_mean', { intraOpNumThreads: 1 })));
  t.teardown(() => served.close());
  const model = served.client.runner('sequence_mean');
  const a = sequences(0, 0, 1, 2);
  const b = sequences(0, 1, 1, 3);
  const ragged = await outcome(model.run([new Tensor('float32', a, [2, 4]), new Tensor('float32', b, [3, 4])]));
  t.false(ragged.ok);
  if (!ragged.ok) {
    t.is(ragged.code, 'INVALID_ARGUMENT');
    t.regex(ragged.message, /input 'x' has rows of different shapes/);
  }
  const y = (await model.run(new Tensor('float32', b, [1, 3, 4]))) as Tensor;
  const want = meanOverT(b, 1, 3);
  t.deepEqual(y.shape, [1, 4]);
  t.true(want.every((w, k) => Math.abs((y.data as Float32Array)[k]! - w) < 1e-4), `${String(Array.from(y.data as Float32Array))} vs ${String(want)}`);
});
