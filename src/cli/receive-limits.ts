/**
 * The command-line side of a server's receive limits (see docs/security.md): the largest
 * request message, and the budget for bytes held in incomplete messages, as flags or
 * `server:` keys, in bytes with an optional KiB/MiB/GiB suffix.
 */
import type { FlightServerOptions } from '../flight/index.js';
import { UsageError } from './serve-process.js';

/** parseArgs options for the receive limits. */
export const receiveLimitOptions = {
  'max-message-bytes': { type: 'string' },
  'max-incoming-bytes': { type: 'string' },
} as const;

export const receiveLimitHelp = `  --max-message-bytes N   largest request message, before and after decompression
                          (default 2GiB-1); suffixes KiB, MiB, GiB
  --max-incoming-bytes N  budget for bytes held in incomplete request messages, all
                          callers together (default a quarter of the memory); past it a
                          message is RESOURCE_EXHAUSTED`;

const UNITS: Record<string, number> = { '': 1, B: 1, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };

/** A byte count: an integer, optionally followed by KiB, MiB or GiB. */
export function parseBytes(flag: string, value: string): number {
  const m = /^\s*(\d+)\s*([KMG]iB|B)?\s*$/i.exec(value);
  const bytes = m ? Number(m[1]) * UNITS[(m[2] ?? '').toUpperCase()]! : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw new UsageError(`${flag} must be a positive number of bytes such as 268435456 or 256MiB, got ${JSON.stringify(value)}`);
  }
  return bytes;
}

/** FlightServer options from the flags, which override the config's `server:` keys. */
export function receiveLimits(
  values: { 'max-message-bytes'?: string; 'max-incoming-bytes'?: string },
  server: { maxMessageBytes?: number; maxIncomingBytes?: number } = {},
): Pick<FlightServerOptions, 'maxReceiveMessageBytes' | 'receiveBudgetBytes'> {
  const maxMessage = values['max-message-bytes'] !== undefined ? parseBytes('--max-message-bytes', values['max-message-bytes']) : server.maxMessageBytes;
  const budget = values['max-incoming-bytes'] !== undefined ? parseBytes('--max-incoming-bytes', values['max-incoming-bytes']) : server.maxIncomingBytes;
  return {
    ...(maxMessage !== undefined ? { maxReceiveMessageBytes: maxMessage } : {}),
    ...(budget !== undefined ? { receiveBudgetBytes: budget } : {}),
  };
}
