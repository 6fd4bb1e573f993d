/**
 * Bearer-token authentication, the scheme pyarrow and the other Flight clients speak:
 * a client either sends `authorization: Bearer <token>` on every call, or first calls
 * Handshake with `authorization: Basic <base64 user:password>` and gets the token back
 * in the `authorization` response header (pyarrow's `authenticate_basic_token`).
 */
import type { Metadata } from '@grpc/grpc-js';
import { FlightError, Status } from './errors.js';

/** How a server checks credentials. */
export interface ServerAuth {
  /** The caller's identity for a valid token, or undefined to refuse it. */
  validateToken(token: string): string | undefined | Promise<string | undefined>;
  /** Exchanges a username and password for a token, or undefined to refuse. */
  basicLogin?(username: string, password: string): string | undefined | Promise<string | undefined>;
}

/**
 * A fixed set of tokens (and optionally users), enough for a service behind a secret.
 *
 * @example
 * new FlightServer(handlers, { auth: staticTokenAuth({ tokens: { s3cret: 'ci' } }) });
 */
export function staticTokenAuth(options: {
  tokens: Record<string, string>;
  users?: Record<string, { password: string; token: string }>;
}): ServerAuth {
  return {
    validateToken: (token) => options.tokens[token],
    basicLogin: (username, password) => {
      const user = options.users?.[username];
      return user && user.password === password ? user.token : undefined;
    },
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

/** For Handshake: turns `authorization: Basic ...` into a token, or undefined if no Basic header. */
export async function basicLogin(auth: ServerAuth, metadata: Metadata): Promise<string | undefined> {
  const value = header(metadata);
  const match = value ? /^Basic\s+(.+)$/i.exec(value) : null;
  if (!match) return undefined;
  if (!auth.basicLogin) throw new FlightError(Status.UNAUTHENTICATED, 'this server does not accept username and password');
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw FlightError.unauthenticated('Basic credentials must be base64 of "user:password"');
  const token = await auth.basicLogin(decoded.slice(0, colon), decoded.slice(colon + 1));
  if (token === undefined) throw FlightError.unauthenticated('invalid username or password');
  return token;
}
