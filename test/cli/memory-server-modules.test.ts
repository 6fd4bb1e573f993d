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
import { spawn } from 'node:child_process';
import { tableFromArrays } from 'apache-arrow';
import { FlightClient, FlightDescriptor } from '../../src/flight/index.js';
import { CLI_ARGS, ROOT } from '../helpers/serve-process.js';

/** Prints `LOADED <json list of CommonJS module paths>` on stderr at exit (createRequire's cache is the one module cache, whatever the path). */
const REPORT_LOADED = `data:text/javascript,${encodeURIComponent(
  'import { createRequire } from "node:module";'
  + 'const cache = createRequire("/").cache;'
  + 'process.on("exit", () => process.stderr.write(`LOADED ${JSON.stringify(Object.keys(cache))}\\n`));',
)}`;

test.serial('a memory-server process serves without loading grpc-js or protobufjs', async (t) => {
  const child = spawn(process.execPath, ['--import', REPORT_LOADED, ...CLI_ARGS, 'memory-server', '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  let client: FlightClient | undefined;
  try {
    const uri = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', () => {
        const match = /flight-runner listening on (\S+)/.exec(stdout);
        if (match) resolve(match[1]!);
      });
      void exited.then((code) => reject(new Error(`memory-server exited (${code}) before listening:\n${stderr}`)));
    });
    client = await FlightClient.connect(uri);
    const batch = tableFromArrays({ x: new Float64Array([1, 2, 3]) }).batches[0]!;
    let echoed = 0;
    for await (const { batch: back } of client.exchange(FlightDescriptor.path('echo'), [batch])) echoed += back?.numRows ?? 0;
    t.is(echoed, 3);
    const answers: string[] = [];
    for await (const body of client.doAction('healthcheck')) answers.push(new TextDecoder().decode(body));
    t.deepEqual(answers.map((a) => JSON.parse(a) as unknown), [{ status: 'ok', flights: 0 }]);
  } finally {
    client?.close();
    child.kill('SIGTERM');
  }
  t.is(await exited, 0, stderr);
  const line = stderr.split('\n').find((l) => l.startsWith('LOADED '));
  t.truthy(line, `no LOADED line on stderr:\n${stderr}`);
  const loaded = JSON.parse(line!.slice('LOADED '.length)) as string[];
  // The report works: the process does load CommonJS modules (tsx's, at least).
  t.true(loaded.length > 0);
  const clientModules = loaded.filter((path) => /node_modules[\\/](@grpc[\\/]|protobufjs[\\/]|@protobufjs[\\/])/.test(path));
  t.deepEqual(clientModules, [], 'the server process loaded the Flight client\'s modules');
});
