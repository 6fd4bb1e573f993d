/**
 * What a backend call costs, learned as it runs: time(rows) ~ fixed + perRow * rows,
 * fitted by least squares over recent batches (older ones fade out, so the model
 * follows the machine's load). The batcher uses the fixed part to decide how long a
 * batch may wait for more rows, and the whole line to predict how long a new call
 * would wait, so that it can refuse one that cannot finish within its deadline.
 */

const DECAY = 0.98;

/** An online linear fit of backend latency against batch rows. */
export class CostModel {
  private n = 0;
  private sx = 0;
  private sy = 0;
  private sxx = 0;
  private sxy = 0;
  private samples = 0;

  /** Records one backend call of `rows` rows that took `ms`. */
  observe(rows: number, ms: number): void {
    this.n = this.n * DECAY + 1;
    this.sx = this.sx * DECAY + rows;
    this.sy = this.sy * DECAY + ms;
    this.sxx = this.sxx * DECAY + rows * rows;
    this.sxy = this.sxy * DECAY + rows * ms;
    this.samples++;
  }

  /** Calls observed so far. */
  get observations(): number {
    return this.samples;
  }

  /** The fitted line: ms per backend call (`fixed`) and per row (`perRow`). */
  fit(): { fixed: number; perRow: number } {
    if (this.n === 0) return { fixed: 0, perRow: 0 };
    const meanX = this.sx / this.n;
    const meanY = this.sy / this.n;
    const varX = this.sxx / this.n - meanX * meanX;
    // With one batch size seen so far, the slope is unknown: treat it all as fixed cost.
    const perRow = varX > 1e-9 ? Math.max(0, (this.sxy / this.n - meanX * meanY) / varX) : 0;
    const fixed = Math.max(0, meanY - perRow * meanX);
    return { fixed, perRow };
  }

  /** The per-call cost that does not grow with rows, in ms. */
  get fixedMs(): number {
    return this.fit().fixed;
  }

  /** Expected time of a call of `rows` rows, in ms. */
  estimateMs(rows: number): number {
    const { fixed, perRow } = this.fit();
    return fixed + perRow * rows;
  }
}

/** An exponentially weighted arrival rate, in rows per millisecond. */
export class ArrivalRate {
  private rate = 0;
  private last = 0;

  /** `rows` arrived at `now` (ms). */
  observe(rows: number, now: number): void {
    if (this.last === 0) {
      this.last = now;
      return;
    }
    const gap = Math.max(0.05, now - this.last);
    this.last = now;
    const alpha = 1 - Math.exp(-gap / 100); // ~100 ms memory
    this.rate = (1 - alpha) * this.rate + alpha * (rows / gap);
  }

  /** Recent rows per ms; decays toward 0 while nothing arrives. */
  rowsPerMs(now: number): number {
    const idle = now - this.last;
    return idle > 100 ? this.rate * Math.exp(-(idle - 100) / 100) : this.rate;
  }
}
