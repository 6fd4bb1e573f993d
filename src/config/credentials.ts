/**
 * A serving command's credentials: bearer tokens and TLS files, from flags, the
 * environment and a config's `server:` key, read and checked before the server binds.
 *
 * Tokens: every source adds tokens (`--token` and FLIGHT_RUNNER_TOKEN give one plain token
 * each; a tokens file and `server.auth.tokens` give `token` or `identity:token` entries).
 * A token is a bearer token as RFC 6750 defines it (letters, digits, `-._~+/`, trailing
 * `=`), so it never contains `:` and `identity:token` is unambiguous. A token without an
 * identity is named `token-` and 8 hex digits of its SHA-256.
 *
 * TLS: each of cert, key and client CA comes from its flag, else from the config.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { staticTokenAuth, type ServerAuth } from '../flight/auth.js';
import type { FlightServerOptions } from '../flight/server.js';
import { log } from '../util/log.js';
import { ConfigError } from './config-error.js';
import type { ServerConfig } from './schema.js';

/** The credential flags of `serve` and `memory-server`. */
export interface CredentialFlags {
  token?: string[];
  tokensFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

/** Where the config's server settings came from, for messages. */
export interface CredentialConfig {
  server: ServerConfig;
  /** The config file of `server.auth` / `server.tls`. */
  authFile?: string;
  tlsFile?: string;
}

/** What the server is given, and what the warnings need to know. */
export interface ServerCredentials {
  auth?: ServerAuth;
  tls?: NonNullable<FlightServerOptions['tls']>;
  /** Number of distinct tokens accepted (0: no token auth). */
  tokens: number;
  /** Clients must present a certificate signed by the client CA. */
  mutualTls: boolean;
}

const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const IDENTITY = /^[A-Za-z0-9\-._@]+$/;

/** The default identity of a token: stable, and safe to log. */
export function tokenFingerprint(token: string): string {
  return `token-${createHash('sha256').update(token).digest('hex').slice(0, 8)}`;
}

/** A problem with one source of credentials. */
class SourceProblem extends Error {}

/** A problem, where it came from (a flag, a variable, a config key and its file). */
interface Problem {
  file?: string;
  path: string;
  message: string;
}

/** Parses `token` (or, if `named`, `identity:token`); the message never contains the token. */
function parseToken(spec: string, named: boolean): { token: string; identity: string; named: boolean } {
  const colon = spec.indexOf(':');
  if (colon >= 0 && !named) throw new SourceProblem('a token cannot contain ":" (to name a token, use a tokens file with "identity:token" lines)');
  const identity = colon >= 0 ? spec.slice(0, colon).trim() : undefined;
  const token = (colon >= 0 ? spec.slice(colon + 1) : spec).trim();
  if (identity !== undefined && !IDENTITY.test(identity)) throw new SourceProblem('the identity before ":" may hold only letters, digits and -._@');
  if (!token) throw new SourceProblem('empty token');
  if (!BEARER_TOKEN.test(token)) throw new SourceProblem('a bearer token may hold only letters, digits, -._~+/ and trailing =');
  return { token, identity: identity ?? tokenFingerprint(token), named: identity !== undefined };
}

/** Reads a tokens file: one `token` or `identity:token` per line; blank and `#` lines skipped. */
function readTokensFile(file: string): ReturnType<typeof parseToken>[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SourceProblem(`cannot read tokens file: ${(err as Error).message}`);
  }
  try {
    // Like ssh with its keys: say so when others can read the secrets.
    if ((statSync(file).mode & 0o077) !== 0) log('warn', 'tokens file is readable by other users; chmod 600 it', { file });
  } catch { /* read above: stat cannot fail in a way that matters */ }
  const tokens: ReturnType<typeof parseToken>[] = [];
  for (const [i, line] of text.split(/\r?\n/).entries()) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    try {
      tokens.push(parseToken(trimmed, true));
    } catch (err) {
      throw new SourceProblem(`${file} line ${i + 1}: ${(err as Error).message}`);
    }
  }
  if (!tokens.length) throw new SourceProblem(`${file} holds no token (one "token" or "identity:token" per line)`);
  return tokens;
}

/** Where one TLS file comes from: a flag, or a config key (and its file). */
interface TlsSource {
  file: string;
  path: string;
  configFile?: string;
}

/** Adds a problem of the TLS file `at`. */
function report(problems: Problem[], at: TlsSource, message: string): void {
  problems.push({ ...(at.configFile ? { file: at.configFile } : {}), path: at.path, message });
}

/** Runs `parse`, turning a throw into a problem of `at`; undefined on failure. */
function attempt<T>(at: TlsSource, problems: Problem[], parse: () => T, describe: (err: Error) => string): T | undefined {
  try {
    return parse();
  } catch (err) {
    report(problems, at, describe(err as Error));
    return undefined;
  }
}

/**
 * The TLS files (a flag wins over the config's key of the same role), read and checked
 * now, so that a wrong file is named here rather than failing inside grpc at bind.
 */
function loadTls(flags: CredentialFlags, config: CredentialConfig | undefined, problems: Problem[]): ServerCredentials['tls'] {
  const fromConfig = config?.server.tls ?? {};
  const pick = (flag: string, flagValue: string | undefined, key: 'cert' | 'key' | 'clientCa'): TlsSource | undefined => {
    if (flagValue !== undefined) return { file: flagValue, path: flag };
    const file = fromConfig[key];
    return file === undefined ? undefined : { file, path: `server.tls.${key}`, ...(config?.tlsFile ? { configFile: config.tlsFile } : {}) };
  };
  const cert = pick('--tls-cert', flags.tlsCert, 'cert');
  const key = pick('--tls-key', flags.tlsKey, 'key');
  const clientCa = pick('--tls-client-ca', flags.tlsClientCa, 'clientCa');
  const fail = (at: TlsSource, message: string) => report(problems, at, message);
  if (cert && !key) fail(cert, 'needs a private key too (--tls-key or server.tls.key)');
  if (key && !cert) fail(key, 'needs a certificate too (--tls-cert or server.tls.cert)');
  if (clientCa && !cert) fail(clientCa, 'mutual TLS needs the server\'s own certificate and key (--tls-cert, --tls-key)');
  if (!cert || !key) return undefined;

  const read = (at: TlsSource, what: string) => attempt(at, problems, () => readFileSync(at.file), (e) => `cannot read ${what}: ${e.message}`);
  const certChain = read(cert, 'certificate');
  const privateKey = read(key, 'private key');
  const rootCerts = clientCa ? read(clientCa, 'client CA') : undefined;
  const x509 = certChain && attempt(cert, problems, () => new X509Certificate(certChain), (e) => `${cert.file} is not a PEM certificate: ${e.message}`);
  const pkey = privateKey && attempt(key, problems, () => createPrivateKey(privateKey), (e) => `${key.file} is not a PEM private key: ${e.message}`);
  const ca = clientCa && rootCerts && attempt(clientCa, problems, () => new X509Certificate(rootCerts), (e) => `${clientCa.file} is not a PEM certificate: ${e.message}`);
  if (x509 && pkey && !x509.checkPrivateKey(pkey)) fail(key, `${key.file} is not the private key of ${cert.file}`);
  if (!x509 || !pkey || (clientCa && !ca) || !x509.checkPrivateKey(pkey)) return undefined;
  return { certChain: certChain!, privateKey: privateKey!, ...(rootCerts ? { rootCerts } : {}) };
}

/**
 * Reads and checks every credential source. Problems are ConfigErrors naming the flag,
 * the variable or the config key (and file) they came from.
 *
 * @example
 * const creds = loadCredentials({ token: ['s3cret'] }, process.env['FLIGHT_RUNNER_TOKEN']);
 * new FlightServer(handlers, { auth: creds.auth, tls: creds.tls });
 */
export function loadCredentials(flags: CredentialFlags, envToken: string | undefined, config?: CredentialConfig): ServerCredentials {
  const byToken = new Map<string, { identity: string; named: boolean; source: string }>();
  const problems: Problem[] = [];
  const source = (path: string, file: string | undefined, read: () => ReturnType<typeof parseToken>[]) => {
    let found: ReturnType<typeof parseToken>[];
    try {
      found = read();
    } catch (err) {
      if (!(err instanceof SourceProblem)) throw err;
      problems.push({ ...(file ? { file } : {}), path, message: err.message });
      return;
    }
    for (const { token, identity, named } of found) {
      const known = byToken.get(token);
      // The same token given twice is one token; a name given once names it; two names conflict.
      if (known?.named && named && known.identity !== identity) {
        problems.push({ ...(file ? { file } : {}), path, message: `a token is also given by ${known.source} with another identity (${known.identity}, here ${identity})` });
      } else if (!known || (named && !known.named)) {
        byToken.set(token, { identity, named, source: path });
      }
    }
  };
  for (const [i, t] of (flags.token ?? []).entries()) source(`--token (#${i + 1})`, undefined, () => [parseToken(t, false)]);
  if (envToken) source('FLIGHT_RUNNER_TOKEN', undefined, () => [parseToken(envToken, false)]);
  if (flags.tokensFile !== undefined) source('--tokens-file', undefined, () => readTokensFile(flags.tokensFile!));
  const auth = config?.server.auth;
  for (const [i, t] of (auth?.tokens ?? []).entries()) source(`server.auth.tokens[${i}]`, config?.authFile, () => [parseToken(t, true)]);
  if (auth?.tokensFile !== undefined) source('server.auth.tokensFile', config?.authFile, () => readTokensFile(auth.tokensFile!));

  const tls = loadTls(flags, config, problems);

  if (problems.length) {
    // One ConfigError; each line names its own file when it has one.
    throw new ConfigError(undefined, problems.map((p) => ({ path: p.file ? `${p.file}: ${p.path}` : p.path, message: p.message })));
  }
  const tokens = Object.fromEntries([...byToken].map(([token, { identity }]) => [token, identity]));
  return {
    ...(byToken.size ? { auth: staticTokenAuth({ tokens }) } : {}),
    ...(tls ? { tls } : {}),
    tokens: byToken.size,
    mutualTls: Boolean(tls?.rootCerts),
  };
}
