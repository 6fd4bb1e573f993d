/**
 * `flight-runner serve` with a config asking for isolated instances: an ONNX model in
 * two worker threads and a TypeScript runner in two child processes, through the real
 * CLI (whose tsx hooks the workers and children must set up for themselves).
 */
import test from 'ava';
import * as ort from 'onnxruntime-node';
import { connect } from '../../src/client/index.js';
import type { RemoteCaller } from '../../src/client/remote-caller.js';
import { Tensor } from '../../src/codecs/tensor.js';
import { startServerProcess, writeServeConfig } from '../helpers/serve-process.js';
import { MLP, PROBE } from './fixtures/helpers.js';

test('serve: isolation worker and process, 2 instances each', async (t) => {
  const config = writeServeConfig(t, [
    'runners:',
    `  - path: ${JSON.stringify(MLP)}`,
    '    scheduling: { isolation: worker, instances: { count: 2 } }',
    `  - path: ${JSON.stringify(PROBE)}`,
    '    scheduling: { isolation: process, instances: { count: 2 } }',
  ]);
  const server = await startServerProcess(['serve', config, '--port', '0'], 120_000);
  let stopped = false;
  t.teardown(async () => { if (!stopped) await server.stop(); });

  const client = await connect(server.uri);
  const flight = (client.caller as RemoteCaller).client;
  const health = async () => {
    for await (const body of flight.doAction('health')) return JSON.parse(new TextDecoder().decode(body)) as { ready: boolean; instances: Record<string, string[]> };
    throw new Error('no health');
  };
  const end = Date.now() + 120_000;
  while (!(await health()).ready) {
    if (Date.now() > end) throw new Error(`runners did not load:\n${server.stderr()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await client.refresh();
  t.deepEqual((await health()).instances, { mlp_small: ['idle', 'idle'], probe: ['idle', 'idle'] });

  const x = Float32Array.from({ length: 3 * 32 }, (_, k) => Math.cos(k));
  const got = (await client.runner('mlp_small').run(new Tensor('float32', x, [3, 32]))) as Tensor;
  const session = await ort.InferenceSession.create(MLP);
  const want = (await session.run({ x: new ort.Tensor('float32', x, [3, 32]) }))['y']!.data as Float32Array;
  t.deepEqual(got.shape, [3, 8]);
  t.true(Array.from(want).every((v, i) => Math.abs(v - (got.data as Float32Array)[i]!) < 1e-5), 'mlp_small in a worker matches onnxruntime');

  const probe = (await client.runner('probe').run(Float64Array.from([1, 2]))) as { y: Float64Array; who: Float64Array };
  t.deepEqual(Array.from(probe.y), [2, 4]);
  t.not(probe.who[0], server.process.pid, 'the probe runner ran in a child process, not in the server');

  client.close();
  stopped = true;
  t.is(await server.stop(), 0, `SIGTERM stops the server and its instances cleanly:\n${server.stderr()}`);
});
