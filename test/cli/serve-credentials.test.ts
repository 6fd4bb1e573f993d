/**
 * Credentials of the serving commands, on real `serve` and `memory-server` processes:
 * bearer tokens from --token, FLIGHT_RUNNER_TOKEN, a tokens file and the config; TLS and
 * mutual TLS with certificates made by openssl for the test; the warnings for
 * non-loopback addresses without auth and for JS runners in process. Nothing is sent to
 * a non-loopback address: servers bound to 0.0.0.0 are only checked for their warning.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, Metadata } from '@grpc/grpc-js';
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { runCli } from './cli-process.js';
import { venvPython } from '../helpers/python.js';
import { ROOT, run, startServerProcess } from '../helpers/serve-process.js';
import { signedBy } from '../helpers/tls.js';

const IRIS = join(ROOT, 'examples/models/iris.onnx');

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flight-runner-creds-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: 'pipe', timeout: 30_000 });

/** A self-signed certificate (`name`.crt, `name`.key in `dir`) valid for 127.0.0.1. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', key, '-out', cert, '-subj', `/CN=${name}`, '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { cert, key };
}

/** The names of the actions a server lists: one real call. */
async function listActions(client: FlightClient): Promise<string[]> {
  const names: string[] = [];
  for await (const a of client.listActions({ deadline: 30_000 })) names.push(a.type);
  return names;
}

async function refused(t: { throwsAsync: (p: Promise<unknown>, e: object) => Promise<unknown> }, call: Promise<unknown>): Promise<FlightError> {
  return await t.throwsAsync(call, { instanceOf: FlightError }) as FlightError;
}

test('serve --token: calls without a token or with a wrong one are UNAUTHENTICATED; the right token works', async (t) => {
  const server = await startServerProcess(['serve', IRIS, '--port', '0', '--token', 's3cret-one', '--token', 's3cret-two']);
  t.teardown(() => server.stop());
  const anonymous = new FlightClient(server.uri);
  const wrong = new FlightClient(server.uri, { token: 's3cret-three' });
  const right = new FlightClient(server.uri, { token: 's3cret-two' });
  t.teardown(() => { anonymous.close(); wrong.close(); right.close(); });

  const none = await refused(t, listActions(anonymous));
  t.is(none.code, Status.UNAUTHENTICATED);
  const bad = await refused(t, listActions(wrong));
  t.is(bad.code, Status.UNAUTHENTICATED);
  t.is(bad.message, 'invalid bearer token');
  const badExchange = await refused(t, (async () => {
    for await (const chunk of wrong.exchange(FlightDescriptor.path('iris'), [])) void chunk;
  })());
  t.is(badExchange.code, Status.UNAUTHENTICATED);

  t.true((await listActions(right)).includes('health'));
  t.regex(server.stderr(), /"msg":"credentials","tokens":2,"tls":false/);
  t.notRegex(server.stderr(), /s3cret/, 'no token is logged');
});

test.serial('memory-server: a token from FLIGHT_RUNNER_TOKEN and named tokens from --tokens-file are accepted', async (t) => {
  const dir = tempDir(t);
  const tokensFile = join(dir, 'tokens');
  writeFileSync(tokensFile, '# who may call\nci: file-token-1\n\nfile-token-2\n');
  chmodSync(tokensFile, 0o600);
  process.env['FLIGHT_RUNNER_TOKEN'] = 'env-token';
  // The child's environment is copied when it is spawned, synchronously inside the call.
  const starting = startServerProcess(['memory-server', '--port', '0', '--tokens-file', tokensFile]);
  delete process.env['FLIGHT_RUNNER_TOKEN'];
  const server = await starting;
  t.teardown(() => server.stop());
  const table = new Table({ id: vectorFromArray([1, 2, 3], new Int32()) });
  for (const token of ['env-token', 'file-token-1', 'file-token-2']) {
    const client = new FlightClient(server.uri, { token });
    t.teardown(() => client.close());
    await client.putTable(FlightDescriptor.path(token), table);
    const info = await client.getFlightInfo(FlightDescriptor.path(token));
    t.is(info.totalRecords, 3);
  }
  for (const token of ['ci', 'ci: file-token-1', 'wrong']) {
    const client = new FlightClient(server.uri, { token });
    t.teardown(() => client.close());
    t.is((await refused(t, listActions(client))).code, Status.UNAUTHENTICATED, token);
  }
  t.regex(server.stderr(), /"msg":"credentials","tokens":3/);
  t.notRegex(server.stderr(), /readable by other users/);
});

test('serve: server.auth.tokensFile and server.tls from the config, relative to it: TLS clients (ours, pyarrow) with the token work', async (t) => {
  const dir = tempDir(t);
  selfSigned(dir, 'server');
  writeFileSync(join(dir, 'tokens'), 'ops:config-token\n');
  chmodSync(join(dir, 'tokens'), 0o644);
  const config = join(dir, 'serve.yaml');
  writeFileSync(config, [
    'server:',
    '  auth: { tokensFile: tokens }',
    '  tls: { cert: server.crt, key: server.key }',
    'runners:',
    `  - path: ${JSON.stringify(IRIS)}`,
    '',
  ].join('\n'));
  const server = await startServerProcess(['serve', config, '--port', '0']);
  t.teardown(() => server.stop());
  t.regex(server.uri, /^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
  const rootCerts = readFileSync(join(dir, 'server.crt'));
  const client = new FlightClient(server.uri, { rootCerts, token: 'config-token' });
  const noToken = new FlightClient(server.uri, { rootCerts });
  const plaintext = new FlightClient(server.uri.replace('grpc+tls', 'grpc'), { token: 'config-token' });
  t.teardown(() => { client.close(); noToken.close(); plaintext.close(); });
  t.true((await listActions(client)).includes('health'));
  t.is((await refused(t, listActions(noToken))).code, Status.UNAUTHENTICATED);
  t.not((await refused(t, listActions(plaintext))).code, Status.OK);
  // pyarrow (Flight C++) over the same TLS, with the token as a header, and without it.
  const pyarrow = await run(venvPython(), ['-c', [
    'import sys, pyarrow.flight as fl',
    'uri, cert = sys.argv[1], open(sys.argv[2], "rb").read()',
    'client = fl.FlightClient(uri, tls_root_certs=cert)',
    'opts = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer config-token")])',
    'print(sorted(a.type for a in client.list_actions(opts)))',
    'try:',
    '    list(client.list_actions())',
    '    print("accepted without a token")',
    'except fl.FlightUnauthenticatedError:',
    '    print("UNAUTHENTICATED")',
  ].join('\n'), server.uri, join(dir, 'server.crt')]);
  t.is(pyarrow.code, 0, pyarrow.stderr);
  const [actions, anonymous] = pyarrow.stdout.trim().split('\n');
  t.regex(actions!, /'health'/);
  t.is(anonymous, 'UNAUTHENTICATED');
  // The tokens file is readable by others (0644): said once, naming it.
  t.regex(server.stderr(), new RegExp(`"level":"warn","msg":"tokens file is readable by other users; chmod 600 it","file":"${join(dir, 'tokens')}"`));
});

/** ListActions over grpc-js with a client certificate (FlightClient has none): resolves with the number of actions. */
function listActionsWithCert(port: number, serverCert: Buffer, client?: { cert: string; key: string }): Promise<number> {
  const creds = client
    ? credentials.createSsl(serverCert, readFileSync(client.key), readFileSync(client.cert))
    : credentials.createSsl(serverCert);
  const grpc = new Client(`127.0.0.1:${port}`, creds);
  return new Promise<number>((resolve, reject) => {
    let count = 0;
    const call = grpc.makeServerStreamRequest('/arrow.flight.protocol.FlightService/ListActions',
      () => Buffer.alloc(0), (b: Buffer) => b, {}, new Metadata(), { deadline: Date.now() + 30_000 });
    call.on('data', () => { count++; });
    call.on('error', (err) => { grpc.close(); reject(err); });
    call.on('end', () => { grpc.close(); resolve(count); });
  });
}

test('memory-server --tls-client-ca: mutual TLS refuses clients without a certificate or with one from another CA', async (t) => {
  const dir = tempDir(t);
  const serverCert = selfSigned(dir, 'server');
  const ca = selfSigned(dir, 'client-ca');
  const stranger = selfSigned(dir, 'stranger-ca');
  const good = signedBy(dir, 'good-client', ca);
  const bad = signedBy(dir, 'bad-client', stranger);
  const server = await startServerProcess(['memory-server', '--port', '0',
    '--tls-cert', serverCert.cert, '--tls-key', serverCert.key, '--tls-client-ca', ca.cert]);
  t.teardown(() => server.stop());
  const port = Number(/:(\d+)$/.exec(server.uri)![1]);
  const trusted = readFileSync(serverCert.cert);

  t.true(await listActionsWithCert(port, trusted, good) > 0);
  const noCert = await t.throwsAsync(listActionsWithCert(port, trusted));
  t.is((noCert as { code?: number }).code, Status.UNAVAILABLE);
  const otherCa = await t.throwsAsync(listActionsWithCert(port, trusted, bad));
  t.is((otherCa as { code?: number }).code, Status.UNAVAILABLE);
  // FlightClient (no client certificate) is refused as well.
  const flight = new FlightClient(server.uri, { rootCerts: trusted });
  t.teardown(() => flight.close());
  t.is((await refused(t, listActions(flight))).code, Status.UNAVAILABLE);
  t.regex(server.stderr(), /"mutualTls":true/);
  t.notRegex(server.stderr(), /without authentication/);
});

test('a non-loopback --host without auth logs a warning naming the address and the fix (memory-server, serve); with a token it does not', async (t) => {
  const open = await startServerProcess(['memory-server', '--host', '0.0.0.0', '--port', '0']);
  t.teardown(() => open.stop());
  const warning = open.stderr().split('\n').find((l) => l.includes('"level":"warn"'));
  t.truthy(warning, open.stderr());
  const parsed = JSON.parse(warning!) as { msg: string; address: string; fix: string };
  t.is(parsed.address, '0.0.0.0');
  t.regex(parsed.msg, /without authentication/);
  t.regex(parsed.fix, /--token/);

  const guarded = await startServerProcess(['memory-server', '--host', '0.0.0.0', '--port', '0', '--token', 'guard']);
  t.teardown(() => guarded.stop());
  t.notRegex(guarded.stderr(), /"level":"warn"/);

  const serve = await startServerProcess(['serve', IRIS, '--host', '0.0.0.0', '--port', '0']);
  t.teardown(() => serve.stop());
  t.regex(serve.stderr(), /"level":"warn","msg":"serving without authentication on a non-loopback address[^"]*","address":"0\.0\.0\.0"/);

  const local = await startServerProcess(['memory-server', '--port', '0']);
  t.teardown(() => local.stop());
  t.notRegex(local.stderr(), /"level":"warn"/);
});

test('serve: metrics bind 127.0.0.1 by default whatever --host is; --metrics-host on a non-loopback address warns', async (t) => {
  const server = await startServerProcess(['serve', IRIS, '--host', '0.0.0.0', '--port', '0', '--token', 'm', '--metrics-port', '0']);
  t.teardown(() => server.stop());
  t.regex(server.stderr(), /"msg":"metrics","url":"http:\/\/127\.0\.0\.1:\d+\/metrics"/);
  t.notRegex(server.stderr(), /"level":"warn"/);

  const exposed = await startServerProcess(['serve', IRIS, '--port', '0', '--metrics-port', '0', '--metrics-host', '0.0.0.0']);
  t.teardown(() => exposed.stop());
  const url = /"msg":"metrics","url":"([^"]+)"/.exec(exposed.stderr())?.[1];
  t.regex(url ?? '', /^http:\/\/0\.0\.0\.0:\d+\/metrics$/);
  t.regex(exposed.stderr(), /"level":"warn","msg":"metrics endpoint on a non-loopback address[^"]*","address":"0\.0\.0\.0"/);
  // Reached through loopback, not the wildcard address.
  const response = await fetch(url!.replace('0.0.0.0', '127.0.0.1'));
  t.is(response.status, 200);
});

test('serve warns when a JS runner is configured in process, naming it; not for the default (worker threads)', async (t) => {
  const dir = tempDir(t);
  const config = join(dir, 'serve.yaml');
  writeFileSync(config, [
    'runners:',
    `  - path: ${JSON.stringify(join(ROOT, 'examples/runners/text-tools.ts'))}`,
    '    scheduling: { isolation: in-process }',
    `  - path: ${JSON.stringify(join(ROOT, 'examples/runners/loan-scorer.ts'))}`,
    '',
  ].join('\n'));
  const server = await startServerProcess(['serve', config, '--port', '0']);
  t.teardown(() => server.stop());
  const warnings = server.stderr().split('\n').filter((l) => l.includes('"level":"warn"')).map((l) => JSON.parse(l) as Record<string, string>);
  t.is(warnings.length, 1, server.stderr());
  t.is(warnings[0]!['msg'], 'JS runner configured in process');
  t.is(warnings[0]!['runner'], 'text_tools');
  t.is(warnings[0]!['at'], 'runners[0].scheduling.isolation');
  t.is(warnings[0]!['config'], config);
  t.regex(warnings[0]!['why']!, /busy loop.*SIGTERM/);
  t.regex(warnings[0]!['fix']!, /worker threads/);
});

test('bad credential flags exit 2 naming the flag: a cert without its key, a missing tokens file, a token with ":", a key that is no key or not the cert key, TLS with a socket', async (t) => {
  const dir = tempDir(t);
  const { cert } = selfSigned(dir, 'server');
  const other = selfSigned(dir, 'other');
  const cases: [string[], string][] = [
    [['memory-server', '--port', '0', '--tls-cert', cert], '--tls-cert: needs a private key too (--tls-key or server.tls.key)'],
    [['memory-server', '--port', '0', '--tokens-file', join(dir, 'missing')], `--tokens-file: cannot read tokens file: ENOENT: no such file or directory, open '${join(dir, 'missing')}'`],
    [['serve', IRIS, '--port', '0', '--token', 'ci:secret'], '--token (#1): a token cannot contain ":" (to name a token, use a tokens file with "identity:token" lines)'],
    [['memory-server', '--port', '0', '--tls-cert', cert, '--tls-key', cert], `--tls-key: ${cert} is not a PEM private key`],
    [['memory-server', '--port', '0', '--tls-cert', cert, '--tls-key', other.key], `--tls-key: ${other.key} is not the private key of ${cert}\n`],
  ];
  for (const [args, line] of cases) {
    const result = await runCli(args, 60_000);
    t.is(result.code, 2, result.stderr);
    t.true(result.stderr.startsWith(`flight-runner ${args[0]}: invalid configuration:\n${line}`), result.stderr);
    t.is(result.stdout, '');
  }
  // TLS applies to every address the server binds: a unix socket would be unusable.
  const socket = await runCli(['memory-server', '--port', '0', '--tls-cert', cert, '--tls-key', join(dir, 'server.key'), '--socket', join(dir, 'flight.sock')], 60_000);
  t.is(socket.code, 2, socket.stderr);
  t.true(socket.stderr.startsWith('flight-runner memory-server: --socket (server.socket) cannot be combined with TLS'), socket.stderr);
  t.is(socket.stdout, '');
});
