/**
 * Bearer-token authentication, the scheme pyarrow and the other Flight clients speak:
 * a client either sends `authorization: Bearer <token>` on every call, or first calls
 * Handshake with `authorization: Basic <base64 user:password>` and gets the token back
 * in the `authorization` response header (pyarrow's `authenticate_basic_token`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
/** Request metadata as auth reads it (the server's RequestMetadata; grpc-js's Metadata fits too). */
type Metadata = { get(key: string): (string | Buffer)[] };
import { FlightError, Status } from './errors.js';

/** How a server checks credentials. */
export interface ServerAuth {
  /** The caller's identity for a valid token, or undefined to refuse it. */
  validateToken(token: string): string | undefined | Promise<string | undefined>;
  /** Exchanges a username and password for a token, or undefined to refuse. */
  basicLogin?(username: string, password: string): string | undefined | Promise<string | undefined>;
}

/** A secret reduced to a fixed-length digest, so comparisons take the same time whatever its length. */
const digest = (secret: string): Buffer => createHash('sha256').update(secret, 'utf8').digest();

/**
 * The value stored for the secret equal to `presented`, found in time that depends only
 * on how many secrets there are: every entry is compared (timingSafeEqual on digests),
 * with no early exit, so response times say nothing about how close a guess was. Only
 * the entries given are candidates: a Map built from the options' own keys, never a
 * plain-object lookup that would find `constructor` or `__proto__` on the prototype.
 */
class SecretTable<V> {
  private readonly entries: { digest: Buffer; value: V }[];

  constructor(secrets: Iterable<[string, V]>) {
    this.entries = [...secrets].map(([secret, value]) => ({ digest: digest(secret), value }));
  }

  find(presented: string): V | undefined {
    const wanted = digest(presented);
    let found: V | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, wanted) && found === undefined) found = entry.value;
    }
    return found;
  }
}

/** The own entries of a record, as given (not inherited ones). */
const ownEntries = <V>(record: Record<string, V> | undefined): [string, V][] =>
  record ? Object.keys(record).map((key) => [key, record[key]!]) : [];

/**
 * A fixed set of tokens (and optionally users), enough for a service behind a secret.
 * Tokens map to the caller's identity; users exchange a password for one of the tokens
 * through Handshake. Tokens and passwords are compared in constant time.
 *
 * @example
 * new FlightServer(handlers, { auth: staticTokenAuth({ tokens: { s3cret: 'ci' } }) });
 */
export function staticTokenAuth(options: {
  tokens: Record<string, string> | Map<string, string>;
  users?: Record<string, { password: string; token: string }> | Map<string, { password: string; token: string }>;
}): ServerAuth {
  const tokens = new SecretTable(options.tokens instanceof Map ? options.tokens : ownEntries(options.tokens));
  const users = new Map(options.users instanceof Map ? options.users : ownEntries(options.users));
  for (const [name, user] of users) {
    if (tokens.find(user.token) === undefined) throw new Error(`staticTokenAuth: user "${name}" is given a token that is not among the tokens`);
  }
  const passwords = new Map([...users].map(([name, user]) => [name, new SecretTable([[user.password, user.token]])]));
  return {
    validateToken: (token) => tokens.find(token),
    basicLogin: (username, password) => passwords.get(username)?.find(password),
  };
}

function header(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  return value === undefined ? undefined : String(value);
}

/** Checks the bearer token of a call; returns the identity or throws UNAUTHENTICATED. */
export async function authenticateCall(auth: ServerAuth, metadata: Metadata): Promise<string> {
  const value = header(metadata);
  if (!value) throw FlightError.unauthenticated('missing authorization header: send "authorization: Bearer <token>"');
  const match = /^Bearer\s+(.+)$/i.exec(value);
  if (!match) throw FlightError.unauthenticated('authorization header must be "Bearer <token>"');
  const identity = await auth.validateToken(match[1]!.trim());
  if (identity === undefined) throw FlightError.unauthenticated('invalid bearer token');
  return identity;
}

/** What a Handshake proved: who the caller is, and the token to give back when it logged in with Basic. */
export interface HandshakeResult {
  identity: string;
  /** Set when the caller sent Basic credentials: the token it should carry on later calls. */
  token?: string;
}

/**
 * For Handshake on a server with auth: the caller must prove who it is, either with
 * `authorization: Basic <base64 user:password>` (answered with a token) or with a valid
 * bearer token. Anything else is UNAUTHENTICATED, so a Handshake that answers OK always
 * means the credentials were good.
 */
export async function authenticateHandshake(auth: ServerAuth, metadata: Metadata): Promise<HandshakeResult> {
  const value = header(metadata);
  if (!value) {
    throw FlightError.unauthenticated('Handshake needs credentials: send "authorization: Basic <base64 of user:password>" or "authorization: Bearer <token>"');
  }
  const basic = /^Basic\s+(.+)$/i.exec(value);
  if (!basic) return { identity: await authenticateCall(auth, metadata) };
  if (!auth.basicLogin) throw new FlightError(Status.UNAUTHENTICATED, 'this server does not accept username and password: send "authorization: Bearer <token>"');
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw FlightError.unauthenticated('Basic credentials must be base64 of "user:password"');
  const token = await auth.basicLogin(decoded.slice(0, colon), decoded.slice(colon + 1));
  if (token === undefined) throw FlightError.unauthenticated('invalid username or password');
  const identity = await auth.validateToken(token);
  if (identity === undefined) throw FlightError.internal('the token issued for this login is not valid on this server (check the auth configuration)');
  return { identity, token };
}
