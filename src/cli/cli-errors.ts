/**
 * What counts as a mistake on the command line, and command-line helpers that turn
 * such mistakes into clear usage errors instead of exceptions further in.
 */
import { parseLocation } from '../flight/location.js';
import { UsageError } from './serve-process.js';

/** True for a mistake on the command line: exit status 2 and the command's usage. */
export function isUsageError(err: unknown): boolean {
  if (err instanceof UsageError) return true;
  // node:util parseArgs errors (unknown option, missing value): ERR_PARSE_ARGS_*.
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/**
 * Checks a server `<uri>` argument, so a typo is a usage error before anything connects.
 * A bare host:port gets the fix spelled out.
 */
export function checkServerUri(uri: string): string {
  try {
    parseLocation(uri);
    return uri;
  } catch {
    const hint = /^[^:/]+:\d+$|^\[[^\]]+\]:\d+$/.test(uri) ? ` (did you mean grpc://${uri}?)` : '';
    throw new UsageError(`bad server <uri> ${JSON.stringify(uri)}: expected grpc://host:port, grpc+tls://host:port or grpc+unix:///path${hint}`);
  }
}

/**
 * node:util parseArgs refuses an option value that starts with '-' (`--batch-rows -1`
 * is "ambiguous"), so a negative number would never reach our own range check and its
 * message. Joins `--name -N` into `--name=-N` for the given string options.
 */
export function joinNegativeValues(argv: string[], stringOptions: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (stringOptions.includes(arg.replace(/^--/, '')) && arg.startsWith('--') && next !== undefined && /^-\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
