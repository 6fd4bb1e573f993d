/**
 * Mutual TLS on the V2 REST port: a `serve` with --tls-client-ca asks REST clients for a
 * certificate too, as its gRPC port does. A client with a certificate from that CA is
 * served; one without a certificate, or with one from another CA, is refused in the TLS
 * handshake, before any request is read.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/free-port.js';
import { startServerProcess, type ServerProcess } from '../helpers/serve-process.js';
import { selfSignedCert, signedBy } from '../helpers/tls.js';

const dir = mkdtempSync(join(tmpdir(), 'flight-runner-oip-mtls-'));
let server: ServerProcess;
let port: number;
let trusted: Buffer;
let good: { cert: string; key: string };
let stranger: { cert: string; key: string };

const files = (name: string) => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });

test.before(async () => {
  trusted = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1').cert;
  selfSignedCert(dir, 'client-ca', 'DNS:client-ca');
  selfSignedCert(dir, 'stranger-ca', 'DNS:stranger-ca');
  good = signedBy(dir, 'good-client', files('client-ca'));
  stranger = signedBy(dir, 'stranger-client', files('stranger-ca'));
  port = await freePort();
  server = await startServerProcess([
    'serve', 'examples/models/iris.onnx', '--port', '0', '--http-port', String(port),
    '--tls-cert', files('localhost').cert, '--tls-key', files('localhost').key, '--tls-client-ca', files('client-ca').cert,
  ]);
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A REST call over HTTPS, presenting `client`'s certificate if given: its status and body, or the error that ended it. */
function call(path: string, client?: { cert: string; key: string }, body?: string): Promise<{ status?: number; body?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest({
      host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', ca: trusted, servername: 'localhost',
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(client ? { cert: readFileSync(client.cert), key: readFileSync(client.key) } : {}),
    }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
    req.end(body);
  });
}

test('a client certificate from the --tls-client-ca CA is served over HTTPS', async (t) => {
  t.regex(server.stderr(), new RegExp(`"V2 REST endpoint","url":"https://127\\.0\\.0\\.1:${port}/v2"`));
  const meta = await call('/v2', good);
  t.is(meta.status, 200, meta.error ?? meta.body);
  t.is((JSON.parse(meta.body!) as { name: string }).name, 'flight-runner');
  const infer = await call('/v2/models/iris/infer', good,
    JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }], outputs: [{ name: 'label' }] }));
  t.is(infer.status, 200, infer.error ?? infer.body);
  t.deepEqual((JSON.parse(infer.body!) as { outputs: { name: string; data: number[] }[] }).outputs.map((o) => [o.name, o.data]), [['label', [0]]]);
});

test('no client certificate: refused in the handshake, no HTTP answer', async (t) => {
  const reply = await call('/v2/health/live');
  t.is(reply.status, undefined, `answered ${reply.status}: ${reply.body}`);
  t.truthy(reply.error);
});

test('a client certificate from another CA: refused in the handshake, no HTTP answer', async (t) => {
  const reply = await call('/v2/health/live', stranger);
  t.is(reply.status, undefined, `answered ${reply.status}: ${reply.body}`);
  t.truthy(reply.error);
});
