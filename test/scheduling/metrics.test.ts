/**
 * `flight-runner serve --metrics-port`: what a Prometheus server scrapes after real calls
 * through the real CLI. Counts must match the calls made: successes and refusals by
 * status, rows, latency observations per stage, backend batch sizes, the queue gauge and
 * the instance states.
 */
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { tableFromArrays } from 'apache-arrow';
import { connect } from '../../src/client/index.js';
import { Tensor } from '../../src/codecs/tensor.js';
import type { RemoteCaller } from '../../src/client/remote-caller.js';
import { FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { startServerProcess, writeServeConfig } from '../helpers/serve-process.js';
import { MLP } from './fixtures/helpers.js';

const TEXT_TOOLS = fileURLToPath(new URL('../../examples/runners/text-tools.ts', import.meta.url));

/** Prometheus text format: the value of each series, by its name and labels as written. */
function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** Starts `serve CONFIG` with a metrics port; returns once `runner` has loaded. */
async function serveWithMetrics(t: ExecutionContext, config: string, runner: string) {
  const server = await startServerProcess(['serve', config, '--port', '0', '--metrics-port', '0'], 120_000);
  t.teardown(() => server.stop());
  const url = /"msg":"metrics","url":"([^"]+)"/.exec(server.stderr())?.[1];
  t.truthy(url, `the metrics URL is logged:\n${server.stderr()}`);
  const client = await connect(server.uri);
  t.teardown(() => client.close());
  const end = Date.now() + 120_000;
  while (!client.runners.includes(runner)) {
    if (Date.now() > end) throw new Error(`runner did not load:\n${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
    await client.refresh();
  }
  return { url, client };
}

test('serve --metrics-port: calls, refusals, rows, latency stages, batch sizes, queue and instances', async (t) => {
  const config = writeServeConfig(t, [
    'runners:',
    `  - path: ${JSON.stringify(MLP)}`,
    '    scheduling: { instances: { count: 2 }, batching: { maxBatchRows: 64, maxQueueDelayMs: 5 } }',
  ]);
  const { url, client } = await serveWithMetrics(t, config, 'mlp_small');
  const mlp = client.runner('mlp_small');
  // 40 one-row calls at once (so the batcher merges some) and one 3-row call.
  const one = (i: number) => new Tensor('float32', Float32Array.from({ length: 32 }, (_, k) => Math.sin(i + k)), [1, 32]);
  await Promise.all(Array.from({ length: 40 }, (_, i) => mlp.run(one(i))));
  await mlp.run(new Tensor('float32', new Float32Array(3 * 32), [3, 32]));
  // Refused before the model: a plain Flight client sending a column the model does not take.
  const flight = (client.caller as RemoteCaller).client;
  const wrong = tableFromArrays({ z: Float64Array.from([1]) }).batches[0]!;
  const err = await t.throwsAsync(async () => {
    for await (const chunk of flight.exchange(FlightDescriptor.path('mlp_small'), [wrong])) void chunk;
  }, { instanceOf: FlightError });
  t.is(err.code, Status.INVALID_ARGUMENT);

  const response = await fetch(url!);
  t.is(response.status, 200);
  t.regex(response.headers.get('content-type') ?? '', /text\/plain/);
  const m = parseMetrics(await response.text());
  const labels = 'runner="mlp_small",method="predict"';
  t.is(m.get(`flight_runner_calls_total{${labels},code="OK"}`), 41);
  t.is(m.get(`flight_runner_calls_total{${labels},code="INVALID_ARGUMENT"}`), 1);
  t.is(m.get(`flight_runner_rows_total{${labels}}`), 43);
  t.is(m.get(`flight_runner_latency_seconds_count{${labels},stage="total"}`), 42);
  // Every row that reached the model went through exactly one backend batch.
  const batches = m.get(`flight_runner_batch_rows_count{${labels}}`)!;
  t.is(m.get(`flight_runner_batch_rows_sum{${labels}}`), 43);
  t.true(batches >= 1 && batches < 41, `41 calls merged into ${batches} backend batches`);
  t.is(m.get(`flight_runner_latency_seconds_count{${labels},stage="model"}`), batches);
  t.is(m.get(`flight_runner_latency_seconds_count{${labels},stage="queue"}`), batches);
  t.is(m.get(`flight_runner_queue_rows{${labels}}`), 0);
  t.is(m.get('flight_runner_instances{runner="mlp_small",state="idle"}'), 2);
  t.true([...m.keys()].some((k) => k.startsWith('flight_runner_process_')), 'Node process metrics are exported');

  t.is((await fetch(url!.replace('/metrics', '/other'))).status, 404);
});

test('serve --metrics-port: the queue gauge returns to 0 after calls to a non-batchable method; process metrics have one prefix', async (t) => {
  const config = writeServeConfig(t, [
    'runners:',
    `  - path: ${JSON.stringify(TEXT_TOOLS)}`,
    '    scheduling: { isolation: in-process }',
  ]);
  const { url, client } = await serveWithMetrics(t, config, 'text_tools');
  const concat = client.runner('text_tools').method('concat');
  const joined = await Promise.all(Array.from({ length: 8 }, (_, i) => concat.run([`a${i}`, `b${i}`])));
  t.deepEqual(joined, Array.from({ length: 8 }, (_, i) => [`a${i} b${i}`]));

  const text = await (await fetch(url!)).text();
  const m = parseMetrics(text);
  const labels = 'runner="text_tools",method="concat"';
  t.is(m.get(`flight_runner_calls_total{${labels},code="OK"}`), 8);
  t.is(m.get(`flight_runner_batch_rows_count{${labels}}`), 8, 'one backend call per call');
  t.is(m.get(`flight_runner_queue_rows{${labels}}`), 0, 'nothing is waiting');
  const names = [...new Set([...m.keys()].map((k) => k.replace(/[{ ].*$/, '')))];
  t.deepEqual(names.filter((n) => n.includes('process_process_')), [], 'no doubled prefix');
  t.true(names.includes('flight_runner_process_cpu_seconds_total'), `process CPU is exported: ${names.join(', ')}`);
  t.true(names.includes('flight_runner_nodejs_eventloop_lag_seconds'), 'Node event-loop lag is exported');
});
