/**
 * The flags `list` and `call` share to reach a server that needs credentials: a bearer
 * token (or FLIGHT_RUNNER_TOKEN, so the secret need not appear in `ps`) and a CA file
 * for `grpc+tls://` servers whose certificate the system does not trust.
 */
import { existsSync } from 'node:fs';
import type { ConnectOptions } from '../client/connection.js';
import { UsageError } from './serve-process.js';

/** parseArgs option specs of the connection flags. */
export const connectionOptions = {
  token: { type: 'string' },
  'tls-ca': { type: 'string' },
} as const;

/** The SDK connection options the flags ask for. */
export function connectOptionsFrom(values: { token?: string | undefined; 'tls-ca'?: string | undefined }): ConnectOptions {
  const token = values.token ?? process.env['FLIGHT_RUNNER_TOKEN'];
  const ca = values['tls-ca'];
  if (ca !== undefined && !existsSync(ca)) throw new UsageError(`--tls-ca ${ca}: no such file`);
  return {
    ...(token ? { token } : {}),
    ...(ca !== undefined ? { caFile: ca } : {}),
  };
}
