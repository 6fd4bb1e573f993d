/**
 * Call lifetimes and flow control against a real server: deadlines and cancellation
 * reach the handler through ctx.signal, the server's message size limit answers
 * RESOURCE_EXHAUSTED, and a large exchange with a slow reader stays within bounded
 * memory because backpressure reaches the writer.
 */
import test from 'ava';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { Float64, Table, makeData, RecordBatch, Schema, Field, Struct } from 'apache-arrow';
import {
  FlightClient, FlightDescriptor, FlightError, Status, type CallContext, type FlightHandlers,
} from '../../src/flight/index.js';
import { cancelAfterFirstAnswer, small } from '../helpers/cancelled-exchange.js';
import { startServer } from '../helpers/memory-server.js';


/** Resolves when `signal` aborts, or rejects after `boundMs` so a broken abort fails the test instead of hanging it. */
function aborted(signal: AbortSignal, boundMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      resolve(signal.reason);
      return;
    }
    const timer = setTimeout(() => reject(new Error(`ctx.signal did not abort within ${boundMs} ms`)), boundMs);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    }, { once: true });
  });
}

/** A promise with its resolve function, to hand events from a handler to the test. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * Handlers that start, tell the test so, then wait for their call to end. Each reports
 * the reason its ctx.signal gave (or the error of a wait that was never released).
 */
function waitingHandlers() {
  const started = deferred<CallContext>();
  const ended = deferred<unknown>();
  const waitForEnd = async (ctx: CallContext) => {
    started.resolve(ctx);
    ended.resolve(await aborted(ctx.signal, 20_000).catch((err: unknown) => err));
  };
  const handlers: FlightHandlers = {
    async getFlightInfo(_d, ctx) {
      await waitForEnd(ctx);
      throw new FlightError(Status.INTERNAL, 'unreachable: the call ended first');
    },
    async doGet(_ticket, output, ctx) {
      await output.begin(small.schema);
      await output.write(small.batches[0]!);
      await waitForEnd(ctx);
    },
    async doExchange(input, output, ctx) {
      await input.schema();
      await output.write(small.batches[0]!);
      await waitForEnd(ctx);
    },
  };
  return { handlers, started: started.promise, ended: ended.promise };
}

test('a client deadline ends a slow DoGet with DEADLINE_EXCEEDED and aborts the handler', async (t) => {
  const { handlers, started, ended } = waitingHandlers();
  const s = await startServer(handlers);
  try {
    const reader = s.client.doGet('slow', { deadline: 300 });
    let received = 0;
    const err = await t.throwsAsync(async () => {
      for await (const { batch } of reader) received += batch!.numRows;
    }, { instanceOf: FlightError });
    t.is(err?.code, Status.DEADLINE_EXCEEDED);
    // Whether the batch sent before the deadline arrived first depends on timing; if it did, it is whole.
    t.true(received === 0 || received === 3, `received ${received} rows`);
    const ctx = await started;
    t.true(ctx.deadline instanceof Date, 'the handler saw the deadline');
    const reason = await ended;
    t.true(ctx.signal.aborted, `handler signal not aborted: ${String(reason)}`);
  } finally {
    await s.close();
  }
});

test('a client deadline on a unary call is DEADLINE_EXCEEDED and aborts the handler', async (t) => {
  const { handlers, ended } = waitingHandlers();
  const s = await startServer(handlers);
  try {
    const err = await t.throwsAsync(s.client.getFlightInfo(FlightDescriptor.path('slow'), { deadline: 300 }), { instanceOf: FlightError });
    t.is(err?.code, Status.DEADLINE_EXCEEDED);
    const reason = await ended;
    t.false(reason instanceof Error && /did not abort/.test(reason.message), String(reason));
  } finally {
    await s.close();
  }
});

test('aborting the AbortSignal of a DoGet cancels it on both ends', async (t) => {
  const { handlers, started, ended } = waitingHandlers();
  const s = await startServer(handlers);
  try {
    const controller = new AbortController();
    const reader = s.client.doGet('wait', { signal: controller.signal });
    const reading = (async () => {
      for await (const _ of reader) controller.abort();
    })();
    const err = await t.throwsAsync(reading, { instanceOf: FlightError });
    t.is(err?.code, Status.CANCELLED);
    await started;
    const reason = await ended;
    t.true(reason instanceof FlightError, String(reason));
    t.is((reason as FlightError).code, Status.CANCELLED);
    t.is((reason as FlightError).message, 'client cancelled the call');
  } finally {
    await s.close();
  }
});

test('aborting the AbortSignal of a DoExchange cancels it on both ends; the server keeps serving', async (t) => {
  const { handlers, ended } = waitingHandlers();
  const s = await startServer(handlers);
  try {
    const { first, exchange: ex } = await cancelAfterFirstAnswer(s.client);
    t.is(first?.numRows, 3);
    const reason = await ended;
    t.is((reason as FlightError).code, Status.CANCELLED, String(reason));
    const err = await t.throwsAsync(ex.reader.readAll(), { instanceOf: FlightError });
    t.is(err?.code, Status.CANCELLED);
    // An already-aborted signal cancels before anything is sent.
    const early = await t.throwsAsync(s.client.doGet('x', { signal: AbortSignal.abort() }).readAll(), { instanceOf: FlightError });
    t.is(early?.code, Status.CANCELLED);
  } finally {
    await s.close();
  }
});

/** A one-column float64 batch of `bytes` bytes of values. */
function batchOfBytes(bytes: number): RecordBatch {
  const values = new Float64Array(bytes / 8).map((_, i) => i);
  const schema = new Schema([new Field('v', new Float64(), false)]);
  const column = makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values });
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [column] }));
}

for (const [ending, expected] of [['returns', { code: Status.CANCELLED, message: 'the call has ended' }], ['throws', { code: Status.FAILED_PRECONDITION, message: 'stop here' }]] as const) {
  test(`input read after a handler ${ending} while its client still sends fails with ${Status[expected.code]}`, async (t) => {
    let input: AsyncIterator<unknown> | undefined;
    const s = await startServer({
      async doExchange(reader, output) {
        input = reader[Symbol.asyncIterator]();
        const first = await input.next();
        await output.write((first.value as { batch: RecordBatch }).batch);
        if (ending === 'throws') throw new FlightError(Status.FAILED_PRECONDITION, 'stop here');
      },
    });
    try {
      // The client writes one batch and never half-closes, so the server's input is still open when the call ends.
      const ex = s.client.doExchange(FlightDescriptor.path('early'));
      await ex.writer.write(small.batches[0]!);
      const received: number[] = [];
      const err = await (async () => {
        try {
          for await (const { batch } of ex.reader) received.push(batch!.numRows);
        } catch (e) {
          return e;
        }
      })();
      t.deepEqual(received, [3]);
      if (ending === 'throws') t.is((err as FlightError).code, Status.FAILED_PRECONDITION);
      else t.is(err, undefined);
      // The status went out before the client saw it, so the input is closed with its reason by now.
      const late = await t.throwsAsync(input!.next(), { instanceOf: FlightError });
      t.is(late?.code, expected.code);
      t.is(late?.message, expected.message);
      ex.cancel();
    } finally {
      await s.close();
    }
  });
}

test('the server refuses a message over maxReceiveMessageBytes with RESOURCE_EXHAUSTED and keeps serving', async (t) => {
  const limit = 1024 * 1024;
  const s = await startServer(undefined, { maxReceiveMessageBytes: limit });
  try {
    const big = new Table([batchOfBytes(2 * limit)]);
    const putErr = await t.throwsAsync(s.client.putTable(FlightDescriptor.path('big'), big), { instanceOf: FlightError });
    t.is(putErr?.code, Status.RESOURCE_EXHAUSTED);
    t.regex(putErr?.message ?? '', /larger than max/);

    const exchangeErr = await t.throwsAsync(async () => {
      for await (const _ of s.client.exchange(FlightDescriptor.path('echo'), big.batches)) { /* nothing comes back */ }
    }, { instanceOf: FlightError });
    t.is(exchangeErr?.code, Status.RESOURCE_EXHAUSTED);

    const unaryErr = await t.throwsAsync(s.client.getFlightInfo(FlightDescriptor.cmd(new Uint8Array(2 * limit))), { instanceOf: FlightError });
    t.is(unaryErr?.code, Status.RESOURCE_EXHAUSTED);

    // Under the limit, the same data goes through when split into smaller messages.
    const client = new FlightClient(s.location, { maxMessageBytes: limit / 2 });
    try {
      await client.putTable(FlightDescriptor.path('split'), big);
      const info = await client.getFlightInfo(FlightDescriptor.path('split'));
      t.is(info.totalRecords, big.numRows);
    } finally {
      client.close();
    }
  } finally {
    await s.close();
  }
});

test('the client refuses a response over its maxReceiveMessageBytes with RESOURCE_EXHAUSTED', async (t) => {
  const s = await startServer();
  const limit = 256 * 1024;
  const client = new FlightClient(s.location, { maxReceiveMessageBytes: limit });
  try {
    await s.client.putTable(FlightDescriptor.path('big'), new Table([batchOfBytes(4 * limit)]));
    const info = await client.getFlightInfo(FlightDescriptor.path('big'));
    const err = await t.throwsAsync(client.doGet(info.endpoints[0]!.ticket).readAll(), { instanceOf: FlightError });
    t.is(err?.code, Status.RESOURCE_EXHAUSTED);
  } finally {
    client.close();
    await s.close();
  }
});

/** `global.gc`, enabled at run time so the suite needs no node flag. */
function garbageCollector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

test('a 1 GiB DoExchange through the echo with a slow reader stays in bounded memory', async (t) => {
  const gc = garbageCollector();
  const s = await startServer();
  try {
    const batchBytes = 256 * 1024;
    // 1 GiB: four times the bound asserted below, and quick enough on a loaded machine.
    const totalBytes = 1024 ** 3;
    const batchCount = totalBytes / batchBytes;
    const batch = batchOfBytes(batchBytes);
    const retained = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    const baseline = retained();
    let peakGrowth = 0;
    let peakAhead = 0;
    let written = 0;
    let readBytes = 0;
    let readBatches = 0;

    async function* produce() {
      for (let i = 0; i < batchCount; i++) {
        written += batchBytes;
        yield batch;
      }
    }

    for await (const { batch: echoed } of s.client.exchange(FlightDescriptor.path('echo'), produce())) {
      readBytes += echoed!.getChildAt(0)!.data[0]!.values.byteLength;
      readBatches++;
      // A slow reader: several event-loop turns per batch, in which the writer may run ahead.
      for (let turn = 0; turn < 4; turn++) await nextTurn();
      // Backpressure keeps the writer within the transport's windows and buffers of the reader.
      peakAhead = Math.max(peakAhead, written - readBytes);
      if (readBatches % 256 === 0) peakGrowth = Math.max(peakGrowth, retained() - baseline);
    }
    t.is(readBatches, batchCount);
    t.is(readBytes, totalBytes);
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    t.log(`streamed ${mib(totalBytes)}: writer at most ${mib(peakAhead)} ahead, retained memory grew by at most ${mib(peakGrowth)}`);
    t.true(peakAhead <= totalBytes / 4, `writer ran ${mib(peakAhead)} ahead of the reader`);
    t.true(peakGrowth <= totalBytes / 4, `retained memory grew by ${mib(peakGrowth)}`);
  } finally {
    await s.close();
  }
});

test('small answers held to share one write reach a client that waits for them before sending more', async (t) => {
  // The server answers each batch before the client sends the next, and the client waits for
  // each answer first: had a held frame waited for the call's end, this would never finish.
  const s = await startServer({
    async doExchange(input, output) {
      await output.begin(small.schema);
      for await (const { batch } of input) if (batch) await output.write(batch);
    },
  });
  try {
    const ex = s.client.doExchange(FlightDescriptor.path('ping-pong'));
    await ex.writer.sendDescriptor();
    t.deepEqual((await ex.reader.schema())?.fields.map((f) => f.name), ['n']);
    const answers = ex.reader.batches()[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      await ex.writer.write(small.batches[0]!);
      t.is((await answers.next()).value?.numRows, 3);
    }
    ex.end();
    t.true((await answers.next()).done);
  } finally {
    await s.close();
  }
});
