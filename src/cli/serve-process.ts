/**
 * The process contract of every serving command (see docs/protocol.md): print exactly
 * one line `flight-runner listening on <location>` on stdout once calls are accepted,
 * and on SIGTERM or SIGINT drain in-flight calls, then exit 0. Serving processes also
 * tune V8's heap growth for streaming large messages (heap-tuning.ts).
 */
import type { FlightServer } from '../flight/index.js';
import type { CredentialFlags } from '../config/credentials.js';
import { getHeapStatistics } from 'node:v8';
import { log } from '../util/log.js';
import { tuneHeapForStreaming } from './heap-tuning.js';

/** Where a serving command listens, from its flags. */
export interface ListenFlags {
  host: string;
  port: number;
  socket?: string;
  /** Callers must authenticate (a bearer token or a client certificate): no warning on a non-loopback host. */
  authenticated?: boolean;
}

/** The credential options of every serving command, for parseArgs. */
export const credentialOptions = {
  token: { type: 'string', multiple: true },
  'tokens-file': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-client-ca': { type: 'string' },
} as const;

/** The help lines of credentialOptions. */
export const credentialHelp = `  --token TOKEN       accept calls carrying "authorization: Bearer TOKEN" (repeatable);
                      also FLIGHT_RUNNER_TOKEN. Without any token, calls need no auth
  --tokens-file FILE  tokens, one "TOKEN" or "IDENTITY:TOKEN" per line (# comments), so
                      that no secret appears in \`ps\`
  --tls-cert FILE     serve grpc+tls:// with this PEM certificate (chain) ...
  --tls-key FILE      ... and its PEM private key
  --tls-client-ca FILE  mutual TLS: clients must present a certificate signed by this CA`;

/** The credential flags from parsed options. */
export function credentialFlags(values: { token?: string[]; 'tokens-file'?: string; 'tls-cert'?: string; 'tls-key'?: string; 'tls-client-ca'?: string }): CredentialFlags {
  return {
    ...(values.token ? { token: values.token } : {}),
    ...(values['tokens-file'] !== undefined ? { tokensFile: values['tokens-file'] } : {}),
    ...(values['tls-cert'] !== undefined ? { tlsCert: values['tls-cert'] } : {}),
    ...(values['tls-key'] !== undefined ? { tlsKey: values['tls-key'] } : {}),
    ...(values['tls-client-ca'] !== undefined ? { tlsClientCa: values['tls-client-ca'] } : {}),
  };
}

/**
 * Refuses a unix socket on a TLS server: the Flight server applies its credentials to
 * every address, so the socket would speak TLS while advertised as grpc+unix://, which
 * clients dial in plaintext.
 */
export function checkSocketWithoutTls(socket: string | undefined, tls: boolean): void {
  if (socket && tls) {
    throw new UsageError('--socket (server.socket) cannot be combined with TLS: the socket would speak TLS, and grpc+unix:// clients dial it in plaintext; drop one of them');
  }
}

/** True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || /^::ffff:127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Listens on TCP (and a unix socket if asked), prints the listening line(s) and
 * installs the drain-on-signal handlers. `onDrain` runs after calls have drained.
 */
export async function serveUntilSignalled(
  server: FlightServer, flags: ListenFlags, onDrain: () => Promise<void> = async () => {},
): Promise<void> {
  // Before the first large message: see heap-tuning.ts (full GCs per message otherwise).
  const heapGrowingPercent = tuneHeapForStreaming();
  log('debug', 'V8 heap growing factor', heapGrowingPercent === undefined
    ? { setBy: 'node flag --heap-growing-percent' }
    : { heapGrowingPercent, usedHeapBytes: getHeapStatistics().used_heap_size, why: 'full GCs per large message otherwise (src/cli/heap-tuning.ts)' });
  const { location } = await server.listen({ host: flags.host, port: flags.port });
  if (!flags.authenticated && !isLoopback(flags.host)) {
    log('warn', 'serving without authentication on a non-loopback address: anyone who can reach it can call it', {
      address: flags.host, fix: 'add --token TOKEN, --tokens-file FILE or FLIGHT_RUNNER_TOKEN (or server.auth in a config), or --tls-client-ca for client certificates',
    });
  }
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
