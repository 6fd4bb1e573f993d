/**
 * Test helper: certificates made with openssl for one test, so TLS runs for real.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A self-signed certificate for `commonName` with the given subjectAltName list, made with openssl in `dir`. */
export function selfSignedCert(dir: string, commonName: string, altNames: string): { cert: Buffer; key: Buffer } {
  const key = join(dir, `${commonName}.key`);
  const cert = join(dir, `${commonName}.crt`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', key, '-out', cert,
    '-subj', `/CN=${commonName}`, '-addext', `subjectAltName=${altNames}`,
  ], { stdio: 'pipe', timeout: 30_000 });
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

/**
 * A certificate for `name` signed by the CA `ca` (files `name`.crt and `name`.key in
 * `dir`), as a client presents in mutual TLS.
 */
export function signedBy(dir: string, name: string, ca: { cert: string; key: string }): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-days', '1', '-out', cert]);
  return { cert, key };
}
