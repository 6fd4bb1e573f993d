/**
 * Credentials an attacker would try, on every RPC, every transport the server has (TCP,
 * TLS, unix socket) and both data paths: tokens named after Object.prototype's members
 * (a plain-object lookup finds them), wrong and empty tokens, and Handshakes with no or
 * wrong credentials. Each must be UNAUTHENTICATED; the right token must still work.
 */
import test from 'ava';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import {
  FlightClient, FlightDescriptor, FlightError, FlightServer, Status, staticTokenAuth, type FlightServerOptions,
} from '../../src/flight/index.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';
import { selfSignedCert } from '../helpers/tls.js';

const GOOD_TOKEN = 'the-real-token';
const auth = staticTokenAuth({
  tokens: { [GOOD_TOKEN]: 'ci' },
  users: { alice: { password: 'correct horse', token: GOOD_TOKEN } },
});

/** Tokens that must never authenticate: prototype members, near misses, nothing. */
const BAD_TOKENS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'wrong', 'the-real-toke', `${GOOD_TOKEN}x`];

const sample = new Table({ id: vectorFromArray([1, 2, 3], new Int32()) });

/** One call of each of the ten RPCs, each run to its end. */
const RPCS: Record<string, (c: FlightClient) => Promise<unknown>> = {
  Handshake: (c) => c.handshake([new Uint8Array([1])], { deadline: 10_000 }),
  ListFlights: async (c) => { for await (const _ of c.listFlights(undefined, { deadline: 10_000 })) { /* drain */ } },
  GetFlightInfo: (c) => c.getFlightInfo(FlightDescriptor.path('x'), { deadline: 10_000 }),
  PollFlightInfo: (c) => c.pollFlightInfo(FlightDescriptor.path('x'), { deadline: 10_000 }),
  GetSchema: (c) => c.getSchema(FlightDescriptor.path('x'), { deadline: 10_000 }),
  DoGet: (c) => c.doGet('x', { deadline: 10_000 }).readAll(),
  DoPut: (c) => c.putTable(FlightDescriptor.path('x'), sample, { deadline: 10_000 }),
  DoExchange: async (c) => { for await (const _ of c.exchange(FlightDescriptor.path('echo'), sample.batches, { deadline: 10_000 })) { /* drain */ } },
  DoAction: async (c) => { for await (const _ of c.doAction('list', undefined, { deadline: 10_000 })) { /* drain */ } },
  ListActions: async (c) => { for await (const _ of c.listActions({ deadline: 10_000 })) { /* drain */ } },
};

interface Transport {
  name: string;
  options: Partial<FlightServerOptions>;
  listen: { host: string; port: number } | { socketPath: string };
  client: (location: string, token?: string) => FlightClient;
}

function transports(dir: string): Transport[] {
  const { cert, key } = selfSignedCert(dir, 'localhost', 'DNS:localhost,IP:127.0.0.1');
  return [
    { name: 'tcp', options: {}, listen: { host: '127.0.0.1', port: 0 }, client: (l, token) => new FlightClient(l, token === undefined ? {} : { token }) },
    {
      name: 'tls', options: { tls: { certChain: cert, privateKey: key } }, listen: { host: '127.0.0.1', port: 0 },
      client: (l, token) => new FlightClient(l, { rootCerts: cert, ...(token === undefined ? {} : { token }) }),
    },
    { name: 'unix', options: {}, listen: { socketPath: join(dir, 'flight.sock') }, client: (l, token) => new FlightClient(l, token === undefined ? {} : { token }) },
  ];
}

{
  test(`prototype-named, wrong and missing tokens are refused on every RPC over TCP, TLS and a unix socket`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'flight-auth-'));
    try {
      for (const transport of transports(dir)) {
        const server = new FlightServer(memoryServerHandlers([]), { ...transport.options, auth });
        const { location } = await server.listen(transport.listen);
        const clients: FlightClient[] = [];
        try {
          for (const token of [...BAD_TOKENS, undefined]) {
            const client = transport.client(location, token);
            clients.push(client);
            for (const [rpc, call] of Object.entries(RPCS)) {
              const err = await t.throwsAsync(call(client), { instanceOf: FlightError }, `${transport.name} ${rpc} token=${token}`);
              t.is(err?.code, Status.UNAUTHENTICATED, `${transport.name} ${rpc} token=${token}: ${err?.message}`);
            }
          }
          // The real token still opens every RPC but the ones the memory server answers with its own errors.
          const good = transport.client(location, GOOD_TOKEN);
          clients.push(good);
          t.deepEqual((await good.handshake([])).length, 0, `${transport.name}: Handshake with a valid bearer token`);
          await good.putTable(FlightDescriptor.path('x'), sample);
          const info = await good.getFlightInfo(FlightDescriptor.path('x'));
          t.is((await good.doGet(info.endpoints[0]!.ticket).readAll()).numRows, 3, transport.name);
        } finally {
          for (const c of clients) c.close();
          await server.close(1000);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('Handshake with wrong Basic credentials, prototype-named users or none at all is UNAUTHENTICATED', async (t) => {
  const server = new FlightServer(memoryServerHandlers([]), { auth });
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new FlightClient(location);
  try {
    for (const [user, password] of [['alice', 'wrong'], ['constructor', ''], ['__proto__', 'x'], ['toString', 'correct horse'], ['', '']]) {
      const err = await t.throwsAsync(client.authenticateBasic(user!, password!), { instanceOf: FlightError });
      t.is(err?.code, Status.UNAUTHENTICATED, `${user}:${password}`);
      t.is(err?.message, 'invalid username or password');
    }
    const none = await t.throwsAsync(client.handshake([]), { instanceOf: FlightError });
    t.is(none?.code, Status.UNAUTHENTICATED);
    t.regex(none?.message ?? '', /Handshake needs credentials/);
    t.is(await client.authenticateBasic('alice', 'correct horse'), GOOD_TOKEN);
  } finally {
    client.close();
    await server.close(1000);
  }
});

test('a custom handshake handler sees who the caller is', async (t) => {
  const server = new FlightServer({
    ...memoryServerHandlers([]),
    async *handshake(requests, ctx) {
      for await (const _ of requests) { /* drain */ }
      yield new TextEncoder().encode(`hello ${ctx.identity}`);
    },
  }, { auth });
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new FlightClient(location, { token: GOOD_TOKEN });
  const stranger = new FlightClient(location, { token: 'constructor' });
  try {
    const answers = await client.handshake([]);
    t.deepEqual(answers.map((a) => new TextDecoder().decode(a)), ['hello ci']);
    const err = await t.throwsAsync(stranger.handshake([]), { instanceOf: FlightError });
    t.is(err?.code, Status.UNAUTHENTICATED);
  } finally {
    client.close();
    stranger.close();
    await server.close(1000);
  }
});

test('staticTokenAuth refuses a user whose token is not among the tokens', (t) => {
  t.throws(() => staticTokenAuth({ tokens: { a: 'x' }, users: { bob: { password: 'p', token: 'b' } } }), { message: /user "bob" is given a token that is not among the tokens/ });
});
