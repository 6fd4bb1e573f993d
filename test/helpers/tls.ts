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
