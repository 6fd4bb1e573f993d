/**
 * Auth of V2 calls, gRPC and REST alike, with the Flight server's credentials: the
 * `authorization` header carries `Bearer <token>` or `Basic <base64 user:password>`
 * (tritonclient's BasicAuth plugin), checked in constant time by the same ServerAuth.
 */
import { authenticateHandshake, type ServerAuth } from '../flight/auth.js';
import { FlightError, Status } from '../flight/index.js';

/** How a tritonclient user sends the token (docs/oip.md, "Authenticating"). */
const TRITONCLIENT_HINT = 'tritonclient: headers={"authorization": "Bearer <token>"} on each call, or a client plugin that adds it (docs/oip.md)';

/**
 * The caller's identity, or UNAUTHENTICATED. Without `auth` every caller is accepted
 * (undefined identity), as on the Flight port.
 */
export async function authenticateV2(auth: ServerAuth | undefined, authorization: string | undefined): Promise<string | undefined> {
  if (!auth) return undefined;
  if (!authorization) {
    throw FlightError.unauthenticated(`missing authorization header: send "authorization: Bearer <token>" (${TRITONCLIENT_HINT})`);
  }
  try {
    const { identity } = await authenticateHandshake(auth, { get: (key) => (key === 'authorization' ? [authorization] : []) });
    return identity;
  } catch (err) {
    // serve's credentials are tokens with no users, so Basic (tritonclient's BasicAuth
    // plugin) can only fail there: say what to send instead of only "invalid username".
    if (err instanceof FlightError && err.code === Status.UNAUTHENTICATED && /^Basic\s/i.test(authorization)) {
      throw FlightError.unauthenticated(`${err.message}; flight-runner serve's credentials (--token, --tokens-file, server.auth) `
        + `are bearer tokens, not users: send "authorization: Bearer <token>" (${TRITONCLIENT_HINT})`);
    }
    throw err;
  }
}
