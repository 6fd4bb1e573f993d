/**
 * The attack on memory: 24 streams each sending 250 MiB of a 256 MiB message and
 * holding it there. Against a real memory-server process with a 1 GiB receive budget, the
 * process's RSS must stay under its start plus the budget (the streams past it are refused
 * at their prefix), and come back down once the streams are cancelled (at the next garbage
 * collection, which the good calls that follow bring about).
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { Table, makeVector } from 'apache-arrow';
import { FlightClient, FlightDescriptor, Status } from '../../src/flight/index.js';
import { RawHttp2Client, grpcPrefix } from '../helpers/raw-http2.js';
import { startServerProcess } from '../helpers/serve-process.js';

const MiB = 1024 * 1024;
const BUDGET = 1024 * MiB;
const STREAMS = 24;
const MESSAGE = 256 * MiB;
const SENT = 250 * MiB;

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test.serial('24 streams holding 250 MiB each of a partial message keep RSS under the budget, and it returns after they are cancelled', async (t) => {
  const server = await startServerProcess(['memory-server', '--port', '0', '--max-incoming-bytes', `${BUDGET}`]);
  const clients: RawHttp2Client[] = [];
  try {
    const pid = server.process.pid!;
    const baseline = rssOf(pid);
    // The body: a data_body field announcing the rest of the message, then 250 MiB of it in 1 MiB chunks.
    const head = Buffer.from([0xc2, 0x3e, 0xfa, 0xff, 0xff, 0x7f]); // field 1000, length 268435450
    const chunk = Buffer.alloc(MiB, 7);
    const body = [grpcPrefix(MESSAGE), head, ...Array.from({ length: SENT / MiB }, () => chunk)];
    const calls = Array.from({ length: STREAMS }, () => {
      const client = new RawHttp2Client(server.uri);
      clients.push(client);
      return client.call('DoExchange', body, { keepOpen: true, timeoutMs: 300_000 });
    });
    // Wait until the accepted streams have sent their 250 MiB (the server's RSS stops growing).
    let peak = baseline;
    let still = 0;
    for (let i = 0; i < 600 && still < 10; i++) {
      await sleep(500);
      const rss = rssOf(pid);
      still = rss > peak + 4 * MiB ? 0 : still + 1;
      peak = Math.max(peak, rss);
    }
    t.log(`RSS: ${(baseline / MiB).toFixed(0)} MiB at start, ${(peak / MiB).toFixed(0)} MiB holding the partial messages (budget ${BUDGET / MiB} MiB)`);
    t.true(peak - baseline <= BUDGET + 64 * MiB, `RSS grew by ${((peak - baseline) / MiB).toFixed(0)} MiB`);
    t.true(peak - baseline >= 512 * MiB, 'the accepted streams did hold their bytes (the test measures something)');

    for (const call of calls) call.cancel();
    const results = await Promise.all(calls.map((c) => c.result));
    const exhausted = results.filter((r) => r.code === Status.RESOURCE_EXHAUSTED);
    t.true(exhausted.length >= STREAMS - 4, `${exhausted.length} streams refused`);
    t.regex(exhausted[0]!.message, /budget is 1073741824/);

    // The cancelled streams' buffers are garbage now, freed at the next garbage collection,
    // which more incoming traffic brings about (an idle process may keep them a while).
    const client = await FlightClient.connect(server.uri);
    const batch = new Table({ x: makeVector(new Float64Array(4 * MiB)) }).batches[0]!;
    let after = rssOf(pid);
    try {
      for (let i = 0; i < 20 && after - baseline > 128 * MiB; i++) {
        for await (const _ of client.exchange(FlightDescriptor.path('echo'), [batch], { deadline: 60_000 })) { /* drain */ }
        await sleep(200);
        after = rssOf(pid);
      }
    } finally {
      client.close();
    }
    t.log(`RSS ${(after / MiB).toFixed(0)} MiB after the streams were cancelled`);
    t.true(after - baseline <= 128 * MiB, `RSS stayed ${((after - baseline) / MiB).toFixed(0)} MiB above its start`);
  } finally {
    for (const c of clients) c.close();
    await server.stop();
  }
});
