/**
 * The exchange pipeline's entry points beyond what the contract suites reach through
 * local() and connect(): callMethod (one batch, the entry of non-Flight protocols), the
 * answer to an input with a schema and no batch, stats and call counts, and a reader
 * that stops early.
 */
import { getEventListeners } from 'node:events';
import test from 'ava';
import { Field, Float32, Float64, type RecordBatch, type Schema, vectorFromArray } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, Status, type FlightChunk } from '../../src/index.js';
import { methodOf } from '../../src/runner/call.js';
import { callInProcess, callMethod, chunkSource, exchangeChunks, runExchange, serverTarget, type ExchangeSink, type ExchangeSource, type MethodTarget } from '../../src/runner/exchange.js';
import { startRunnerServer } from '../../src/runner/runner-server.js';
import { RunnerRegistry } from '../../src/runner/registry.js';
import { PARAMS_METADATA_KEY } from '../../src/runner/params.js';
import { StatsRegistry } from '../../src/runner/stats.js';
import { loadTestRunners } from '../helpers/runners.js';
import { primitive, rawBatch } from './contract.js';

const runners = await loadTestRunners();
const runner = (name: string) => runners.find((r) => r.name === name)!;
const target = (name: string, method?: string, extra: Partial<MethodTarget> = {}): MethodTarget => ({ runner: runner(name), method: methodOf(runner(name), method), ...extra });

test('callMethod: one batch in, its answer out, conformed (float32 -> float64), counted in stats and by onCall', async (t) => {
  const stats = new StatsRegistry();
  const calls: [string, string, number, string][] = [];
  const square = target('values', 'square', { stats: stats.of('values', 'square'), onCall: (r, m, rows, _ms, code) => calls.push([r, m, rows, code]) });
  const answer = await callMethod(square, rawBatch([primitive('x', new Float32(), [1.5, -2, 3])]));
  t.deepEqual(Array.from(answer.getChild('y')!.toArray() as Float64Array), [2.25, 4, 9]);

  const refused = await t.throwsAsync(callMethod(square, rawBatch([primitive('z', new Float64(), [1])])), { instanceOf: FlightError });
  t.is(refused?.code, Status.INVALID_ARGUMENT);
  t.is(refused?.message, "runner 'values' method 'square': missing input column 'x' (scalar<float64>); received 'z': rename column 'z' to 'x'");

  t.deepEqual(calls, [['values', 'square', 3, 'OK'], ['values', 'square', 0, 'INVALID_ARGUMENT']]);
  const json = stats.toJSON().runners['values']!['square']!;
  t.is(json.calls, 1); // a refusal before any batch ran is a failed call for onCall (metrics), not a batch
  t.is(json.rows, 3);
  t.is(json.errors, 0);
});

test('callMethod: a batch that already has the conformed schema goes on as it came, its nulls still refused', async (t) => {
  const square = target('values', 'square');
  // The schema a client built from the signature: x, float64, not nullable, no metadata.
  const field = new Field('x', new Float64(), false);
  const values = vectorFromArray([1.5, -2, 3], new Float64()).data[0]!;
  t.deepEqual(Array.from((await callMethod(square, rawBatch([[field, values]]))).getChild('y')!.toArray() as Float64Array), [2.25, 4, 9]);
  // The same schema over a column that holds a null: refused as any non-nullable input is.
  const withNull = vectorFromArray([1, null, 3], new Float64()).data[0]!;
  const refused = await t.throwsAsync(callMethod(square, rawBatch([[field, withNull]])), { instanceOf: FlightError });
  t.is(refused?.code, Status.INVALID_ARGUMENT);
  t.regex(refused?.message ?? '', /column 'x' has 1 null row\(s\), the first at row 1/);
});

test('callMethod: params from the context, overridden by the schema\'s, and a deadline already passed', async (t) => {
  const threshold = target('misc', 'threshold');
  const x = primitive('x', new Float64(), [1, 2, 3]);
  const above = (batch: Awaited<ReturnType<typeof callMethod>>) => Array.from(batch.getChild('above')!.toArray() as Iterable<boolean>);
  t.deepEqual(above(await callMethod(threshold, rawBatch([x]), { params: { threshold: 2 } })), [false, false, true]);
  const withSchemaParams = rawBatch([x], new Map([[PARAMS_METADATA_KEY, JSON.stringify({ threshold: 0 })]]));
  t.deepEqual(above(await callMethod(threshold, withSchemaParams, { params: { threshold: 2 } })), [true, true, true]);

  const late = await t.throwsAsync(callMethod(threshold, rawBatch([x]), { deadline: new Date(Date.now() - 1) }), { instanceOf: FlightError });
  t.is(late?.code, Status.DEADLINE_EXCEEDED);
  t.is(late?.message, "deadline passed before runner 'misc' method 'threshold' ran");
});

/** A sink that records what was written. */
function recordingSink(): ExchangeSink & { begun: Schema[]; chunks: FlightChunk[] } {
  const sink = {
    schema: undefined as Schema | undefined,
    begun: [] as Schema[],
    chunks: [] as FlightChunk[],
    async begin(schema: Schema) { sink.schema = schema; sink.begun.push(schema); },
    async write(batch: FlightChunk['batch'] & object, appMetadata?: Uint8Array) {
      if (!sink.schema) await sink.begin(batch.schema);
      sink.chunks.push({ batch, ...(appMetadata ? { appMetadata } : {}) });
    },
    async writeMetadata(appMetadata: Uint8Array) { sink.chunks.push({ appMetadata }); },
  };
  return sink;
}

test('an input with a schema and no batch is answered with the output schema and no batch', async (t) => {
  const schemaOnly = { schema: async () => rawBatch([primitive('x', new Float64(), [1])]).schema, async *[Symbol.asyncIterator]() {} };
  const sink = recordingSink();
  await runExchange(target('values', 'square'), schemaOnly, sink);
  t.deepEqual(sink.begun.map((s) => s.fields.map((f: Field) => `${f.name}: ${String(f.type)}`)), [['y: Float64']]);
  t.deepEqual(sink.chunks, []);
  // No schema at all: the output schema too.
  const nothing = recordingSink();
  await runExchange(target('values', 'square'), chunkSource([]), nothing);
  t.deepEqual(nothing.begun.map((s) => s.fields.map((f: Field) => f.name)), [['y']]);
});

test('a reader that stops early ends the exchange and the caller\'s input generator', async (t) => {
  let finished = false;
  let produced = 0;
  async function* input(): AsyncIterable<FlightChunk> {
    try {
      for (let i = 0; ; i++) {
        produced++;
        yield { batch: rawBatch([primitive('x', new Float64(), [i])]) };
      }
    } finally {
      finished = true;
    }
  }
  const seen: number[] = [];
  for await (const chunk of exchangeChunks(target('values', 'square'), input())) {
    seen.push(Number(chunk.batch!.getChild('y')!.get(0)));
    if (seen.length === 3) break;
  }
  t.deepEqual(seen, [0, 1, 4]);
  await new Promise(setImmediate); // the generator's return() settles after a pending read
  t.true(finished, 'the input generator was closed');
  // Read ahead is bounded by the pipeline window, not the (endless) input.
  t.true(produced <= 3 + 4 + 2, `produced ${produced}`);
});

test('in-process calls sharing one signal and deadlines leave no listener on it', async (t) => {
  const shared = new AbortController();
  const square = target('values', 'square');
  for (let i = 0; i < 50; i++) {
    const ctx = { signal: shared.signal, deadline: new Date(Date.now() + 60_000) };
    for await (const _ of exchangeChunks(square, [{ batch: rawBatch([primitive('x', new Float64(), [i])]) }], ctx)) { /* drained */ }
    await callInProcess(square, rawBatch([primitive('x', new Float64(), [i])]), ctx);
  }
  t.is(getEventListeners(shared.signal, 'abort').length, 0);
});

test('serverTarget: a server\'s call by names, counted in its stats; unknown names are NOT_FOUND as the Flight service says', async (t) => {
  const registry = new RunnerRegistry();
  registry.addRunner(runner('values'));
  await registry.ready();
  const stats = new StatsRegistry();
  const square = serverTarget(registry, 'values', undefined, { stats }); // the default method
  t.is(square.method.signature.name, 'square');
  await callMethod(square, rawBatch([primitive('x', new Float64(), [2, 3])]));
  t.is(stats.toJSON().runners['values']!['square']!.rows, 2);
  const unknown = t.throws(() => serverTarget(registry, 'nope', undefined, { stats }), { instanceOf: FlightError });
  t.is(unknown?.message, "unknown runner 'nope'; runners: 'values'");
  const noMethod = t.throws(() => serverTarget(registry, 'values', 'cube', { stats }), { instanceOf: FlightError });
  t.is(noMethod?.code, Status.NOT_FOUND);
});

/** A source of one schema and `batches`, logging each read; the first batch comes a loop turn later when `late`. */
function loggingSource(batches: RecordBatch[], late: boolean, log: string[]): ExchangeSource {
  return {
    schema: async () => { log.push('schema'); return batches[0]!.schema; },
    async *[Symbol.asyncIterator]() {
      if (late) await new Promise((resolve) => setTimeout(resolve, 5));
      for (const batch of batches) {
        log.push('read batch');
        yield { batch };
      }
    },
  };
}

/** A sink that logs begin and write, in order. */
function loggingSink(log: string[]): ExchangeSink {
  const sink: ExchangeSink & { schema: Schema | undefined } = {
    schema: undefined,
    async begin(schema) { log.push('begin'); sink.schema = schema; },
    async write() { log.push('write'); },
    async writeMetadata() { log.push('metadata'); },
  };
  return sink;
}

test('the output schema goes out in the turn the call began when no batch came with it (a client may wait for it before sending one)', async (t) => {
  const log: string[] = [];
  await runExchange(target('values', 'square'), loggingSource([rawBatch([primitive('x', new Float64(), [2])])], true, log), loggingSink(log));
  t.deepEqual(log, ['schema', 'begin', 'read batch', 'write']);
});

test('with a batch in the same turn, the output schema goes out just before the first answer (one write for both), and before a failure', async (t) => {
  const log: string[] = [];
  await runExchange(target('values', 'square'), loggingSource([rawBatch([primitive('x', new Float64(), [2])])], false, log), loggingSink(log));
  t.deepEqual(log, ['schema', 'read batch', 'begin', 'write']);
  // A first batch that fails: the schema still precedes the status, as when it went first.
  const failed: string[] = [];
  const bad = rawBatch([primitive('x', new Float64(), [1])]);
  const err = await t.throwsAsync(runExchange(target('values', 'square'), loggingSource([bad], false, failed), loggingSink(failed), { deadline: new Date(0) }), { instanceOf: FlightError });
  t.is(err?.code, Status.DEADLINE_EXCEEDED);
  t.deepEqual(failed, ['schema', 'read batch', 'begin']);
});

test('over a real server, a client that waits for the output schema before sending its batch gets it, then its answer', async (t) => {
  const server = await startRunnerServer({ runners: [runner('values')] });
  const client = new FlightClient(server.location);
  try {
    const ex = client.doExchange(FlightDescriptor.path('values', 'square'));
    const input = rawBatch([primitive('x', new Float64(), [3])]);
    await ex.writer.begin(input.schema);
    t.deepEqual((await ex.reader.schema())?.fields.map((f) => f.name), ['y']);
    await ex.writer.write(input);
    ex.end();
    const answers = await ex.reader.readAll();
    t.deepEqual(Array.from(answers.getChild('y')!.toArray() as Float64Array), [9]);
  } finally {
    client.close();
    await server.close();
  }
});

test('a sink that throws instead of rejecting fails the exchange with its error, not the process', async (t) => {
  const x = primitive('x', new Float64(), [1, 2]);
  // The batch arrives a turn after the schema, so the output schema goes out from the
  // end of the first turn (a timer): a throw there would escape to the process.
  async function* later(): AsyncIterable<FlightChunk> {
    await new Promise((resolve) => setImmediate(resolve));
    yield { batch: rawBatch([x]) };
  }
  const broken: ExchangeSink = {
    schema: undefined,
    begin() { throw new Error('the sink broke in begin'); },
    write() { throw new Error('the sink broke in write'); },
    writeMetadata() { throw new Error('the sink broke in writeMetadata'); },
  };
  const schemaFirst: ExchangeSource = { schema: async () => rawBatch([x]).schema, [Symbol.asyncIterator]: () => later()[Symbol.asyncIterator]() };
  const err = await t.throwsAsync(runExchange(target('values', 'square'), schemaFirst, broken));
  t.regex(err?.message ?? '', /the sink broke in (begin|write)/);
  // And with the batch at hand from the start (the schema then goes with the answer).
  const atOnce = await t.throwsAsync(runExchange(target('values', 'square'), chunkSource([{ batch: rawBatch([x]) }]), broken));
  t.regex(atOnce?.message ?? '', /the sink broke in (begin|write)/);
});
