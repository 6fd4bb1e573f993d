/**
 * The V2 REST port of a `serve` with a certificate and a token: it serves HTTPS with the
 * gRPC port's certificate and the same token, and logs where; plain HTTP and a missing
 * token are refused. (The plain-HTTP suite is test/interop/oip, with tritonclient.)
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../helpers/serve-process.js';
import { selfSignedCert } from '../helpers/tls.js';

const TOKEN = 'v2-tls-token';
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-oip-tls-'));
let server: ServerProcess;
let port: number;
let ca: Buffer;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port: p } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return p;
}

test.before(async () => {
  const { cert, key } = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  ca = cert;
  writeFileSync(join(dir, 'tls.crt'), cert);
  writeFileSync(join(dir, 'tls.key'), key);
  port = await freePort();
  server = await startServerProcess([
    'serve', 'examples/models/iris.onnx', '--port', '0', '--http-port', String(port), '--token', TOKEN,
    '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'),
  ]);
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Reply { status: number; body: string }

function https(path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: body ? 'POST' : 'GET', headers, ca, servername: 'localhost' }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('the REST port speaks HTTPS with the server certificate and takes the token', async (t) => {
  t.regex(server.uri, /^grpc\+tls:\/\//);
  t.regex(server.stderr(), new RegExp(`"V2 REST endpoint","url":"https://127\\.0\\.0\\.1:${port}/v2"`));
  const auth = { authorization: `Bearer ${TOKEN}` };
  const meta = await https('/v2', auth);
  t.is(meta.status, 200, meta.body);
  t.is((JSON.parse(meta.body) as { name: string }).name, 'flight-runner');
  const infer = await https('/v2/models/iris/infer', { ...auth, 'content-type': 'application/json' },
    JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }], outputs: [{ name: 'label' }] }));
  t.is(infer.status, 200, infer.body);
  t.deepEqual((JSON.parse(infer.body) as { outputs: { name: string; data: number[] }[] }).outputs.map((o) => [o.name, o.data]), [['label', [0]]]);
});

test('without the token: 401 naming what is missing', async (t) => {
  const reply = await https('/v2/health/live', {});
  t.is(reply.status, 401);
  t.regex((JSON.parse(reply.body) as { error: string }).error, /missing authorization header/);
});

test('plain HTTP to the HTTPS port gets no answer', async (t) => {
  const outcome = await new Promise<string>((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v2', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => resolve(`status ${res.statusCode}`));
    req.on('error', (err) => resolve(`error ${err.message}`));
    req.end();
  });
  t.regex(outcome, /^error /);
});
