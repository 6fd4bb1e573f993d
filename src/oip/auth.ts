/**
 * Auth of V2 calls, gRPC and REST alike, with the Flight server's credentials: the
 * `authorization` header carries `Bearer <token>` or `Basic <base64 user:password>`
 * (tritonclient's BasicAuth plugin), checked in constant time by the same ServerAuth.
 */
import { authenticateHandshake, type ServerAuth } from '../flight/auth.js';
import { FlightError } from '../flight/index.js';

/**
 * The caller's identity, or UNAUTHENTICATED. Without `auth` every caller is accepted
 * (undefined identity), as on the Flight port.
 */
export async function authenticateV2(auth: ServerAuth | undefined, authorization: string | undefined): Promise<string | undefined> {
  if (!auth) return undefined;
  if (!authorization) {
    throw FlightError.unauthenticated('missing authorization header: send "authorization: Bearer <token>" (or Basic credentials)');
  }
  const { identity } = await authenticateHandshake(auth, { get: (key) => (key === 'authorization' ? [authorization] : []) });
  return identity;
}
