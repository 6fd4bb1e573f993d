/**
 * The error matrix of every RPC against a real server on loopback: a missing handler,
 * a handler throwing a FlightError of each code or a plain Error, errors thrown after
 * part of a stream was sent, and bad streams from the client. After each failure the
 * same server must still serve a good call.
 */
import test, { type ExecutionContext } from 'ava';
import { Int32, Table, vectorFromArray, type RecordBatch } from 'apache-arrow';
import {
  FlightDataEncoder, FlightDescriptor, FlightError, Status, encodeFlightData,
  type CallContext, type CallOptions, type FlightClient, type FlightHandlers, type FlightInfo,
} from '../../src/flight/index.js';
import { startServer } from '../helpers/memory-server.js';
import { RawFlightClient } from '../helpers/raw-grpc.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Every error code a handler can answer with (all but OK). */
const ERROR_CODES = Object.values(Status).filter((c): c is Status => typeof c === 'number' && c !== Status.OK);

const table = new Table({ n: vectorFromArray([1, 2, 3], new Int32()) });
const info: FlightInfo = { schema: table.schema, descriptor: FlightDescriptor.path('t'), endpoints: [], totalRecords: 3, totalBytes: -1, ordered: true };

/**
 * Throws what the call's headers ask for: `x-fail-code` (a FlightError with that code),
 * or `x-fail-plain` (a plain Error), with `x-fail-message` as the message.
 */
function failIfAsked(ctx: CallContext): void {
  const header = (name: string) => ctx.metadata.get(name)[0]?.toString();
  // Percent-encoded, as header values are ASCII; the status message itself need not be.
  const message = decodeURIComponent(header('x-fail-message') ?? 'failure asked for');
  const code = header('x-fail-code');
  if (code !== undefined) throw new FlightError(Number(code), message);
  if (header('x-fail-plain') !== undefined) throw new Error(message);
}

/** How many batches a streaming handler sends (or echoes) before failing, if asked. */
function failAfter(ctx: CallContext): number {
  const value = ctx.metadata.get('x-fail-after')[0];
  return value === undefined ? Infinity : Number(value);
}

/** A server whose every RPC works, unless the call's headers ask it to fail. */
const handlers: FlightHandlers = {
  async *handshake(requests, ctx) {
    failIfAsked(ctx);
    for await (const payload of requests) yield payload;
  },
  async *listFlights(_criteria, ctx) {
    failIfAsked(ctx);
    yield info;
  },
  getFlightInfo(_descriptor, ctx) {
    failIfAsked(ctx);
    return info;
  },
  pollFlightInfo(_descriptor, ctx) {
    failIfAsked(ctx);
    return { info, progress: 1 };
  },
  getSchema(_descriptor, ctx) {
    failIfAsked(ctx);
    return table.schema;
  },
  async doGet(ticket, output, ctx) {
    failIfAsked(ctx);
    const limit = failAfter(ctx);
    const count = Number(text(ticket));
    await output.begin(table.schema);
    for (let i = 0; i < count; i++) {
      if (i === limit) throw new FlightError(Status.DATA_LOSS, `DoGet failed after ${i} batches`);
      await output.write(table.batches[0]!, utf8(`get-${i}`));
    }
  },
  async doPut(input, results, ctx) {
    failIfAsked(ctx);
    let rows = 0;
    for await (const { batch } of input) if (batch) rows += batch.numRows;
    await results.write(utf8(`rows=${rows}`));
  },
  async doExchange(input, output, ctx) {
    failIfAsked(ctx);
    const limit = failAfter(ctx);
    let seen = 0;
    for await (const { batch, appMetadata } of input) {
      if (!batch) continue;
      if (seen === limit) throw new FlightError(Status.ABORTED, `DoExchange failed after ${seen} batches`);
      await output.write(batch, appMetadata);
      seen++;
    }
  },
  async *doAction(action, ctx) {
    failIfAsked(ctx);
    yield utf8(`done ${action.type}`);
  },
  async *listActions(ctx) {
    failIfAsked(ctx);
    yield { type: 'noop', description: 'does nothing' };
  },
};

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * Each RPC, called to completion through the FlightClient. Returns something that shows
 * the call worked, so a good call after a failure can be checked.
 */
const RPCS: Record<string, (client: FlightClient, options: CallOptions) => Promise<unknown>> = {
  Handshake: async (c, o) => (await c.handshake([utf8('hello')], o)).map(text),
  ListFlights: async (c, o) => (await collect(c.listFlights(undefined, o))).map((i) => i.totalRecords),
  GetFlightInfo: async (c, o) => (await c.getFlightInfo(FlightDescriptor.path('t'), o)).totalRecords,
  PollFlightInfo: async (c, o) => (await c.pollFlightInfo(FlightDescriptor.path('t'), o)).progress,
  GetSchema: async (c, o) => (await c.getSchema(FlightDescriptor.path('t'), o))?.fields.map((f) => f.name),
  DoGet: async (c, o) => (await c.doGet('2', o).readAll()).numRows,
  DoPut: async (c, o) => (await c.putTable(FlightDescriptor.path('t'), table, o)).map(text),
  DoExchange: async (c, o) => (await collect(c.exchange(FlightDescriptor.path('t'), table.batches, o))).length,
  DoAction: async (c, o) => (await collect(c.doAction('go', undefined, o))).map(text),
  ListActions: async (c, o) => (await collect(c.listActions(o))).map((a) => a.type),
};

const GOOD_RESULTS: Record<string, unknown> = {
  Handshake: ['hello'], ListFlights: [3], GetFlightInfo: 3, PollFlightInfo: 1, GetSchema: ['n'], DoGet: 6,
  DoPut: ['rows=3'], DoExchange: 1, DoAction: ['done go'], ListActions: ['noop'],
};

/** Asserts that `promise` fails with a FlightError of `code` whose message matches. */
async function expectStatus(t: ExecutionContext, promise: Promise<unknown>, code: Status, message: RegExp | string, label: string): Promise<void> {
  const err = await t.throwsAsync(promise, { instanceOf: FlightError }, label);
  t.is(err?.codeName, Status[code], label);
  if (typeof message === 'string') t.is(err?.message, message, label);
  else t.regex(err?.message ?? '', message, label);
}

for (const [rpc, call] of Object.entries(RPCS)) {
  test(`${rpc}: a server without the handler answers UNIMPLEMENTED naming ${rpc}`, async (t) => {
    const s = await startServer({});
    try {
      await expectStatus(t, call(s.client, {}), Status.UNIMPLEMENTED, `${rpc} is not implemented by this server`, rpc);
      // Still serving: a second call gets the same clear answer, not a broken channel.
      await expectStatus(t, call(s.client, {}), Status.UNIMPLEMENTED, `${rpc} is not implemented by this server`, `${rpc} again`);
    } finally {
      await s.close();
    }
  });

  test(`${rpc}: a FlightError of every code reaches the client with its code and message`, async (t) => {
    const s = await startServer(handlers);
    try {
      for (const code of ERROR_CODES) {
        const message = `${rpc} refused with ${Status[code]} (ünïcode kept)`;
        const headers = { 'x-fail-code': String(code), 'x-fail-message': encodeURIComponent(message) };
        await expectStatus(t, call(s.client, { headers }), code, message, `${rpc} ${Status[code]}`);
        t.deepEqual(await call(s.client, {}), GOOD_RESULTS[rpc], `good ${rpc} after ${Status[code]}`);
      }
    } finally {
      await s.close();
    }
  });

  test(`${rpc}: a plain Error becomes INTERNAL with its message`, async (t) => {
    const s = await startServer(handlers);
    try {
      const headers = { 'x-fail-plain': '1', 'x-fail-message': encodeURIComponent(`${rpc} handler bug`) };
      await expectStatus(t, call(s.client, { headers }), Status.INTERNAL, `${rpc} handler bug`, rpc);
      t.deepEqual(await call(s.client, {}), GOOD_RESULTS[rpc]);
    } finally {
      await s.close();
    }
  });
}

test('DoGet: batches sent before an error reach the client, then the error', async (t) => {
  const s = await startServer(handlers);
  try {
    for (const failAt of [0, 1, 5]) {
      const reader = s.client.doGet('10', { headers: { 'x-fail-after': String(failAt) } });
      const received: string[] = [];
      const err = await t.throwsAsync(async () => {
        for await (const { batch, appMetadata } of reader) {
          t.deepEqual([...batch!.getChild('n')!], [1, 2, 3]);
          received.push(text(appMetadata!));
        }
      }, { instanceOf: FlightError });
      t.is(err?.code, Status.DATA_LOSS);
      t.is(err?.message, `DoGet failed after ${failAt} batches`);
      t.deepEqual(received, Array.from({ length: failAt }, (_, i) => `get-${i}`));
      t.is(await RPCS['DoGet']!(s.client, {}), 6);
    }
  } finally {
    await s.close();
  }
});

test('DoExchange: batches echoed before an error reach the client, then the error', async (t) => {
  const s = await startServer(handlers);
  try {
    for (const failAt of [0, 2, 7]) {
      const ex = s.client.doExchange(FlightDescriptor.path('x'), { headers: { 'x-fail-after': String(failAt) } });
      const received: string[] = [];
      const reading = (async () => {
        for await (const { appMetadata } of ex.reader) received.push(text(appMetadata!));
      })();
      const writing = (async () => {
        // The server may end the call before all are written; a failed write is expected then.
        try {
          for (let i = 0; i < 10; i++) await ex.writer.write(table.batches[0]!, utf8(`x-${i}`));
          ex.end();
        } catch { /* the status is asserted on the reading side */ }
      })();
      const err = await t.throwsAsync(reading, { instanceOf: FlightError });
      await writing;
      t.is(err?.code, Status.ABORTED);
      t.is(err?.message, `DoExchange failed after ${failAt} batches`);
      t.deepEqual(received, Array.from({ length: failAt }, (_, i) => `x-${i}`));
      t.is(await RPCS['DoExchange']!(s.client, {}), 1);
    }
  } finally {
    await s.close();
  }
});

/** A record-batch FlightData with no schema message before it. */
function batchWithoutSchema(batch: RecordBatch, descriptor?: FlightDescriptor): Buffer[] {
  const [, ...messages] = [new FlightDataEncoder().encodeSchema(batch.schema, descriptor), ...new FlightDataEncoder().encodeBatch(batch)];
  return messages.map((m, i) => encodeFlightData(i === 0 && descriptor ? { ...m, descriptor } : m));
}

for (const rpc of ['DoPut', 'DoExchange'] as const) {
  test(`${rpc}: a client stream with a batch before its schema is INVALID_ARGUMENT; the server keeps serving`, async (t) => {
    const s = await startServer(handlers);
    const raw = new RawFlightClient(s.location);
    try {
      for (const descriptor of [FlightDescriptor.path('bad'), undefined]) {
        const result = await raw.call(rpc, batchWithoutSchema(table.batches[0]!, descriptor), 10_000);
        t.is(Status[result.code], 'INVALID_ARGUMENT');
        t.is(result.details, 'record batch before schema');
        t.deepEqual(await RPCS[rpc]!(s.client, {}), GOOD_RESULTS[rpc]);
      }
      // Protobuf that is not FlightData at all: named as such.
      const garbage = await raw.call(rpc, [Buffer.from([0x0a, 0x7f, 0x01])], 10_000);
      t.is(Status[garbage.code], 'INVALID_ARGUMENT');
      t.regex(garbage.details, /^malformed FlightData: field length 127 runs past the end of the message/);
      t.deepEqual(await RPCS[rpc]!(s.client, {}), GOOD_RESULTS[rpc]);
    } finally {
      raw.close();
      await s.close();
    }
  });
}

test('DoPut: a batch whose schema differs from the stream schema is refused by the writer, naming why', async (t) => {
  const s = await startServer(handlers);
  try {
    const put = s.client.doPut(FlightDescriptor.path('p'));
    await put.writer.begin(table.schema);
    const other = new Table({ other: vectorFromArray(['x']) }).batches[0]!;
    const err = await t.throwsAsync(put.writer.write(other), { instanceOf: FlightError });
    t.is(err?.code, Status.INVALID_ARGUMENT);
    t.is(err?.message, 'batch schema differs from the schema this stream began with');
    t.deepEqual(text((await put.finish())[0]!), 'rows=0');
  } finally {
    await s.close();
  }
});
