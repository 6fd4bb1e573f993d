/**
 * Fuzzing below FlightData, fixed seed: gRPC length prefixes, compressed flags, message
 * compression (gzip, deflate, unsupported), protobuf field numbers and wire types, DATA
 * chunk boundaries, client trailers and requests left open, on DoGet, DoPut and
 * DoExchange of a real server. Every call must end with a status that says something
 * (the server's deadline at the latest), the process must not fail, and afterwards the
 * server must answer a good call and hold no budget. The long run is bench/fuzz/run.ts.
 */
import test from 'ava';
import fc from 'fast-check';
import { Float64, Table, vectorFromArray } from 'apache-arrow';
import { FlightDescriptor } from '../../src/flight/index.js';
import { startServer } from '../helpers/memory-server.js';
import { RawHttp2Client } from '../helpers/raw-http2.js';
import { caseChunks, controlFramingCase, framingCase, judge, type FramingCase } from '../helpers/wire-fuzz.js';

const SEED = 20261130;
const CASES = 600;
const CONCURRENCY = 12;

test('framing fuzz: every malformed request ends in a status and the server keeps serving', (t) => fuzz(t, fc.sample(framingCase, { seed: SEED, numRuns: CASES })));

test('framing fuzz of the control RPCs: every malformed request ends in a status and the server keeps serving', (t) => fuzz(t, fc.sample(controlFramingCase, { seed: SEED, numRuns: CASES / 2 })));

async function fuzz(t: import('ava').ExecutionContext, cases: FramingCase[]): Promise<void> {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);
  process.on('unhandledRejection', onRejection);
  const s = await startServer();
  let raw = new RawHttp2Client(s.location);
  const tally = new Map<string, number>();
  const failures: string[] = [];
  try {
    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        if (raw.session.destroyed || raw.session.closed) raw = new RawHttp2Client(s.location);
        const { result } = raw.call(c.rpc, caseChunks(c), {
          headers: { 'grpc-timeout': '2S', ...(c.encoding ? { 'grpc-encoding': c.encoding } : {}) },
          keepOpen: c.ending === 'open',
          ...(c.ending === 'trailers' ? { trailers: { 'x-fuzz': 'trailer' } } : {}),
          timeoutMs: 15_000,
        });
        const r = await result;
        const key = r.code === undefined ? 'no status' : String(r.code);
        tally.set(key, (tally.get(key) ?? 0) + 1);
        const wrong = judge(r);
        if (wrong && failures.length < 5) failures.push(`${wrong} for ${JSON.stringify({ ...c, frames: c.frames.map((f) => ({ ...f, payload: f.payload.subarray(0, 32).toString('hex') + (f.payload.length > 32 ? `..(${f.payload.length})` : '') })) })}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    t.log(`statuses: ${[...tally].sort().map(([k, v]) => `${k}: ${v}`).join(', ')}`);
    t.deepEqual(failures, []);

    const sample = new Table({ x: vectorFromArray([1.5, 2.5], new Float64()) });
    const rows: number[] = [];
    for await (const { batch } of s.client.exchange(FlightDescriptor.path('echo'), sample.batches, { deadline: 10_000 })) {
      if (batch) rows.push(...(batch.getChild('x')!.toArray() as Float64Array));
    }
    t.deepEqual(rows, [1.5, 2.5], 'a good call after the fuzz');
    for (let i = 0; i < 100 && s.server.receiveBudget.heldBytes > 0; i++) await new Promise((r) => setTimeout(r, 20));
    t.is(s.server.receiveBudget.heldBytes, 0, 'every refused or finished call gave its budget back');
    t.deepEqual(rejections, []);
  } finally {
    process.off('unhandledRejection', onRejection);
    raw.close();
    await s.close();
  }
}
