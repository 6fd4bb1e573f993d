/**
 * The long framing fuzz: millions of malformed requests (test/helpers/wire-fuzz.ts, the
 * generator the CI suite uses with a fixed seed) against a real `memory-server` in its own
 * process, so a crash shows as the process exiting instead of taking the fuzzer down.
 *
 *   npx tsx bench/fuzz/run.ts --cases 1000000 --seed 1 --concurrency 128
 *
 * Counts: cases run, statuses, crashes (the server process exited; it is restarted and the
 * case that was running is printed), hangs (no status within the client's timeout although
 * the server's deadline is 300 ms), resets (a stream ended without a status), wrong answers
 * (UNKNOWN, or an error without a message). Each worker opens a new connection every 200
 * cases: the fuzzer cancels many streams, and past 1,000 resets on one connection
 * nghttp2's rapid-reset guard (CVE-2023-44487) ends the connection, which would count
 * the fuzzer's own abuse of one connection against the server.
 * Every 100k cases the server must still answer a good exchange, and its RSS is reported.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { Float64, Table, vectorFromArray } from 'apache-arrow';
import { FlightClient, FlightDescriptor } from '../../src/flight/index.js';
import { RawHttp2Client } from '../../test/helpers/raw-http2.js';
import { caseChunks, framingCase, judge, type FramingCase } from '../../test/helpers/wire-fuzz.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values } = parseArgs({
  options: {
    cases: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '128' },
  },
});
const total = Number(values.cases);
const concurrency = Number(values.concurrency);
let seed = Number(values.seed);

interface Server { child: ChildProcess; location: string; exited: Promise<number | null> }

async function startServer(): Promise<Server> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'memory-server', '--port', '0'], {
    cwd: root, stdio: ['ignore', 'pipe', 'ignore'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const location = await new Promise<string>((resolveLocation, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = / listening on (grpc:\/\/\S+)/.exec(out);
      if (m) resolveLocation(m[1]!);
    });
    void exited.then((code) => reject(new Error(`memory-server exited with ${code} before listening`)));
  });
  return { child, location, exited };
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) * 1024;
}

async function goodExchange(location: string): Promise<boolean> {
  const client = await FlightClient.connect(location);
  try {
    const sample = new Table({ x: vectorFromArray([1.5, 2.5], new Float64()) });
    const rows: number[] = [];
    for await (const { batch } of client.exchange(FlightDescriptor.path('echo'), sample.batches, { deadline: 10_000 })) {
      if (batch) rows.push(...(batch.getChild('x')!.toArray() as Float64Array));
    }
    return rows.join() === '1.5,2.5';
  } finally {
    client.close();
  }
}

const statuses = new Map<string, number>();
let crashes = 0;
let hangs = 0;
let resets = 0;
let wrong = 0;
const examples: string[] = [];
let done = 0;
let server = await startServer();
const started = Date.now();
const describe = (c: FramingCase) => JSON.stringify({ ...c, frames: c.frames.map((f) => ({ ...f, payload: `${f.payload.subarray(0, 24).toString('hex')}..(${f.payload.length})` })) });

// Cases come in blocks of 1,000 from successive seeds, so a run of any length is reproducible.
let block: FramingCase[] = [];
const nextCase = (): FramingCase => {
  if (block.length === 0) block = fc.sample(framingCase, { seed: seed++, numRuns: 1_000 });
  return block.pop()!;
};
let issued = 0;
let lastReport = 0;

const CASES_PER_CONNECTION = 200;

async function worker(): Promise<void> {
  let raw = new RawHttp2Client(server.location);
  let used = 0;
  for (;;) {
    if (issued >= total) {
      raw.close();
      return;
    }
    issued++;
    const c = nextCase();
    if (raw.session.destroyed || raw.session.closed || used++ >= CASES_PER_CONNECTION) {
      raw.close();
      raw = new RawHttp2Client(server.location);
      used = 1;
    }
    const r = await raw.call(c.rpc, caseChunks(c), {
      headers: { 'grpc-timeout': '300m', ...(c.encoding ? { 'grpc-encoding': c.encoding } : {}) },
      keepOpen: c.ending === 'open',
      ...(c.ending === 'trailers' ? { trailers: { 'x-fuzz': 'trailer' } } : {}),
      timeoutMs: 60_000,
    }).result;
    done++;
    if (server.child.exitCode !== null || server.child.signalCode !== null) {
      crashes++;
      examples.push(`CRASH (exit ${server.child.exitCode ?? server.child.signalCode}) near ${describe(c)}`);
      server = await startServer();
      raw.close();
      raw = new RawHttp2Client(server.location);
      continue;
    }
    const key = r.code === undefined ? 'no status' : String(r.code);
    statuses.set(key, (statuses.get(key) ?? 0) + 1);
    const why = judge(r);
    if (why) {
      if (r.timedOut) hangs++;
      else if (r.code === undefined) resets++;
      else wrong++;
      if (examples.length < 20) examples.push(`${why}: ${describe(c)}`);
    }
    if (done - lastReport >= 100_000) {
      lastReport = done;
      const ok = await goodExchange(server.location);
      const secs = (Date.now() - started) / 1000;
      console.log(`${done} cases, ${(done / secs).toFixed(0)}/s, crashes ${crashes}, hangs ${hangs}, resets ${resets}, wrong ${wrong}, server RSS ${(rssOf(server.child.pid!) / 2 ** 20).toFixed(0)} MiB, good call after: ${ok}`);
    }
  }
}

await Promise.all(Array.from({ length: concurrency }, worker));
const finalOk = await goodExchange(server.location);
const secs = (Date.now() - started) / 1000;
console.log(`\ncases ${done} in ${secs.toFixed(0)} s (${(done / secs).toFixed(0)}/s), seeds ${values.seed}..${seed - 1}`);
console.log(`crashes ${crashes}, hangs ${hangs}, resets ${resets}, wrong answers ${wrong}, good call at the end: ${finalOk}, server RSS ${(rssOf(server.child.pid!) / 2 ** 20).toFixed(0)} MiB`);
console.log(`statuses: ${[...statuses].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
for (const e of examples) console.log(e);
server.child.kill('SIGTERM');
await server.exited;
process.exit(crashes + hangs + resets + wrong === 0 && finalOk ? 0 : 1);
