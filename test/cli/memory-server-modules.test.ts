/**
 * A `flight-runner memory-server` process does not load the Flight client's modules
 * (grpc-js, proto-loader, protobufjs). Every full GC marks the whole live heap, and a
 * large-batch echo runs one every few messages (bench/flight/README.md): those modules
 * were ~3.3 MB of an ~11.5 MB heap the server never uses.
 *
 * Checked on the real process, after it served a DoExchange and a DoAction: a preload
 * module prints the CommonJS modules loaded (grpc-js and protobufjs are CommonJS) when the
 * process exits.
 */
import test from 'ava';
import { tableFromArrays } from 'apache-arrow';
import { FlightClient, FlightDescriptor } from '../../src/flight/index.js';
import { startServerProcess } from '../helpers/serve-process.js';

/**
 * Prints `LOADED <json list of CommonJS module paths>` on stderr at exit (createRequire's
 * cache is the one module cache, whatever the path given).
 */
const REPORT_LOADED = `data:text/javascript,${encodeURIComponent(
  'import { createRequire } from "node:module";'
  + 'const cache = createRequire("/").cache;'
  + 'process.on("exit", () => process.stderr.write(`LOADED ${JSON.stringify(Object.keys(cache))}\\n`));',
)}`;

test.serial('a memory-server process serves without loading grpc-js or protobufjs', async (t) => {
  const server = await startServerProcess(['memory-server', '--port', '0'], 60_000, ['--import', REPORT_LOADED]);
  let client: FlightClient | undefined;
  try {
    client = await FlightClient.connect(server.uri);
    const batch = tableFromArrays({ x: new Float64Array([1, 2, 3]) }).batches[0]!;
    let echoed = 0;
    for await (const { batch: back } of client.exchange(FlightDescriptor.path('echo'), [batch])) echoed += back?.numRows ?? 0;
    t.is(echoed, 3);
    const answers: unknown[] = [];
    for await (const body of client.doAction('healthcheck')) answers.push(JSON.parse(new TextDecoder().decode(body)));
    t.deepEqual(answers, [{ status: 'ok', flights: 0 }]);
  } finally {
    client?.close();
  }
  t.is(await server.stop(), 0, server.stderr());
  const line = server.stderr().split('\n').find((l) => l.startsWith('LOADED '));
  t.truthy(line, `no LOADED line on stderr:\n${server.stderr()}`);
  const loaded = JSON.parse(line!.slice('LOADED '.length)) as string[];
  // The report works: the process does load CommonJS modules (tsx's, at least).
  t.true(loaded.length > 0);
  const clientModules = loaded.filter((path) => /node_modules[\\/](@grpc[\\/]|protobufjs[\\/]|@protobufjs[\\/])/.test(path));
  t.deepEqual(clientModules, [], 'the server process loaded the Flight client\'s modules');
});
