/**
 * `list`, `call` and the SDK against a real runner server that requires a bearer token
 * and serves TLS with a self-signed certificate made here by openssl: the token comes
 * from --token or FLIGHT_RUNNER_TOKEN, the certificate is trusted through --tls-ca
 * (SDK: caFile), and each missing piece fails with one line naming what is wrong.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { FlightError, Status, staticTokenAuth } from '../../src/flight/index.js';
import { startRunnerServer, type RunnerServer } from '../../src/runner/runner-server.js';
import { tensorsRunner } from '../helpers/runners.js';
import { loadJsRunner, type Tensor } from '../../src/index.js';
import { runCli } from './cli-process.js';

const TOKEN = 'tok-3f9a1c';
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-cli-auth-'));
const caFile = join(dir, 'localhost.crt');
const input = join(dir, 'x.json');
let server: RunnerServer;

test.before(async () => {
  const keyFile = join(dir, 'localhost.key');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-keyout', keyFile, '-out', caFile,
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ], { stdio: 'pipe', timeout: 30_000 });
  writeFileSync(input, JSON.stringify([{ x: [1, 2, 3, 4] }, { x: [0.5, -1, 8, 2.25] }]));
  server = await startRunnerServer({
    runners: [await loadJsRunner(tensorsRunner)],
    auth: staticTokenAuth({ tokens: { [TOKEN]: 'ci' } }),
    tls: { certChain: readFileSync(caFile), privateKey: readFileSync(keyFile) },
  });
});

test.after.always(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const lines = (stderr: string) => stderr.split('\n').filter((l) => l.trim());

test('the server is TLS with auth', (t) => {
  t.regex(server.location, /^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
});

test('list and call with --token and --tls-ca, or the token from FLIGHT_RUNNER_TOKEN', async (t) => {
  const [list, listEnv, call] = await Promise.all([
    runCli(['list', server.location, '--token', TOKEN, '--tls-ca', caFile]),
    runCli(['list', server.location, '--tls-ca', caFile], undefined, { FLIGHT_RUNNER_TOKEN: TOKEN }),
    runCli(['call', server.location, 'tensors/double', '--input', input, '--tls-ca', caFile], undefined, { FLIGHT_RUNNER_TOKEN: TOKEN }),
  ]);
  for (const r of [list, listEnv]) {
    t.is(r.code, 0, r.stderr);
    t.regex(r.stdout, /^tensors\s+double\*\s+yes\s+x: tensor<float32>\[4\]\s+y: tensor<float32>\[4\]$/m);
  }
  t.is(call.code, 0, call.stderr);
  t.deepEqual(call.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ y: [2, 4, 6, 8] }, { y: [1, -2, 16, 4.5] }]);
});

test('without the token, or with a wrong one: UNAUTHENTICATED in one line', async (t) => {
  const [none, wrong] = await Promise.all([
    runCli(['list', server.location, '--tls-ca', caFile]),
    runCli(['call', server.location, 'tensors', '--input', input, '--tls-ca', caFile, '--token', 'nope']),
  ]);
  t.is(none.code, 1);
  t.deepEqual(lines(none.stderr), ['flight-runner list: UNAUTHENTICATED: missing authorization header: send "authorization: Bearer <token>" (give the token with --token T or FLIGHT_RUNNER_TOKEN)']);
  t.is(wrong.code, 1);
  t.deepEqual(lines(wrong.stderr), ['flight-runner call: UNAUTHENTICATED: invalid bearer token (give the token with --token T or FLIGHT_RUNNER_TOKEN)']);
});

test('without --tls-ca the self-signed server is refused, naming the flag; a missing CA file is a usage error', async (t) => {
  const [untrusted, missing] = await Promise.all([
    runCli(['list', server.location, '--token', TOKEN]),
    runCli(['list', server.location, '--token', TOKEN, '--tls-ca', join(dir, 'nope.pem')]),
  ]);
  t.is(untrusted.code, 1);
  t.is(lines(untrusted.stderr).length, 1, untrusted.stderr);
  t.regex(untrusted.stderr, new RegExp(`^flight-runner list: UNAVAILABLE: cannot connect to ${server.location.replace(/[+.]/g, '\\$&')}: .*(certificate|SSL|TLS).*pass --tls-ca FILE`, 'i'));
  t.is(missing.code, 2);
  t.regex(missing.stderr, /^flight-runner list: --tls-ca .*nope\.pem: no such file/);
});

test('the SDK: connect(location, { token, caFile }) calls the runner; without the CA it fails naming caFile', async (t) => {
  const client = await connect(server.location, { token: TOKEN, caFile });
  try {
    const y = (await client.runner('tensors').run([1, 2, 3, 4])) as Tensor;
    t.deepEqual(Array.from(y.data as Float32Array), [2, 4, 6, 8]);
  } finally {
    client.close();
  }
  const withBytes = await connect(server.location, { token: TOKEN, rootCerts: readFileSync(caFile) });
  t.deepEqual(withBytes.runners, ['tensors']);
  withBytes.close();

  const untrusted = await t.throwsAsync(connect(server.location, { token: TOKEN }), { instanceOf: FlightError });
  t.is(untrusted?.code, Status.UNAVAILABLE);
  t.regex(untrusted?.message ?? '', /caFile/);
  const noToken = await t.throwsAsync(connect(server.location, { caFile }), { instanceOf: FlightError });
  t.is(noToken?.code, Status.UNAUTHENTICATED);
});
