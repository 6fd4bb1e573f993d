/**
 * Authentication and transports against real servers: bearer tokens and the Basic
 * handshake of staticTokenAuth, TLS with a certificate made by openssl for the test,
 * and unix sockets.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, Table, Utf8, vectorFromArray } from 'apache-arrow';
import {
  FlightClient, FlightDescriptor, FlightError, FlightServer, Status, staticTokenAuth, type FlightHandlers,
} from '../../src/flight/index.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';
import { startServer } from '../helpers/memory-server.js';
import { selfSignedCert } from '../helpers/tls.js';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** The in-memory service plus a `whoami` action that answers the caller's identity. */
function handlersWithWhoami(): FlightHandlers {
  const memory = memoryServerHandlers([]);
  return {
    ...memory,
    async *doAction(action, ctx) {
      if (action.type === 'whoami') yield new TextEncoder().encode(ctx.identity ?? '(anonymous)');
      else yield* memory.doAction!(action, ctx);
    },
  };
}

const auth = staticTokenAuth({
  tokens: { 's3cret-token': 'ci', 'alice-token': 'alice' },
  users: { alice: { password: 'correct horse', token: 'alice-token' } },
});

async function whoami(client: FlightClient): Promise<string> {
  const out: string[] = [];
  for await (const r of client.doAction('whoami')) out.push(text(r));
  return out.join();
}

const sample = new Table({ id: vectorFromArray([1, 2, 3], new Int32()), name: vectorFromArray(['a', 'b', null], new Utf8()) });

/** Uploads and reads back `sample` at `path`, returning it as rows. */
async function putAndGet(client: FlightClient, path: string): Promise<unknown[]> {
  await client.putTable(FlightDescriptor.path(path), sample);
  const info = await client.getFlightInfo(FlightDescriptor.path(path));
  const back = await client.doGet(info.endpoints[0]!.ticket).readAll();
  return back.toArray().map((r) => r.toJSON());
}

const rows = sample.toArray().map((r) => r.toJSON());

test('staticTokenAuth: calls without a token, with a wrong one, or not Bearer are UNAUTHENTICATED', async (t) => {
  const s = await startServer(handlersWithWhoami(), { auth });
  try {
    const cases: [FlightClient, RegExp][] = [
      [s.client, /^missing authorization header: send "authorization: Bearer <token>"$/],
      [new FlightClient(s.location, { token: 'wrong' }), /^invalid bearer token$/],
    ];
    for (const [client, message] of cases) {
      for (const call of [() => whoami(client), () => putAndGet(client, 'x'), () => client.getFlightInfo(FlightDescriptor.path('x'))]) {
        const err = await t.throwsAsync(call(), { instanceOf: FlightError });
        t.is(err?.code, Status.UNAUTHENTICATED);
        t.regex(err?.message ?? '', message);
      }
    }
    const basicOnCall = await t.throwsAsync(s.client.getFlightInfo(FlightDescriptor.path('x'), { headers: { authorization: 'Basic YWxpY2U6eA==' } }), { instanceOf: FlightError });
    t.is(basicOnCall?.code, Status.UNAUTHENTICATED);
    t.is(basicOnCall?.message, 'authorization header must be "Bearer <token>"');
    cases[1]![0].close();
  } finally {
    await s.close();
  }
});

test('staticTokenAuth: a valid bearer token works on every kind of call and names the caller', async (t) => {
  const s = await startServer(handlersWithWhoami(), { auth });
  const client = await FlightClient.connect(s.location, { token: 's3cret-token' });
  try {
    t.is(await whoami(client), 'ci');
    t.deepEqual(await putAndGet(client, 'tokened'), rows);
    const exchanged = [];
    for await (const chunk of client.exchange(FlightDescriptor.path('echo'), sample.batches)) exchanged.push(chunk.batch!.numRows);
    t.deepEqual(exchanged, [3]);
  } finally {
    client.close();
    await s.close();
  }
});

test('staticTokenAuth: the Basic handshake yields a token that later calls carry', async (t) => {
  const s = await startServer(handlersWithWhoami(), { auth });
  try {
    const token = await s.client.authenticateBasic('alice', 'correct horse');
    t.is(token, 'alice-token');
    t.is(await whoami(s.client), 'alice');
    t.deepEqual(await putAndGet(s.client, 'after-login'), rows);

    const stranger = await FlightClient.connect(s.location);
    try {
      const wrongPassword = await t.throwsAsync(stranger.authenticateBasic('alice', 'wrong'), { instanceOf: FlightError });
      t.is(wrongPassword?.code, Status.UNAUTHENTICATED);
      t.is(wrongPassword?.message, 'invalid username or password');
      const unknownUser = await t.throwsAsync(stranger.authenticateBasic('mallory', 'correct horse'), { instanceOf: FlightError });
      t.is(unknownUser?.code, Status.UNAUTHENTICATED);
      // A failed login leaves the client without a token.
      const err = await t.throwsAsync(whoami(stranger), { instanceOf: FlightError });
      t.is(err?.code, Status.UNAUTHENTICATED);
    } finally {
      stranger.close();
    }
  } finally {
    await s.close();
  }
});

test('a server without auth answers a Basic handshake with no token as UNIMPLEMENTED Handshake', async (t) => {
  const s = await startServer(handlersWithWhoami());
  try {
    const err = await t.throwsAsync(s.client.authenticateBasic('alice', 'x'), { instanceOf: FlightError });
    t.is(err?.code, Status.UNIMPLEMENTED);
    t.is(err?.message, 'Handshake is not implemented by this server');
    t.is(await whoami(s.client), '(anonymous)');
  } finally {
    await s.close();
  }
});

test('TLS: grpc+tls:// with a self-signed certificate trusted through rootCerts', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flight-tls-'));
  const { cert, key } = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  const tlsServer = new FlightServer(handlersWithWhoami(), { tls: { certChain: cert, privateKey: key } });
  const clients: FlightClient[] = [];
  try {
    const { location } = await tlsServer.listen({ host: '127.0.0.1', port: 0 });
    t.regex(location, /^grpc\+tls:\/\/127\.0\.0\.1:\d+$/);
    const client = await FlightClient.connect(location, { rootCerts: cert });
    clients.push(client);
    t.deepEqual(await putAndGet(client, 'over-tls'), rows);

    // Without the certificate among its roots, a client refuses the server.
    const untrusting = new FlightClient(location);
    clients.push(untrusting);
    const err = await t.throwsAsync(untrusting.getFlightInfo(FlightDescriptor.path('over-tls'), { deadline: 10_000 }), { instanceOf: FlightError });
    t.is(err?.code, Status.UNAVAILABLE);
    t.regex(err?.message ?? '', /certificate|self[- ]signed|SSL|TLS/i);

    // A plaintext client cannot talk to the TLS port either.
    const plain = new FlightClient(location.replace('grpc+tls', 'grpc'));
    clients.push(plain);
    const plainErr = await t.throwsAsync(plain.getFlightInfo(FlightDescriptor.path('over-tls'), { deadline: 10_000 }), { instanceOf: FlightError });
    t.not(plainErr?.code, Status.OK);
  } finally {
    for (const c of clients) c.close();
    await tlsServer.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS: tlsServerName checks the certificate against a name other than the dialled address', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flight-tls-'));
  const { cert, key } = selfSignedCert(dir, 'flight.test', 'DNS:flight.test');
  const server = new FlightServer(handlersWithWhoami(), { tls: { certChain: cert, privateKey: key } });
  const clients: FlightClient[] = [];
  try {
    const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
    const named = await FlightClient.connect(location, { rootCerts: cert, tlsServerName: 'flight.test' });
    clients.push(named);
    t.deepEqual(await putAndGet(named, 'named'), rows);

    // Dialled by IP with no override, the name does not match the certificate.
    const unnamed = new FlightClient(location, { rootCerts: cert });
    clients.push(unnamed);
    const err = await t.throwsAsync(unnamed.getFlightInfo(FlightDescriptor.path('named'), { deadline: 10_000 }), { instanceOf: FlightError });
    t.is(err?.code, Status.UNAVAILABLE);
  } finally {
    for (const c of clients) c.close();
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS and auth together: the token travels encrypted and still authenticates', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flight-tls-'));
  const { cert, key } = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  const server = new FlightServer(handlersWithWhoami(), { tls: { certChain: cert, privateKey: key }, auth });
  try {
    const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
    const client = await FlightClient.connect(location, { rootCerts: cert });
    try {
      t.is(await client.authenticateBasic('alice', 'correct horse'), 'alice-token');
      t.is(await whoami(client), 'alice');
    } finally {
      client.close();
    }
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unix socket: grpc+unix:// serves a full round trip', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flight-unix-'));
  const socketPath = join(dir, 'flight.sock');
  const server = new FlightServer(handlersWithWhoami());
  try {
    const { location } = await server.listen({ socketPath });
    t.is(location, `grpc+unix://${socketPath}`);
    const client = await FlightClient.connect(location);
    try {
      t.deepEqual(await putAndGet(client, 'via-socket'), rows);
      const listed = [];
      for await (const info of client.listFlights()) listed.push(info.totalRecords);
      t.deepEqual(listed, [3]);
      // The short form grpc+unix:/path names the same socket.
      const short = await FlightClient.connect(`grpc+unix:${socketPath}`);
      try {
        t.is(await whoami(short), '(anonymous)');
      } finally {
        short.close();
      }
    } finally {
      client.close();
    }
  } finally {
    await server.close(1000);
    rmSync(dir, { recursive: true, force: true });
  }
});
