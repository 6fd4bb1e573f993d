/**
 * A runner that fails to load is visible everywhere (issue #10, item 5): `serve` logs
 * each runner's state once loading settles, discovery (ListFlights, `list`, health,
 * list-runners) shows it with its reason, a call to it is UNAVAILABLE with the reason
 * (SDK and `call`), the other runners keep serving, and `serve --strict` exits 1.
 * Real `flight-runner` processes on loopback.
 */
import test from 'ava';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { FlightClient, FlightError, Status, type FlightDescriptor } from '../../src/flight/index.js';
import { Tensor } from '../../src/codecs/tensor.js';
import { runCli } from '../cli/cli-process.js';
import { startServerProcess, type ServerProcess } from '../helpers/serve-process.js';

/** A file that exists (a missing path is a config error, exit 2) but is not an ONNX model. */
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-failed-'));
const BROKEN = join(dir, 'no-such-model.onnx');
writeFileSync(BROKEN, 'not an onnx model\n');
/** onnxruntime's own reason, which every surface must carry. */
const REASON = /no-such-model\.onnx failed.*Protobuf parsing failed/;

let server: ServerProcess;

/** Polls `health` until no runner is loading (bounded by ava's timeout). */
async function settled(uri: string): Promise<Record<string, unknown>> {
  const client = await FlightClient.connect(uri);
  try {
    for (;;) {
      let health: { runners?: Record<string, string> } = {};
      for await (const r of client.doAction('health')) health = JSON.parse(new TextDecoder().decode(r)) as typeof health;
      if (!Object.values(health.runners ?? {}).includes('loading')) return health;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

test.before(async () => {
  server = await startServerProcess(['serve', 'examples/models/iris.onnx', BROKEN, '--port', '0']);
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('health and list-runners give the failed runner its state and reason; the log says it once loading settles', async (t) => {
  const health = await settled(server.uri) as { ready: boolean; runners: Record<string, string>; errors: Record<string, string> };
  t.false(health.ready);
  t.deepEqual(health.runners, { iris: 'ready', 'no-such-model': 'failed' });
  t.regex(health.errors['no-such-model']!, REASON);

  const client = await FlightClient.connect(server.uri);
  try {
    let listing: { runners: { name: string; state: string; error?: string }[] } = { runners: [] };
    for await (const r of client.doAction('list-runners')) listing = JSON.parse(new TextDecoder().decode(r)) as typeof listing;
    const failed = listing.runners.find((r) => r.name === 'no-such-model')!;
    t.is(failed.state, 'failed');
    t.regex(failed.error!, REASON);
  } finally {
    client.close();
  }
  // The summary line comes after the runners settle; wait for it rather than race it.
  while (!server.stderr().includes('runners failed to load')) await new Promise((r) => setTimeout(r, 50));
  const summary = server.stderr().split('\n').filter((l) => l.includes('runners failed to load')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.is(summary.length, 1);
  t.is(summary[0]!['msg'], '1 of 2 runners failed to load');
  t.is(summary[0]!['level'], 'error');
  t.deepEqual(summary[0]!['ready'], ['iris']);
  t.regex((summary[0]!['failed'] as Record<string, string>)['no-such-model']!, REASON);
});

test('ListFlights and `list` show the failed runner with its reason next to the ready ones', async (t) => {
  await settled(server.uri);
  const client = await FlightClient.connect(server.uri);
  try {
    const infos = [];
    for await (const info of client.listFlights()) infos.push(info);
    const pathOf = (d: FlightDescriptor | undefined) => (d?.type === 'PATH' ? d.path.join('/') : '');
    const failed = infos.filter((i) => pathOf(i.descriptor) === 'no-such-model');
    t.is(failed.length, 1);
    t.deepEqual(failed[0]!.endpoints, []);
    const json = JSON.parse(new TextDecoder().decode(failed[0]!.appMetadata)) as Record<string, unknown>;
    t.is(json['state'], 'failed');
    t.false('method' in json);
    t.regex(String(json['error']), REASON);
    t.true(infos.some((i) => pathOf(i.descriptor) === 'iris/predict'));
  } finally {
    client.close();
  }

  const list = await runCli(['list', server.uri]);
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /^RUNNER\s+METHOD/);
  t.regex(list.stdout, /\niris\s+predict\*/);
  const line = list.stdout.split('\n').find((l) => l.startsWith('no-such-model: '));
  t.truthy(line, list.stdout);
  t.regex(line!, /^no-such-model: failed: .*Protobuf parsing failed/);
});

test('a call to the failed runner is UNAVAILABLE with the reason (SDK and `call`); the other runner serves', async (t) => {
  await settled(server.uri);
  const client = await connect(server.uri);
  try {
    const err = t.throws(() => client.runner('no-such-model'));
    t.true(err instanceof FlightError && err.code === Status.UNAVAILABLE, String(err));
    t.regex(err!.message, /^runner 'no-such-model' failed to load: /);
    t.regex(err!.message, REASON);
    t.deepEqual(client.runners, ['iris', 'no-such-model']);
    const label = await client.runner('iris').run(new Tensor('float32', new Float32Array([5.1, 3.5, 1.4, 0.2]), [1, 4]));
    t.truthy(label);
  } finally {
    client.close();
  }

  const input = join(dir, 'flowers.json');
  writeFileSync(input, JSON.stringify([{ features: [5.1, 3.5, 1.4, 0.2] }]));
  const call = await runCli(['call', server.uri, 'no-such-model', '--input', input]);
  t.is(call.code, 1, call.stdout);
  t.regex(call.stderr, /UNAVAILABLE: runner 'no-such-model' failed to load: .*Protobuf parsing failed/);
  t.notRegex(call.stderr, /NOT_FOUND/);
});

test('serve --strict exits 1 when a runner fails to load', async (t) => {
  const strict = await startServerProcess(['serve', 'examples/models/iris.onnx', BROKEN, '--strict', '--port', '0']);
  // It listens first (runners load in the background), then exits once loading settles.
  const code = strict.process.exitCode ?? ((await once(strict.process, 'exit')) as [number | null])[0];
  t.is(code, 1, strict.stderr());
  t.regex(strict.stderr(), /exiting: --strict and a runner failed to load/);
});
