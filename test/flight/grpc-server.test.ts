/**
 * The node:http2 gRPC server under FlightServer: a second service routed by `:path` on
 * the same port as Flight, what it answers to requests that are not gRPC calls or name
 * no method, the small Flight messages as an independent decoder (grpc-js with
 * proto-loader, the FlightClient's) reads them, and that no server code imports grpc-js.
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { connect, constants } from 'node:http2';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Metadata, credentials, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { Int32, Table, vectorFromArray } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, FlightServer, Status, type FlightHandlers, type FlightInfo } from '../../src/flight/index.js';
import { RawHttp2Client, grpcPrefix } from '../helpers/raw-http2.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const identity = (b: Buffer) => b;
const table = new Table({ n: vectorFromArray([1, 2, 3], new Int32()) });

/** A second service: `Echo/Say` answers its request reversed; `Echo/Chat` answers each message upper-cased. */
function addEcho(server: FlightServer): void {
  server.addService('test.v1.Echo', {
    Say: {
      kind: 'unary',
      async handler(call) {
        const request = await call.single();
        await call.sendMessage(Buffer.from(request).reverse());
      },
    },
    Chat: {
      kind: 'bidi',
      async handler(call) {
        for await (const m of call.messages()) await call.sendMessage(Buffer.from(m.toString('utf8').toUpperCase()));
        if (call.metadata.get('x-fail')[0] !== undefined) throw new FlightError(Status.FAILED_PRECONDITION, `asked to fail: ${String(call.metadata.get('x-fail')[0])}`);
      },
    },
  });
}

function unary(client: Client, path: string, request: Buffer, md = new Metadata()): Promise<{ value?: Buffer; error?: ServiceError }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, identity, identity, request, md, (error, value) => resolve(error ? { error } : { value: value! }));
  });
}

test('a second gRPC service shares the port with Flight, routed by :path', async (t) => {
  const server = new FlightServer({
    async doExchange(input, output) {
      for await (const { batch } of input) if (batch) await output.write(batch);
    },
  });
  addEcho(server);
  t.throws(() => addEcho(server), { message: /test\.v1\.Echo is already registered/ });
  const { location, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const grpc = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const flight = new FlightClient(location);
  try {
    const said = await unary(grpc, '/test.v1.Echo/Say', Buffer.from('abc'));
    t.is(said.value?.toString(), 'cba');

    // A bidi call of the second service, its metadata and its error status, while a Flight call runs on the same connection.
    const chat = (fail?: string) => new Promise<{ answers: string[]; code: number; details: string }>((resolve) => {
      const md = new Metadata();
      if (fail) md.set('x-fail', fail);
      const call = grpc.makeBidiStreamRequest('/test.v1.Echo/Chat', identity, identity, md);
      const answers: string[] = [];
      call.on('data', (b: Buffer) => answers.push(b.toString()));
      call.on('error', () => {});
      call.on('status', (s) => resolve({ answers, code: s.code, details: s.details }));
      call.write(Buffer.from('one'));
      call.write(Buffer.from('two'));
      call.end();
    });
    const [ok, failed, rows] = await Promise.all([
      chat(),
      chat('because'),
      (async () => {
        let n = 0;
        for await (const { batch } of flight.exchange(FlightDescriptor.path('x'), table.batches)) n += batch?.numRows ?? 0;
        return n;
      })(),
    ]);
    t.deepEqual(ok, { answers: ['ONE', 'TWO'], code: GrpcStatus.OK, details: '' });
    t.deepEqual(failed, { answers: ['ONE', 'TWO'], code: GrpcStatus.FAILED_PRECONDITION, details: 'asked to fail: because' });
    t.is(rows, 3);

    // A unary method given two request messages is refused, as gRPC servers do.
    const raw = new RawHttp2Client(location);
    try {
      const stream = raw.session.request({ ':method': 'POST', ':path': '/test.v1.Echo/Say', 'content-type': 'application/grpc', te: 'trailers' });
      const status = await new Promise<{ code: number; message: string }>((resolve) => {
        stream.on('response', (h) => { if (h['grpc-status'] !== undefined) resolve({ code: Number(h['grpc-status']), message: String(h['grpc-message']) }); });
        stream.on('trailers', (h) => resolve({ code: Number(h['grpc-status']), message: String(h['grpc-message']) }));
        stream.on('data', () => {});
        stream.end(Buffer.concat([grpcPrefix(1), Buffer.from('a'), grpcPrefix(1), Buffer.from('b')]));
      });
      t.is(status.code, Status.UNIMPLEMENTED);
      t.regex(decodeURIComponent(status.message), /second request message for unary method \/test\.v1\.Echo\/Say/);
    } finally {
      raw.close();
    }
  } finally {
    grpc.close();
    flight.close();
    await server.close(1000);
  }
});

test('unknown services and methods are UNIMPLEMENTED naming them; non-POST is 405 and other content types 415', async (t) => {
  const server = new FlightServer({});
  addEcho(server);
  const { location, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const grpc = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const session = connect(`http://127.0.0.1:${port}`);
  try {
    const unknownService = await unary(grpc, '/test.v1.Nope/Say', Buffer.alloc(0));
    t.is(unknownService.error?.code, GrpcStatus.UNIMPLEMENTED);
    t.regex(unknownService.error?.details ?? '', /\/test\.v1\.Nope\/Say: unknown service test\.v1\.Nope \(served here: arrow\.flight\.protocol\.FlightService, test\.v1\.Echo\)/);
    const unknownMethod = await unary(grpc, '/arrow.flight.protocol.FlightService/CancelFlightInfo', Buffer.alloc(0));
    t.is(unknownMethod.error?.code, GrpcStatus.UNIMPLEMENTED);
    t.is(unknownMethod.error?.details, 'The server does not implement the method /arrow.flight.protocol.FlightService/CancelFlightInfo');

    const httpStatus = (headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
      const stream = session.request({ ':path': '/test.v1.Echo/Say', ...headers });
      stream.on('response', (h) => resolve(Number(h[constants.HTTP2_HEADER_STATUS])));
      stream.on('error', reject);
      stream.on('data', () => {});
      stream.end();
    });
    t.is(await httpStatus({ ':method': 'GET', 'content-type': 'application/grpc' }), 405);
    t.is(await httpStatus({ ':method': 'POST', 'content-type': 'application/json' }), 415);
    t.is(await httpStatus({ ':method': 'POST' }), 415);

    // The server still serves after all of it.
    t.is((await unary(grpc, '/test.v1.Echo/Say', Buffer.from('xy'))).value?.toString(), 'yx');
    void location;
  } finally {
    session.destroy();
    grpc.close();
    await server.close(1000);
  }
});

test('the small Flight messages read back through proto-loader as the handlers gave them', async (t) => {
  const expiration = new Date(Date.UTC(2026, 10, 30, 12, 0, 0, 250));
  const info: FlightInfo = {
    schema: table.schema,
    descriptor: FlightDescriptor.cmd('select 1'),
    endpoints: [
      { ticket: new Uint8Array([1, 2, 3]), locations: ['grpc://a:1', 'grpc+tls://b:2'], expirationTime: expiration, appMetadata: new Uint8Array([9]) },
      { ticket: new Uint8Array(0), locations: [] },
    ],
    totalRecords: -1,
    totalBytes: 2 ** 40,
    ordered: true,
    appMetadata: new Uint8Array([7, 7]),
  };
  const handlers: FlightHandlers = {
    getFlightInfo: () => info,
    pollFlightInfo: () => ({ info, descriptor: FlightDescriptor.path('next', 'é'), progress: 0.25, expirationTime: expiration }),
    async *listFlights(criteria) { yield { ...info, appMetadata: criteria }; },
    getSchema: () => table.schema,
    async *doAction(action) { yield new TextEncoder().encode(`${action.type}:${new TextDecoder().decode(action.body)}`); yield new Uint8Array(0); },
    async *listActions() { yield { type: 'a', description: 'first' }; yield { type: 'b', description: '' }; },
    async *handshake(requests) { for await (const r of requests) yield r; },
  };
  const server = new FlightServer(handlers);
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new FlightClient(location);
  try {
    const got = await client.getFlightInfo(FlightDescriptor.path('x'));
    t.is(FlightDescriptor.key(got.descriptor!), FlightDescriptor.key(info.descriptor!));
    t.is(got.schema?.fields[0]?.name, 'n');
    t.is(got.totalRecords, -1);
    t.is(got.totalBytes, 2 ** 40);
    t.true(got.ordered);
    t.deepEqual(got.appMetadata, new Uint8Array([7, 7]));
    t.deepEqual(got.endpoints[0], info.endpoints[0]);
    t.deepEqual(got.endpoints[1], { ticket: new Uint8Array(0), locations: [] });

    const poll = await client.pollFlightInfo(FlightDescriptor.path('x'));
    t.is(poll.progress, 0.25);
    t.deepEqual(poll.expirationTime, expiration);
    t.is(FlightDescriptor.key(poll.descriptor!), FlightDescriptor.key(FlightDescriptor.path('next', 'é')));
    t.is(poll.info?.endpoints.length, 2);

    const listed = [];
    for await (const f of client.listFlights(new Uint8Array([5, 6]))) listed.push(f);
    t.deepEqual(listed.map((f) => f.appMetadata), [new Uint8Array([5, 6])]);
    t.deepEqual((await client.getSchema(FlightDescriptor.path('x')))?.fields.map((f) => f.name), ['n']);

    const results = [];
    for await (const r of client.doAction('do', 'it')) results.push(new TextDecoder().decode(r));
    t.deepEqual(results, ['do:it', '']);
    const actions = [];
    for await (const a of client.listActions()) actions.push(a);
    t.deepEqual(actions, [{ type: 'a', description: 'first' }, { type: 'b', description: '' }]);
    t.deepEqual(await client.handshake([new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]), [new Uint8Array([1]), new Uint8Array(0), new Uint8Array([2, 3])]);
  } finally {
    client.close();
    await server.close(1000);
  }
});

test('no server code imports grpc-js', (t) => {
  const files = [
    'src/flight/server.ts', 'src/flight/auth.ts', 'src/flight/proto-messages.ts', 'src/flight/proto-writer.ts',
    ...readdirSync(join(root, 'src/flight/http2')).map((f) => `src/flight/http2/${f}`),
  ];
  t.true(files.length > 5);
  for (const file of files) t.notRegex(readFileSync(join(root, file), 'utf8'), /@grpc\/grpc-js/, file);
});

test('deadlines and cancellation reach the handler of a control RPC through ctx.signal', async (t) => {
  const reasons: string[] = [];
  let listing!: () => void;
  const listed = new Promise<void>((r) => { listing = r; });
  const waitForAbort = (signal: AbortSignal) => new Promise<never>((_, reject) => {
    const onAbort = () => {
      reasons.push(`${Status[(signal.reason as FlightError).code]}: ${(signal.reason as FlightError).message}`);
      reject(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  const server = new FlightServer({
    getFlightInfo: (_d, ctx) => waitForAbort(ctx.signal),
    // biome-ignore lint/correctness/useYield: a listing that never yields, held open until the call is cancelled.
    async *listFlights(_c, ctx) {
      listing();
      await waitForAbort(ctx.signal);
    },
  });
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new FlightClient(location);
  try {
    // The deadline is the server's to enforce: a raw client sends grpc-timeout and does not cancel by itself.
    const raw = new RawHttp2Client(location);
    try {
      const descriptor = Buffer.from([0x08, 0x01, 0x1a, 0x01, 0x78]); // PATH ["x"]
      const timedOut = await raw.call('GetFlightInfo', [grpcPrefix(descriptor.byteLength), descriptor], { headers: { 'grpc-timeout': '200m' }, timeoutMs: 10_000 }).result;
      t.is(timedOut.code, Status.DEADLINE_EXCEEDED, timedOut.message);
    } finally {
      raw.close();
    }
    const controller = new AbortController();
    const reading = (async () => { for await (const _ of client.listFlights(undefined, { signal: controller.signal })) { /* none */ } })();
    await listed;
    controller.abort();
    await t.throwsAsync(reading);
    for (let i = 0; i < 200 && reasons.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
    t.deepEqual(reasons, ['DEADLINE_EXCEEDED: Deadline exceeded', 'CANCELLED: client cancelled the call']);
    for (let i = 0; i < 200 && server.activeCallCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
    t.is(server.activeCallCount, 0);
  } finally {
    client.close();
    await server.close(1000);
  }
});

test('close lets running calls finish, refuses new connections, and after the grace period cancels the rest with UNAVAILABLE', async (t) => {
  let release!: () => void;
  const released = new Promise<void>((r) => { release = r; });
  const aborted: string[] = [];
  const server = new FlightServer({
    // 'finishing' ends when released; 'hanging' only when its signal aborts.
    async getFlightInfo(d, ctx) {
      if (FlightDescriptor.describe(d).includes('finishing')) await released;
      else await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => { aborted.push(Status[(ctx.signal.reason as FlightError).code]); reject(ctx.signal.reason); }));
      return { endpoints: [], totalRecords: 7, totalBytes: -1, ordered: false };
    },
  });
  const { location, port } = await server.listen({ host: '127.0.0.1', port: 0 });
  const client = new FlightClient(location);
  try {
    const finishing = client.getFlightInfo(FlightDescriptor.path('finishing'));
    for (let i = 0; i < 200 && server.activeCallCount < 1; i++) await new Promise((r) => setTimeout(r, 10));
    let closed = false;
    const closing = server.close(60_000).then(() => { closed = true; });
    await new Promise((r) => setTimeout(r, 100));
    t.false(closed, 'close waits for the running call');
    // A new connection is refused once the server closed.
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(`http://127.0.0.1:${port}`);
      s.on('error', () => { resolve(true); s.destroy(); });
      s.on('connect', () => { resolve(false); s.destroy(); });
    });
    t.true(refused, 'no new connections after close');
    release();
    t.is((await finishing).totalRecords, 7);
    await closing;
    t.true(closed);

    // A call that does not end by itself is cancelled after the grace period.
    const second = new FlightServer({
      async getFlightInfo(_d, ctx) {
        await new Promise((_, reject) => ctx.signal.addEventListener('abort', () => { aborted.push(Status[(ctx.signal.reason as FlightError).code]); reject(ctx.signal.reason); }));
        return { endpoints: [], totalRecords: 0, totalBytes: -1, ordered: false };
      },
    });
    const bound = await second.listen({ host: '127.0.0.1', port: 0 });
    const client2 = new FlightClient(bound.location);
    try {
      const hanging = client2.getFlightInfo(FlightDescriptor.path('hanging'));
      for (let i = 0; i < 200 && second.activeCallCount < 1; i++) await new Promise((r) => setTimeout(r, 10));
      await second.close(200);
      const err = await t.throwsAsync(hanging, { instanceOf: FlightError });
      t.is(err?.code, Status.UNAVAILABLE, err?.message);
      t.deepEqual(aborted, ['UNAVAILABLE']);
    } finally {
      client2.close();
    }
  } finally {
    client.close();
  }
});

test('malformed protobuf in a control RPC request is INVALID_ARGUMENT naming the message; the server keeps serving', async (t) => {
  const info: FlightInfo = { endpoints: [], totalRecords: 0, totalBytes: -1, ordered: false };
  const server = new FlightServer({
    getFlightInfo: () => info,
    pollFlightInfo: () => ({ info }),
    getSchema: () => table.schema,
    async *listFlights() { yield info; },
    async *doAction() { yield new Uint8Array(0); },
    async *listActions() { yield { type: 'a', description: '' }; },
    async *handshake(requests) { for await (const r of requests) yield r; },
  });
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  const raw = new RawHttp2Client(location);
  try {
    const messages: Record<string, string> = {
      GetFlightInfo: 'FlightDescriptor', PollFlightInfo: 'FlightDescriptor', GetSchema: 'FlightDescriptor',
      ListFlights: 'Criteria', DoAction: 'Action', ListActions: 'Empty', Handshake: 'HandshakeRequest',
    };
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(16), /field number 0/],
      [Buffer.from([0x0b, 0x00]), /wire type 3/],
      [Buffer.from([0x12, 0x80]), /truncated varint/],
      [Buffer.from([0x12, 0x7f, 0x01]), /runs past the end of the message/],
    ];
    for (const [rpc, message] of Object.entries(messages)) {
      for (const [bytes, reason] of cases) {
        const r = await raw.call(rpc, [grpcPrefix(bytes.byteLength), bytes], { timeoutMs: 10_000 }).result;
        t.is(r.code, Status.INVALID_ARGUMENT, `${rpc} ${bytes.toString('hex')}: ${r.code} ${r.message}`);
        t.regex(r.message, new RegExp(`^malformed ${message}: .*${reason.source}`), rpc);
      }
    }
    const client = new FlightClient(location);
    try {
      t.is((await client.getFlightInfo(FlightDescriptor.path('x'))).totalRecords, 0);
    } finally {
      client.close();
    }
  } finally {
    raw.close();
    await server.close(1000);
  }
});
