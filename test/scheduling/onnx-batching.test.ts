/**
 * Adaptive batching end to end with a real model: 64 concurrent remote callers of
 * mlp_small, served by 2 instances (in process, in worker threads, in child processes),
 * each get exactly their own rows back (checked against onnxruntime-node run directly
 * on the same input), rows were merged, and a call larger than maxBatchRows is split
 * and comes back whole and in order.
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { Tensor } from '../../src/codecs/tensor.js';
import type { MethodStatsJSON } from '../../src/runner/stats.js';
import { MLP, MLP_SPEC, serveScheduled, starterFor, type Isolation } from './fixtures/helpers.js';

const session = await ort.InferenceSession.create(MLP);

/** Deterministic inputs: caller `i` sends `rows` rows of 32 features unique to it. */
function inputOf(i: number, rows: number): Float32Array {
  return Float32Array.from({ length: rows * 32 }, (_, k) => Math.sin(i * 1000 + k) * 2);
}

async function direct(x: Float32Array, rows: number): Promise<Float32Array> {
  const out = await session.run({ x: new ort.Tensor('float32', x, [rows, 32]) });
  return out['y']!.data as Float32Array;
}

function assertClose(t: { true(v: boolean, m?: string): void }, got: Float32Array, want: Float32Array, what: string): void {
  t.true(got.length === want.length, `${what}: ${got.length} values, expected ${want.length}`);
  let worst = 0;
  for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(got[k]! - want[k]!) / Math.max(1, Math.abs(want[k]!)));
  // Merged batches may round differently from a lone call; other rows' values would be off by far more.
  t.true(worst < 1e-4, `${what}: differs from onnxruntime by ${worst}`);
}

const isolations: Isolation[] = ['in-process', 'worker', 'process'];

for (const isolation of isolations) {
  test(`${isolation}: 64 concurrent callers each get their own rows; calls were merged`, async (t) => {
    const served = await serveScheduled('mlp_small', 2, starterFor(isolation, MLP_SPEC), {
      batching: { maxBatchRows: 64, maxQueueDelayMs: 20 },
    });
    t.teardown(() => served.close());
    const mlp = served.client.runner('mlp_small');
    const rowsOf = (i: number) => 1 + (i % 4);
    const results = await Promise.all(Array.from({ length: 64 }, async (_, i) => {
      const x = inputOf(i, rowsOf(i));
      return { i, got: (await mlp.run(new Tensor('float32', x, [rowsOf(i), 32]))) as Tensor, want: await direct(x, rowsOf(i)) };
    }));
    for (const { i, got, want } of results) {
      t.deepEqual(got.shape, [rowsOf(i), 8], `caller ${i}`);
      assertClose(t, got.data as Float32Array, want, `caller ${i}`);
    }
    const stats = (await served.action('stats'))['runners'] as Record<string, Record<string, MethodStatsJSON>>;
    const predict = stats['mlp_small']!['predict']!;
    t.is(predict.calls, 64);
    t.is(predict.errors, 0);
    t.true(predict.batches < predict.calls, `rows were merged: ${predict.batches} backend batches for ${predict.calls} calls`);
    t.true(predict.batchRows.max > 1, `a backend batch held more than one row (max ${predict.batchRows.max})`);
    t.true(predict.batchRows.max <= 64, 'no batch exceeded maxBatchRows');
  });

  test(`${isolation}: a call larger than maxBatchRows is split and comes back whole and in order`, async (t) => {
    const served = await serveScheduled('mlp_small', 2, starterFor(isolation, MLP_SPEC), { batching: { maxBatchRows: 16 } });
    t.teardown(() => served.close());
    const rows = 100;
    const x = inputOf(7, rows);
    const got = (await served.client.runner('mlp_small').run(new Tensor('float32', x, [rows, 32]))) as Tensor;
    t.deepEqual(got.shape, [rows, 8]);
    assertClose(t, got.data as Float32Array, await direct(x, rows), 'split call');
    const stats = (await served.action('stats'))['runners'] as Record<string, Record<string, MethodStatsJSON>>;
    const predict = stats['mlp_small']!['predict']!;
    t.is(predict.calls, 1);
    t.is(predict.batches, Math.ceil(rows / 16), 'one backend batch per 16-row piece');
    t.is(predict.batchRows.max, 16);
  });
}
