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
  return {
    batch: (rows, ms, queueMs) => { for (const o of observers) o.batch?.(rows, ms, queueMs); },
    queueDepth: (rows) => { for (const o of observers) o.queueDepth?.(rows); },
    call: (queueMs, inputMs, computeMs, outputMs) => { for (const o of observers) o.call?.(queueMs, inputMs, computeMs, outputMs); },
  };
}
