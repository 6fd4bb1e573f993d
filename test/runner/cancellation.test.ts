/**
 * CallCancellation: aborted once with its reason; watchers told once (at once when
 * watching after the abort, and a watcher watching again is told once); the AbortSignal
 * made on demand aborts with it, whether made before or after the abort.
 */
import test from 'ava';
import { FlightError, Status } from '../../src/flight/index.js';
import { CallCancellation, CancellableInvokeContext, type CancellationWatcher } from '../../src/runner/cancellation.js';

const watcher = () => {
  const told: CallCancellation[] = [];
  const w: CancellationWatcher = { cancelled: (c) => told.push(c) };
  return { w, told };
};

test('watchers are told once, with the reason set; a watcher watching twice is told once', (t) => {
  const c = new CallCancellation();
  const a = watcher();
  const b = watcher();
  c.watch(a.w);
  c.watch(a.w);
  c.watch(b.w);
  t.false(c.aborted);
  t.is(c.reason, undefined);
  const reason = new FlightError(Status.CANCELLED, 'client cancelled the call');
  c.abort(reason);
  c.abort(new FlightError(Status.DEADLINE_EXCEEDED, 'later, ignored'));
  t.true(c.aborted);
  t.is(c.reason, reason);
  t.deepEqual(a.told, [c]);
  t.deepEqual(b.told, [c]);
  const late = watcher();
  c.watch(late.w);
  t.deepEqual(late.told, [c], 'watching an aborted cancellation tells at once');
});

test('the signal, made before or after the abort, aborts with its reason; an invoke context reads it through', (t) => {
  const before = new CallCancellation();
  const signal = before.signal;
  t.false(signal.aborted);
  const reason = new FlightError(Status.DEADLINE_EXCEEDED, 'Deadline exceeded');
  before.abort(reason);
  t.true(signal.aborted);
  t.is(signal.reason, reason);

  const after = new CallCancellation();
  after.abort(reason);
  t.true(after.signal.aborted);
  t.is(after.signal.reason, reason);

  const deadline = new Date(Date.now() + 1000);
  const ctx = new CancellableInvokeContext(after, deadline);
  t.is(ctx.signal, after.signal);
  t.is(ctx.deadline, deadline);
  t.is(ctx.cancellation, after);
});
