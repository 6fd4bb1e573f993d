/**
 * What a full or abandoned queue does: a flood beyond capacity is refused at once with
 * RESOURCE_EXHAUSTED while admitted calls complete within their deadlines, and queued
 * bytes stay bounded; a call whose deadline passes while queued, or that is cancelled,
 * leaves the queue without its rows ever reaching the backend. The backend is an
 * in-process runner waiting at a gate the test opens, so "slow" is decided, not timed.
 */
import test from 'ava';
import { local } from '../../src/client/index.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';
import { gatedRunner } from './fixtures/gated-runner.js';
import { outcome, serveScheduled, sleep, waitFor } from './fixtures/helpers.js';

const BYTES_PER_ROW = 8; // one float64 column

test('a flood beyond capacity gets RESOURCE_EXHAUSTED at once; admitted calls complete within their deadlines', async (t) => {
  const backend = gatedRunner();
  let queuedBytesMax = 0;
  const served = await serveScheduled('gated', 1, inProcessStarter(backend.load), {
    batching: { maxBatchRows: 4, maxQueueRows: 8 },
  }, { queueDepth: (rows) => { queuedBytesMax = Math.max(queuedBytesMax, rows * BYTES_PER_ROW); } });
  t.teardown(async () => { backend.open(); await served.close(); }); // open: a failed test must not leave calls waiting
  const gated = served.client.runner('gated').withOptions({ deadline: 60_000 });

  backend.close();
  const settled: number[] = [];
  const calls = Array.from({ length: 40 }, (_, i) => outcome(gated.run(i)).finally(() => settled.push(i)));
  // While the backend holds its first call, one call runs and 8 rows queue: the other 31 are refused.
  await waitFor('the excess calls to be refused', () => settled.length === 31);
  const refused = await Promise.all(settled.map((i) => calls[i]!));
  for (const r of refused) {
    t.false(r.ok);
    if (!r.ok) {
      t.is(r.code, 'RESOURCE_EXHAUSTED');
      t.regex(r.message, /queue full \(8 rows waiting, limit 8\); retry later/);
    }
  }
  t.is(backend.seen.length, 1, 'refusals came while the backend still held its first call');

  backend.open();
  const results = await Promise.all(calls);
  const admitted = results.flatMap((r, i) => (r.ok ? [{ i, y: r.value }] : []));
  t.is(admitted.length, 9);
  for (const { i, y } of admitted) t.is(y, 2 * i, `admitted call ${i} succeeded before its deadline`);
  const backendRows = backend.seen.flatMap((s) => s.xs);
  t.deepEqual([...backendRows].sort((a, b) => a - b), admitted.map((a) => a.i).sort((a, b) => a - b), 'only admitted rows reached the backend');
  t.true(queuedBytesMax <= 8 * BYTES_PER_ROW, `queued input stayed within maxQueueRows (peak ${queuedBytesMax} bytes)`);
  t.is(queuedBytesMax, 8 * BYTES_PER_ROW, 'the queue did fill');
});

test('a call whose deadline passes while queued fails DEADLINE_EXCEEDED without reaching the backend', async (t) => {
  const backend = gatedRunner();
  const scheduled = await ScheduledRunner.start('gated', 1, inProcessStarter(backend.load), { batching: { enabled: false } });
  t.teardown(async () => { backend.open(); await scheduled.close(); });
  const gated = await local(scheduled);

  backend.close();
  const first = gated.run(1);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const late = outcome(gated.withOptions({ deadline: 100 }).run(777));
  // In process, as through a server, the caller is answered at its deadline, while the
  // instance is still busy (not once the queue moves).
  const result = await late;
  t.false(result.ok);
  if (!result.ok) {
    t.is(result.code, 'DEADLINE_EXCEEDED');
    t.is(result.message, "deadline passed before runner 'gated' method 'work' answered");
  }
  t.deepEqual(backend.seen.map((s) => s.xs), [[1]], 'still busy with the first call');
  backend.open();
  t.is(await first, 2);
  t.deepEqual(backend.seen.map((s) => s.xs), [[1]], 'the expired call never reached the backend');
  t.is(scheduled.batchers.get('work')!.depth, 0);
});

test('remote: a queued call past its gRPC deadline fails DEADLINE_EXCEEDED and never reaches the backend', async (t) => {
  const backend = gatedRunner();
  const served = await serveScheduled('gated', 1, inProcessStarter(backend.load), { batching: { enabled: false } });
  t.teardown(async () => { backend.open(); await served.close(); }); // open: a failed test must not leave calls waiting
  const gated = served.client.runner('gated');
  const batcher = served.scheduled.batchers.get('work')!;

  backend.close();
  const first = gated.run(1);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const late = await outcome(gated.withOptions({ deadline: 200 }).run(777));
  t.false(late.ok);
  if (!late.ok) t.is(late.code, 'DEADLINE_EXCEEDED');
  await waitFor('the expired call to leave the queue', () => batcher.depth === 0);
  backend.open();
  t.is(await first, 2);
  t.deepEqual(backend.seen.map((s) => s.xs), [[1]], 'the expired call never reached the backend');
});

test('remote: a cancelled call is removed from the queue; the backend never sees its rows', async (t) => {
  const backend = gatedRunner();
  const served = await serveScheduled('gated', 1, inProcessStarter(backend.load), { batching: { enabled: false } });
  t.teardown(async () => { backend.open(); await served.close(); }); // open: a failed test must not leave calls waiting
  const gated = served.client.runner('gated');
  const batcher = served.scheduled.batchers.get('work')!;

  backend.close();
  const first = gated.run(1);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const abort = new AbortController();
  const cancelled = outcome(gated.withOptions({ signal: abort.signal }).run(Float64Array.from([555, 556])));
  await waitFor('the second call to queue', () => batcher.depth === 2);
  abort.abort();
  const result = await cancelled;
  t.false(result.ok);
  if (!result.ok) t.is(result.code, 'CANCELLED');
  await waitFor('the cancelled call to leave the queue', () => batcher.depth === 0);
  backend.open();
  t.is(await first, 2);
  t.is(await gated.run(3), 6, 'the queue still serves');
  t.deepEqual(backend.seen.map((s) => s.xs), [[1], [3]], 'the cancelled rows never reached the backend');
});

test('in process: an aborted call is removed from the queue', async (t) => {
  const backend = gatedRunner();
  const scheduled = await ScheduledRunner.start('gated', 1, inProcessStarter(backend.load), { batching: { enabled: false } });
  t.teardown(async () => { backend.open(); await scheduled.close(); });
  const gated = await local(scheduled);
  backend.close();
  const first = gated.run(1);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const abort = new AbortController();
  const cancelled = outcome(gated.withOptions({ signal: abort.signal }).run(9));
  await waitFor('the second call to queue', () => scheduled.batchers.get('work')!.depth === 1);
  abort.abort();
  const result = await cancelled;
  t.false(result.ok);
  if (!result.ok) t.is(result.code, 'CANCELLED');
  t.is(scheduled.batchers.get('work')!.depth, 0);
  backend.open();
  t.is(await first, 2);
  t.deepEqual(backend.seen.map((s) => s.xs), [[1]]);
});

test('in process: many queued calls whose deadlines pass all fail DEADLINE_EXCEEDED without reaching the backend', async (t) => {
  const backend = gatedRunner();
  const scheduled = await ScheduledRunner.start('gated', 1, inProcessStarter(backend.load), { batching: { enabled: false } });
  t.teardown(async () => { backend.open(); await scheduled.close(); });
  const gated = await local(scheduled);
  backend.close();
  const first = gated.run(1);
  await waitFor('the first call to reach the backend', () => backend.seen.length === 1);
  const late = Array.from({ length: 2000 }, (_, i) => outcome(gated.withOptions({ deadline: 100 }).run(1000 + i)));
  await sleep(300); // past every queued call's deadline, with the instance still busy
  backend.open();
  t.is(await first, 2);
  const results = await Promise.all(late);
  t.deepEqual([...new Set(results.map((r) => (r.ok ? 'OK' : r.code)))], ['DEADLINE_EXCEEDED']);
  t.deepEqual(backend.seen.map((s) => s.xs), [[1]], 'no expired call reached the backend');
  t.is(scheduled.batchers.get('work')!.depth, 0);
});
