/**
 * Errors for humans, from real `flight-runner` processes: a user mistake never prints a
 * stack trace, every error is one line, a server that is not there gets the same message
 * from every command, and --version answers.
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../src/client/index.js';
import { FlightError, Status } from '../../src/flight/index.js';
import { runCli } from './cli-process.js';

const dir = mkdtempSync(join(tmpdir(), 'flight-runner-cli-errors-'));
const input = join(dir, 'one.json');
writeFileSync(input, JSON.stringify({ features: [5.1, 3.5, 1.4, 0.2] }));

test.after.always(() => rmSync(dir, { recursive: true, force: true }));

/** A loopback port nothing listens on: bound by the OS for a moment, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** stderr as its non-empty lines. */
const lines = (stderr: string) => stderr.split('\n').filter((l) => l.trim());
/** What a stack trace or a structured log line would leave in the output. */
const NOT_FOR_HUMANS = /\n\s+at |TypeError|ReferenceError|"level":/;

test('a location without a scheme is a usage error naming the fix, in list and call', async (t) => {
  const [list, call] = await Promise.all([
    runCli(['list', '127.0.0.1:8815']),
    runCli(['call', '127.0.0.1:8815', 'iris', '--input', input]),
  ]);
  for (const [name, r] of [['list', list], ['call', call]] as const) {
    t.is(r.code, 2, r.stderr);
    t.notRegex(r.stderr, NOT_FOR_HUMANS);
    t.is(lines(r.stderr)[0], `flight-runner ${name}: bad server <uri> "127.0.0.1:8815": expected grpc://host:port, grpc+tls://host:port or grpc+unix:///path (did you mean grpc://127.0.0.1:8815?)`);
    t.regex(r.stderr, new RegExp(`Usage: flight-runner ${name} <uri>`));
    t.is(r.stdout, '');
  }
});

test('--batch-rows below 1 (negative or zero, however written) is a usage error', async (t) => {
  const uri = `grpc://127.0.0.1:${await closedPort()}`;
  const results = await Promise.all([['-1'], ['0'], ['-5']].map(([n]) => runCli(['call', uri, 'iris', '--input', input, '--batch-rows', n!])));
  results.push(await runCli(['call', uri, 'iris', '--input', input, '--batch-rows=-1']));
  for (const r of results) {
    t.is(r.code, 2, r.stderr);
    t.notRegex(r.stderr, NOT_FOR_HUMANS);
    t.regex(lines(r.stderr)[0]!, /^flight-runner call: --batch-rows must be a positive integer, got "-?\d+"$/);
  }
});

test('a server that is down: list, call and the SDK fail with one and the same message', async (t) => {
  const uri = `grpc://127.0.0.1:${await closedPort()}`;
  const [list, call] = await Promise.all([runCli(['list', uri]), runCli(['call', uri, 'iris', '--input', input])]);
  const expected = `UNAVAILABLE: cannot connect to ${uri}: connect ECONNREFUSED ${uri.slice('grpc://'.length)}; is a server running there?`;
  t.is(list.code, 1);
  t.deepEqual(lines(list.stderr), [`flight-runner list: ${expected}`]);
  t.is(call.code, 1);
  t.deepEqual(lines(call.stderr), [`flight-runner call: ${expected}`]);
  const err = await t.throwsAsync(connect(uri), { instanceOf: FlightError });
  t.is(err?.code, Status.UNAVAILABLE);
  t.is(`UNAVAILABLE: ${err?.message}`, expected);
});

test('a missing config file for serve and an unknown option: the message alone, no stack, no log line', async (t) => {
  const [serve, option] = await Promise.all([
    runCli(['serve', join(dir, 'missing.yaml')]),
    runCli(['list', 'grpc://127.0.0.1:1', '--bogus']),
  ]);
  // Exit 1, or 2 where the config is checked as a usage mistake; never a stack or a log
  // line beside the message.
  t.true(serve.code === 1 || serve.code === 2, String(serve.code));
  t.notRegex(serve.stderr, NOT_FOR_HUMANS);
  t.regex(serve.stderr, /^flight-runner serve: [^\n]*(missing\.yaml|invalid configuration)/);
  t.regex(serve.stderr, /missing\.yaml/);
  t.is(option.code, 2);
  t.notRegex(option.stderr, NOT_FOR_HUMANS);
  t.regex(lines(option.stderr)[0]!, /^flight-runner list: Unknown option '--bogus'/);
});

test('--version (and -V) print the package version and exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await runCli([flag]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, `${version}\n`);
    t.is(r.stderr, '');
  }
  const help = await runCli(['--help']);
  t.regex(help.stdout, /--version/);
});
