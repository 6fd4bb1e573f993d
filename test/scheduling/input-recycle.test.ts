/**
 * A served runner's large input batches: once a batch is answered, its receive buffer
 * takes a later batch of the stream (FlightReader.recycle) when the runner keeps nothing
 * of its input: ONNX in process, any runner in worker threads (which get a copy). Not for
 * a JS function in process, which may keep what it was given. Distinct values in every
 * batch, checked against an oracle outside the server, so any overwrite shows.
 */
import test from 'ava';
import { Float64, Field, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import * as ort from 'onnxruntime-node';
import { Tensor, fixedShapeColumn } from '../../src/codecs/tensor.js';
import type { RemoteCaller } from '../../src/client/remote-caller.js';
import { FlightDescriptor } from '../../src/flight/index.js';
import { MLP, MLP_SPEC, PROBE_SPEC, serveScheduled, starterFor, waitFor, type Served } from './fixtures/helpers.js';

/** 2 MiB of float64 per probe batch, 2 MiB of float32 per mlp_small batch. */
const PROBE_ROWS = (2 << 20) / 8;
const MLP_ROWS = (2 << 20) / (32 * 4);
const BATCHES = 5;

const f64 = new Float64();
const probeSchema = new Schema([new Field('x', f64, false)]);

/** Probe batch k: x = k * 1e6 + row, so every batch's values differ from every other's. */
function probeBatch(k: number): RecordBatch {
  const x = Float64Array.from({ length: PROBE_ROWS }, (_, i) => k * 1e6 + i);
  const data = makeData({ type: f64, length: PROBE_ROWS, nullCount: 0, data: x });
  return new RecordBatch(probeSchema, makeData({ type: new Struct(probeSchema.fields), length: PROBE_ROWS, nullCount: 0, children: [data] }));
}

/** mlp_small batch k: 32 features per row, distinct per batch. */
function mlpInput(k: number): Float32Array {
  return Float32Array.from({ length: MLP_ROWS * 32 }, (_, i) => Math.sin(k * 7919 + i) * 2);
}

function mlpBatch(k: number): RecordBatch {
  const column = fixedShapeColumn(new Tensor('float32', mlpInput(k), [MLP_ROWS, 32]));
  const schema = new Schema([new Field('x', column.type, false)]);
  return new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: MLP_ROWS, nullCount: 0, children: [column.data[0]!] }));
}

interface Streamed {
  /** The answers, in order. */
  answers: RecordBatch[];
  /** The server's reserved receive bytes once each answer had arrived (and its writes had had time to complete). */
  heldAfterAnswer: number[];
}

/**
 * Streams `batches` through one DoExchange to runner/method, sending each batch only once
 * the last one's answer has arrived, and samples the server's receive budget between.
 */
async function streamOneByOne(served: Served, path: string[], batches: RecordBatch[], heldBytes: () => number, expectSpare: boolean): Promise<Streamed> {
  const flight = (served.client.caller as RemoteCaller).client;
  const ex = flight.doExchange(FlightDescriptor.path(...path));
  const reader = ex.reader[Symbol.asyncIterator]();
  const out: Streamed = { answers: [], heldAfterAnswer: [] };
  for (const batch of batches) {
    await ex.writer.write(batch);
    const next = await reader.next();
    if (next.done || !next.value.batch) throw new Error('the exchange ended before its answer');
    out.answers.push(next.value.batch);
    // The spare is kept once the answer's writes complete, a moment after the client has it.
    if (expectSpare) await waitFor('a spare receive buffer', () => heldBytes() > 0, 2_000).catch(() => {});
    else await new Promise((resolve) => setTimeout(resolve, 50));
    out.heldAfterAnswer.push(heldBytes());
  }
  ex.end();
  for (let next = await reader.next(); !next.done; next = await reader.next()) out.answers.push(next.value.batch!);
  return out;
}

for (const isolation of ['worker', 'in-process'] as const) {
  const recycles = isolation === 'worker';
  test.serial(`probe (a JS runner) ${isolation}: answers are right, and input memory is ${recycles ? '' : 'not '}reused`, async (t) => {
    const served = await serveScheduled('probe', 1, starterFor(isolation, PROBE_SPEC), { batching: { enabled: false } });
    t.teardown(() => served.close());
    const heldBytes = () => served.server.server.receiveBudget.heldBytes;
    const batches = Array.from({ length: BATCHES }, (_, k) => probeBatch(k));
    const { answers, heldAfterAnswer } = await streamOneByOne(served, ['probe', 'work'], batches, heldBytes, recycles);
    t.is(answers.length, BATCHES);
    answers.forEach((answer, k) => {
      const y = answer.getChild('y')!.toArray() as Float64Array;
      t.is(y.length, PROBE_ROWS);
      const wrong = y.findIndex((v, i) => v !== 2 * (k * 1e6 + i));
      t.is(wrong, -1, `answer ${k}, row ${wrong}: ${y[wrong]}, expected ${2 * (k * 1e6 + wrong)}`);
    });
    if (recycles) t.true(heldAfterAnswer.some((held) => held >= PROBE_ROWS * 8), `held after each answer: ${heldAfterAnswer.join(', ')}`);
    else t.deepEqual(heldAfterAnswer, heldAfterAnswer.map(() => 0), 'a JS function in process may keep its input: nothing is recycled');
    t.is(heldBytes(), 0, 'spares return their budget when the call ends');
  });
}

test.serial('mlp_small (ONNX) in process: answers match onnxruntime run directly, and input memory is reused', async (t) => {
  const served = await serveScheduled('mlp_small', 1, starterFor('in-process', MLP_SPEC), { batching: { enabled: false } });
  t.teardown(() => served.close());
  const heldBytes = () => served.server.server.receiveBudget.heldBytes;
  const session = await ort.InferenceSession.create(MLP);
  const batches = Array.from({ length: BATCHES }, (_, k) => mlpBatch(k));
  const { answers, heldAfterAnswer } = await streamOneByOne(served, ['mlp_small', 'predict'], batches, heldBytes, true);
  t.is(answers.length, BATCHES);
  for (let k = 0; k < BATCHES; k++) {
    const want = (await session.run({ x: new ort.Tensor('float32', mlpInput(k), [MLP_ROWS, 32]) }))['y']!.data as Float32Array;
    const got = answers[k]!.getChild('y')!.data[0]!.children[0]!.values as Float32Array;
    t.is(got.length, want.length, `answer ${k}`);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    t.true(worst < 1e-5, `answer ${k} differs from onnxruntime by ${worst}`);
  }
  t.true(heldAfterAnswer.some((held) => held >= MLP_ROWS * 128), `held after each answer: ${heldAfterAnswer.join(', ')}`);
  await session.release();
});

test.serial('mlp_small (ONNX) in process, batches streamed ahead of their answers: every answer matches onnxruntime run directly', async (t) => {
  // Up to four batches run at once (PIPELINE_DEPTH) and more wait in the reader's queue:
  // had a batch's memory been reused before its answer was out, a later batch's values
  // would be in it.
  const served = await serveScheduled('mlp_small', 2, starterFor('in-process', MLP_SPEC), { batching: { enabled: false } });
  t.teardown(() => served.close());
  const session = await ort.InferenceSession.create(MLP);
  const count = 12;
  const flight = (served.client.caller as RemoteCaller).client;
  let k = 0;
  for await (const chunk of flight.exchange(FlightDescriptor.path('mlp_small', 'predict'), Array.from({ length: count }, (_, i) => mlpBatch(i)))) {
    const want = (await session.run({ x: new ort.Tensor('float32', mlpInput(k), [MLP_ROWS, 32]) }))['y']!.data as Float32Array;
    const got = chunk.batch!.getChild('y')!.data[0]!.children[0]!.values as Float32Array;
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    t.true(got.length === want.length && worst < 1e-5, `answer ${k} differs from onnxruntime by ${worst}`);
    k++;
  }
  t.is(k, count);
  await session.release();
});
