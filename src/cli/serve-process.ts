/**
 * The process contract of every serving command (see docs/protocol.md): print exactly
 * one line `flight-runner listening on <location>` on stdout once calls are accepted,
 * and on SIGTERM or SIGINT drain in-flight calls, then exit 0.
 */
import { FlightServer } from '../flight/index.js';
import { log } from '../util/log.js';

/** Where a serving command listens, from its flags. */
export interface ListenFlags {
  host: string;
  port: number;
  socket?: string;
}

/**
 * Listens on TCP (and a unix socket if asked), prints the listening line(s) and
 * installs the drain-on-signal handlers. `onDrain` runs after calls have drained.
 */
export async function serveUntilSignalled(
  server: FlightServer, flags: ListenFlags, onDrain: () => Promise<void> = async () => {},
): Promise<void> {
  const { location } = await server.listen({ host: flags.host, port: flags.port });
  if (flags.socket) {
    const unix = await server.listen({ socketPath: flags.socket });
    log('info', 'listening on unix socket', { location: unix.location });
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log('info', 'draining', { signal, activeCalls: server.activeCallCount });
    await server.close(30_000);
    await onDrain();
    log('info', 'stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log('info', 'listening', { location, unix: flags.socket ?? null });
  process.stdout.write(`flight-runner listening on ${location}\n`);
  if (flags.socket) process.stdout.write(`flight-runner listening on grpc+unix://${flags.socket}\n`);
}

/** Parses `--port`: an integer 0..65535. */
export function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${JSON.stringify(value)}`);
  return port;
}

/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}
