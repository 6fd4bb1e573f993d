/**
 * Per-method call statistics for the `stats` action: counts, and latency percentiles
 * over a sliding window of recent calls (bounded memory however long the server runs).
 */

const WINDOW = 2048;

/** The JSON shape of one method's stats. */
export interface MethodStatsJSON {
  calls: number;
  rows: number;
  errors: number;
  /** Backend invocations; fewer than calls when calls were merged. */
  batches: number;
  batchRows: { mean: number; max: number };
  latencyMs: { p50: number; p99: number };
}

/** Counters for one method. */
export class MethodStats {
  calls = 0;
  rows = 0;
  errors = 0;
  batches = 0;
  /** Total milliseconds of calls that succeeded, and of calls that failed (V2 statistics report sums). */
  okMs = 0;
  failedMs = 0;
  /** When the last call finished, ms since the epoch; 0 before any. */
  lastCallAt = 0;
  /** Rows the backend answered (in successful backend calls), summed over batches. */
  batchRowsTotal = 0;
  /**
   * Calls the batcher answered, and their total ms by phase (BatcherObserver.call):
   * queued, merging input, in the backend, handing output back. V2 statistics report them.
   */
  answered = 0;
  queueMs = 0;
  inputMs = 0;
  computeMs = 0;
  outputMs = 0;
  private batchRowsMax = 0;
  private readonly latencies = new Float64Array(WINDOW);
  private latencyCount = 0;

  /** A call finished (successfully or not) after `ms`. */
  recordCall(rows: number, ms: number, failed: boolean): void {
    this.calls++;
    this.rows += rows;
    if (failed) {
      this.errors++;
      this.failedMs += ms;
    } else {
      this.okMs += ms;
    }
    this.lastCallAt = Date.now();
    this.latencies[this.latencyCount++ % WINDOW] = ms;
  }

  /** The backend ran once on `rows` rows. */
  recordBatch(rows: number): void {
    this.batches++;
    this.batchRowsTotal += rows;
    if (rows > this.batchRowsMax) this.batchRowsMax = rows;
  }

  /** The batcher answered a call, which spent these ms in each phase. */
  recordPhases(queueMs: number, inputMs: number, computeMs: number, outputMs: number): void {
    this.answered++;
    this.queueMs += queueMs;
    this.inputMs += inputMs;
    this.computeMs += computeMs;
    this.outputMs += outputMs;
  }

  toJSON(): MethodStatsJSON {
    const n = Math.min(this.latencyCount, WINDOW);
    const sorted = Array.from(this.latencies.subarray(0, n)).sort((a, b) => a - b);
    const pct = (p: number) => (n ? round(sorted[Math.min(n - 1, Math.floor(p * n))]!) : 0);
    return {
      calls: this.calls,
      rows: this.rows,
      errors: this.errors,
      batches: this.batches,
      batchRows: { mean: this.batches ? round(this.batchRowsTotal / this.batches) : 0, max: this.batchRowsMax },
      latencyMs: { p50: pct(0.5), p99: pct(0.99) },
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/** Stats of every method of every runner. */
export class StatsRegistry {
  private readonly byMethod = new Map<string, Map<string, MethodStats>>();

  /** The counters of one method, created on first use. */
  of(runner: string, method: string): MethodStats {
    let methods = this.byMethod.get(runner);
    if (!methods) this.byMethod.set(runner, (methods = new Map()));
    let stats = methods.get(method);
    if (!stats) methods.set(method, (stats = new MethodStats()));
    return stats;
  }

  /** `{"runners": {RUNNER: {METHOD: {...}}}}` */
  toJSON(): { runners: Record<string, Record<string, MethodStatsJSON>> } {
    const runners: Record<string, Record<string, MethodStatsJSON>> = {};
    for (const [runner, methods] of this.byMethod) {
      runners[runner] = Object.fromEntries([...methods].map(([m, s]) => [m, s.toJSON()]));
    }
    return { runners };
  }
}
