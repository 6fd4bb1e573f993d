/**
 * Structured logs: one JSON object per line on stderr, so stdout stays free for the
 * "listening on" line scripts wait for, and log collectors can parse every line.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let threshold: LogLevel = (process.env['FLIGHT_RUNNER_LOG_LEVEL'] as LogLevel | undefined) ?? 'info';

/** Sets the lowest level written. */
export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

/** Whether lines at `level` are written: lets a hot path skip building a line's fields. */
export function logs(level: LogLevel): boolean {
  return order[level] >= order[threshold];
}

/**
 * Writes one log line.
 *
 * @example
 * log('info', 'call finished', { runner: 'iris', rows: 128, ms: 3.2 });
 */
export function log(level: LogLevel, msg: string, fields: Record<string, unknown> = {}): void {
  if (order[level] < order[threshold]) return;
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
}
