/**
 * Opening a connection for the SDK and the CLI: the token and CA options, and one clear
 * message for a server that cannot be reached, the same from `connect()`, `list` and `call`.
 */
import { readFileSync } from 'node:fs';
import { FlightClient, FlightError, Status, type FlightClientOptions } from '../flight/index.js';

/** Options of {@link connect}: the Flight client's, plus a CA file for `grpc+tls://`. */
export interface ConnectOptions extends FlightClientOptions {
  /**
   * For `grpc+tls://`: a PEM file of the certificate authorities to trust (e.g. a
   * self-signed server certificate), instead of the system's. `rootCerts` takes the PEM bytes.
   */
  caFile?: string;
}

/**
 * A FlightClient for `location`, without waiting for the channel: grpc-js fails the first
 * call at once when nothing answers, where waiting for the channel would retry until a
 * deadline (11 s for a server that is down).
 */
export function openFlightClient(location: string, options: ConnectOptions = {}): FlightClient {
  const { caFile, ...clientOptions } = options;
  if (caFile !== undefined) {
    try {
      clientOptions.rootCerts = readFileSync(caFile);
    } catch (err) {
      throw FlightError.invalidArgument(`cannot read the CA file ${caFile}: ${(err as Error).message}`);
    }
  }
  return new FlightClient(location, clientOptions);
}

/**
 * grpc-js reports an unreachable server as `No connection established. Last error:
 * Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: `; this turns that (and its
 * TLS and name-resolution variants) into `cannot connect to <location>: <cause>`, with a
 * hint at the usual fix. Other errors pass unchanged.
 */
export function connectionError(location: string, err: unknown): unknown {
  if (!(err instanceof FlightError) || err.code !== Status.UNAVAILABLE) return err;
  const match = /^No connection established\. Last error: (?:Error: )?(.*?)\.?(?: Resolution note: ?.*)?$/s.exec(err.message)
    ?? /^(Name resolution failed.*?)\.?$/s.exec(err.message);
  if (!match) return err;
  const cause = match[1]!.trim();
  let hint = '';
  if (/ECONNREFUSED|ENOENT/.test(cause)) hint = '; is a server running there?';
  else if (/certificate|SSL|TLS|self[- ]signed/i.test(cause)) hint = '; for a server with its own CA or a self-signed certificate, pass --tls-ca FILE (SDK: caFile)';
  else if (/Name resolution|ENOTFOUND|EAI_AGAIN/.test(cause)) hint = '; check the host name';
  return new FlightError(Status.UNAVAILABLE, `cannot connect to ${location}: ${cause}${hint}`, { cause: err });
}
