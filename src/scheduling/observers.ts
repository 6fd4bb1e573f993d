/** Observers that turn what batchers do into stats (and, with metrics, into series). */
import type { StatsRegistry } from '../runner/stats.js';
import type { BatcherObserver } from './batcher.js';

/** Records each backend batch in the `stats` action's counters. */
export function statsObserver(stats: StatsRegistry, runner: string, method: string): BatcherObserver {
  const counters = stats.of(runner, method);
  return { batch: (rows) => counters.recordBatch(rows) };
}

/** Calls every observer's hooks. */
export function combineObservers(...observers: BatcherObserver[]): BatcherObserver {
  return {
    batch: (rows, ms, queueMs) => { for (const o of observers) o.batch?.(rows, ms, queueMs); },
    queueDepth: (rows) => { for (const o of observers) o.queueDepth?.(rows); },
  };
}
