/**
 * A progress bar on stderr for long calls: rows done of the total, rows per second and
 * the time left. On a terminal it redraws one line in place; otherwise (--progress into
 * a pipe or a log) it writes a line at most every two seconds. stdout is never touched,
 * so results piped from stdout stay clean.
 */
import type { Writable } from 'node:stream';

/** Where and how to draw. */
export interface ProgressOptions {
  /** Rows expected, if known (for the percentage and ETA). */
  total?: number;
  /** Draw at all. */
  enabled: boolean;
  /** Redraw in place (a terminal) rather than line by line. */
  inPlace: boolean;
  stream?: Writable;
  /** Wait this long before the first draw, so quick calls stay quiet (ms). */
  delayMs?: number;
}

const WIDTH = 24;

/** Thousands separators: 200,000. */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Seconds as 42s, 3m05s or 1h02m. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Tracks rows done and draws the bar. */
export class Progress {
  private readonly started = performance.now();
  private lastDraw = -Infinity;
  private drawn = false;
  rows = 0;
  batches = 0;

  constructor(private readonly options: ProgressOptions) {}

  private get stream(): Writable {
    return this.options.stream ?? process.stderr;
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  /** Records one finished batch of `rows` rows, and redraws if it is time to. */
  update(rows: number): void {
    this.rows += rows;
    this.batches++;
    const now = performance.now();
    const interval = this.options.inPlace ? 100 : 2000;
    if (now - this.started < (this.options.delayMs ?? 0) || now - this.lastDraw < interval) return;
    this.draw();
  }

  /** The bar as text (without line ending). */
  line(): string {
    const rate = this.rows / Math.max(this.elapsed, 1e-3);
    const total = this.options.total;
    const speed = `${formatCount(rate)} rows/s`;
    if (!total) return `${formatCount(this.rows)} rows  ${speed}`;
    const fraction = Math.min(1, this.rows / total);
    const filled = Math.round(fraction * WIDTH);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}]`;
    const eta = rate > 0 ? formatDuration((total - this.rows) / rate) : '?';
    return `${bar} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatCount(this.rows)}/${formatCount(total)} rows  ${speed}  ETA ${eta}`;
  }

  private draw(): void {
    if (!this.options.enabled) return;
    this.lastDraw = performance.now();
    this.drawn = true;
    this.stream.write(this.options.inPlace ? `\r${this.line()}\x1b[K` : `${this.line()}\n`);
  }

  /** Draws the final state (when drawing) and ends the bar's line. */
  finish(): void {
    if (!this.options.enabled) return;
    // A quick call that never drew on a terminal leaves no bar behind; --progress always shows one.
    if (this.options.inPlace && !this.drawn) return;
    this.draw();
    if (this.options.inPlace) this.stream.write('\n');
  }
}
