/** Observers that turn what batchers do into stats (and, with metrics, into series). */
import type { StatsRegistry } from '../runner/stats.js';
import type { BatcherObserver } from './batcher.js';

/** Records each backend batch, and each answered call's time by phase, in the method's stats. */
export function statsObserver(stats: StatsRegistry, runner: string, method: string): BatcherObserver {
  const counters = stats.of(runner, method);
  return {
    batch: (rows) => counters.recordBatch(rows),
    call: (queueMs, inputMs, computeMs, outputMs) => counters.recordPhases(queueMs, inputMs, computeMs, outputMs),
  };
}

/** Calls every observer's hooks. */
export function combineObservers(...observers: BatcherObserver[]): BatcherObserver {
  // Only the hooks some observer has: the batcher skips a missing hook, and calls the
  // others on every call.
  const combined: BatcherObserver = {};
  const batch = observers.filter((o) => o.batch);
  const queueDepth = observers.filter((o) => o.queueDepth);
  const call = observers.filter((o) => o.call);
  if (batch.length) combined.batch = (rows, ms, queueMs) => { for (const o of batch) o.batch!(rows, ms, queueMs); };
  if (queueDepth.length) combined.queueDepth = (rows) => { for (const o of queueDepth) o.queueDepth!(rows); };
  if (call.length) combined.call = (queueMs, inputMs, computeMs, outputMs) => { for (const o of call) o.call!(queueMs, inputMs, computeMs, outputMs); };
  return combined;
}
