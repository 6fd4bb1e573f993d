/**
 * The Batcher with in-process instances, unit level: merging respects maxBatchRows,
 * calls with different params never share a backend call, reaching a preferred batch
 * size dispatches at once, and with batching disabled each call is one invocation.
 * The backend waits at a gate, so calls pile up in the queue deterministically.
 */
import { getEventListeners } from 'node:events';
import test from 'ava';
import type { RecordBatch } from 'apache-arrow';
import { valuesToBatch } from '../../src/codecs/columns.js';
import type { BatchingOptions } from '../../src/scheduling/batcher.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';
import type { CallParams, InvokeContext } from '../../src/runner/runner.js';
import { gatedRunner, type GatedRunner } from './fixtures/gated-runner.js';
import { waitFor } from './fixtures/helpers.js';

interface Setup {
  backend: GatedRunner;
  scheduled: ScheduledRunner;
  /** Submits xs as one call; resolves with the doubled values. */
  call(xs: number[], params?: CallParams, ctx?: InvokeContext): Promise<number[]>;
}

async function setup(t: { teardown(fn: () => Promise<void>): void }, instances: number, batching: Partial<BatchingOptions>): Promise<Setup> {
  const backend = gatedRunner();
  const scheduled = await ScheduledRunner.start('gated', instances, inProcessStarter(backend.load), { batching });
  t.teardown(async () => { backend.open(); await scheduled.close(); });
  const method = scheduled.methods[0]!;
  const call = async (xs: number[], params: CallParams = {}, ctx: InvokeContext = {}) => {
    const batch: RecordBatch = valuesToBatch(method.signature.inputs, { x: Float64Array.from(xs) });
    const out = await method.invoke(batch, params, ctx);
    return Array.from(out.getChild('y')!.toArray() as Float64Array);
  };
  return { backend, scheduled, call };
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

test('merged backend calls never exceed maxBatchRows, and each caller gets its own rows', async (t) => {
  const { backend, call } = await setup(t, 1, { maxBatchRows: 8, maxQueueDelayMs: 0 });
  backend.close();
  const blocker = call([-1]);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  // 10 calls of 3 rows queue behind it.
  const calls = range(0, 10).map((i) => call(range(i * 10, 3)));
  backend.open();
  t.deepEqual(await blocker, [-2]);
  const results = await Promise.all(calls);
  results.forEach((ys, i) => t.deepEqual(ys, range(i * 10, 3).map((x) => 2 * x), `call ${i}`));
  const merged = backend.seen.slice(1);
  for (const s of merged) t.true(s.xs.length <= 8, `a backend call of ${s.xs.length} rows`);
  t.true(merged.some((s) => s.xs.length > 3), 'calls were merged');
  t.deepEqual(merged.flatMap((s) => s.xs), range(0, 10).flatMap((i) => range(i * 10, 3)), 'rows ran once each, in arrival order');
});

test('calls with different params never share a backend call', async (t) => {
  const { backend, call } = await setup(t, 1, { maxBatchRows: 64, maxQueueDelayMs: 0 });
  backend.close();
  const blocker = call([-1], { k: 0 });
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  // x encodes the params: k * 1000 + i.
  const calls = range(0, 12).map((i) => {
    const k = 1 + (i % 3);
    return call([k * 1000 + i], { k });
  });
  backend.open();
  await blocker;
  const results = await Promise.all(calls);
  results.forEach((ys, i) => t.deepEqual(ys, [2 * ((1 + (i % 3)) * 1000 + i)]));
  for (const s of backend.seen.slice(1)) {
    const k = (s.params as { k: number }).k;
    t.true(s.xs.every((x) => Math.floor(x / 1000) === k), `backend call with params k=${k} ran rows ${s.xs.join(', ')}`);
  }
  t.true(backend.seen.slice(1).some((s) => s.xs.length > 1), 'calls with the same params were merged');
  t.is(backend.seen.length, 1 + 3, 'one backend call per distinct params');
});

test('reaching a preferred batch size dispatches at once instead of waiting for more rows', async (t) => {
  for (const preferred of [[4], []]) {
    // Instance 0 holds a first call; the rest queue for instance 1. A long maxQueueDelayMs
    // and a fast arrival rate make the batcher wait for more rows unless a preferred size is reached.
    const { backend, scheduled, call } = await setup(t, 2, { maxBatchRows: 64, maxQueueDelayMs: 60_000, preferredBatchRows: preferred });
    backend.close();
    const blocker = call([-1]);
    await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
    const abort = new AbortController();
    const queued = range(0, 4).map((i) => call([i], {}, { signal: abort.signal }).catch((err: Error) => err));
    // Dispatch is synchronous within the call that completes a preferred batch.
    if (preferred.length) {
      t.deepEqual(backend.seen.slice(1).map((s) => s.xs), [[0, 1, 2, 3]], 'dispatched the 4 rows at once');
      backend.open();
      t.deepEqual(await Promise.all(queued), [[0], [2], [4], [6]]);
    } else {
      t.is(backend.seen.length, 1, 'without a preferred size, the batcher holds the rows for more');
      t.is(scheduled.batchers.get('work')!.depth, 4);
      abort.abort();
      for (const r of await Promise.all(queued)) t.regex(String(r), /call cancelled/);
      backend.open();
    }
    await blocker;
  }
});

test('batching disabled: one backend call per call', async (t) => {
  const { backend, call } = await setup(t, 1, { enabled: false });
  backend.close();
  const blocker = call([-1]);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const calls = range(1, 6).map((n) => call(range(n * 100, n)));
  backend.open();
  await blocker;
  const results = await Promise.all(calls);
  results.forEach((ys, i) => t.deepEqual(ys, range((i + 1) * 100, i + 1).map((x) => 2 * x)));
  t.deepEqual(backend.seen.slice(1).map((s) => s.xs), range(1, 6).map((n) => range(n * 100, n)), 'each call ran alone, whole');
});

test('a settled call leaves nothing on its signal: a long stream shares one signal across its batches', async (t) => {
  // One DoExchange passes one AbortSignal with every batch it submits. A listener left
  // behind per batch would hold that batch's call (and its output) until the stream ends,
  // and past 10 Node warns of a leak.
  const { backend, call } = await setup(t, 1, { maxBatchRows: 8, maxQueueDelayMs: 0 });
  backend.open();
  const stream = new AbortController();
  for (let i = 0; i < 30; i++) t.deepEqual(await call([i], {}, { signal: stream.signal }), [2 * i]);
  t.is(getEventListeners(stream.signal, 'abort').length, 0, 'abort listeners left after 30 settled calls');

  // Cancelling still works while a call is queued, and its listener goes with it.
  backend.close();
  const blocker = call([-1]);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 31);
  const cancelled = call([1], {}, { signal: stream.signal });
  stream.abort();
  await t.throwsAsync(cancelled, { message: /call cancelled/ });
  t.is(getEventListeners(stream.signal, 'abort').length, 0);
  backend.open();
  t.deepEqual(await blocker, [-2]);
});

test('close() drains: it waits for queued calls, refuses new ones, and settles once the queue is empty', async (t) => {
  const { backend, scheduled, call } = await setup(t, 1, { maxBatchRows: 1, maxQueueDelayMs: 0 });
  backend.close();
  const blocker = call([1]);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const queued = call([2]);
  let closed = false;
  const closing = scheduled.close().then(() => { closed = true; });
  await new Promise((r) => setImmediate(r));
  t.false(closed, 'close() waits while a call is queued');
  await t.throwsAsync(call([3]), { message: /draining/ }, 'a call after close() is refused');
  backend.open();
  t.deepEqual(await blocker, [2]);
  t.deepEqual(await queued, [4]);
  await closing;
  t.true(closed);
});
