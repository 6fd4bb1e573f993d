/**
 * `npx tsx bench/batch-size/run.ts`: rows/s of a batch-scoring stream (65,536-row input
 * batches, as pyarrow and the CLI send them) through a scheduled mlp_small, by
 * `maxBatchRows` (how many backend calls each input batch is split into), and the
 * latency of lone one-row calls at each setting (batching must not cost them anything).
 *
 * Server and client share this process (a runner server on loopback, 1 in-process
 * instance, onnxruntime with 1 intra-op thread); the client sends pre-built batches
 * over a plain Flight DoExchange, so its cost is the same for every setting. Settings
 * are measured in turns, each repetition rotating which goes first, so slow phases of
 * this shared machine hit all alike; medians are printed. Besides rows/s (wall time), rows
 * per CPU second of the whole process: what a row costs, less swayed by a busy machine.
 *
 * Flags: --settings 1024,8192,65536 (maxBatchRows values), --rows 65536 (per input
 * batch), --batches 16 (per stream), --reps 3, --instances 1.
 */
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { RecordBatch } from 'apache-arrow';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { Tensor } from '../../src/codecs/tensor.js';
import { FlightClient, FlightDescriptor } from '../../src/flight/index.js';
import { startRunnerServer, type RunnerServer } from '../../src/runner/runner-server.js';
import { inProcessStarter } from '../../src/scheduling/in-process-instance.js';
import { loadRunnerSpec } from '../../src/scheduling/runner-spec.js';
import { ScheduledRunner } from '../../src/scheduling/scheduled-runner.js';

const { values } = parseArgs({
  options: {
    settings: { type: 'string', default: '1024,8192,65536' },
    rows: { type: 'string', default: '65536' },
    batches: { type: 'string', default: '16' },
    reps: { type: 'string', default: '3' },
    instances: { type: 'string', default: '1' },
  },
});
const settings = values.settings.split(',').map(Number);
const rows = Number(values.rows);
const batches = Number(values.batches);
const MLP = fileURLToPath(new URL('../../examples/models/mlp_small.onnx', import.meta.url));

interface Setup { maxBatchRows: number; server: RunnerServer; client: FlightClient; big: RecordBatch; one: RecordBatch }

async function setup(maxBatchRows: number): Promise<Setup> {
  const scheduled = await ScheduledRunner.start('mlp_small', Number(values.instances),
    inProcessStarter(() => loadRunnerSpec({ backend: 'onnx', entry: { path: MLP, options: { intraOpNumThreads: 1 } }, runner: 'mlp_small', instance: { index: 0, threads: 1 } })), { batching: { maxBatchRows } });
  const server = await startRunnerServer({ runners: [scheduled] });
  const client = await FlightClient.connect(server.location);
  const inputs = scheduled.methods[0]!.signature.inputs;
  const make = (n: number) => valuesToBatch(inputs, { x: new Tensor('float32', Float32Array.from({ length: n * 32 }, (_, k) => Math.sin(k)), [n, 32]) });
  return { maxBatchRows, server, client, big: make(rows), one: make(1) };
}

/**
 * Streams `batches` input batches through one exchange; resolves with rows/s, and with
 * rows per CPU second of this process (server and client): on a shared machine wall time
 * swings with what else runs, the CPU a row costs much less.
 */
async function scoring(s: Setup): Promise<{ rowsPerSecond: number; rowsPerCpuSecond: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  let got = 0;
  for await (const out of s.client.exchange(FlightDescriptor.path('mlp_small'), Array.from({ length: batches }, () => s.big))) got += out.batch?.numRows ?? 0;
  if (got !== rows * batches) throw new Error(`got ${got} rows back, sent ${rows * batches}`);
  const used = process.cpuUsage(cpu);
  return { rowsPerSecond: got / ((performance.now() - started) / 1000), rowsPerCpuSecond: got / ((used.user + used.system) / 1e6) };
}

/** Median latency of 200 sequential one-row calls, in ms. */
async function oneRowMs(s: Setup): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 200; i++) {
    const started = performance.now();
    for await (const out of s.client.exchange(FlightDescriptor.path('mlp_small'), [s.one])) void out;
    times.push(performance.now() - started);
  }
  return median(times);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const setups = await Promise.all(settings.map(setup));
const rowsPerSecond = new Map<number, number[]>(settings.map((m) => [m, []]));
const rowsPerCpuSecond = new Map<number, number[]>(settings.map((m) => [m, []]));
const latency = new Map<number, number[]>(settings.map((m) => [m, []]));
for (const s of setups) { await scoring(s); await oneRowMs(s); } // warm-up
for (let rep = 0; rep < Number(values.reps); rep++) {
  for (let k = 0; k < setups.length; k++) {
    const s = setups[(k + rep) % setups.length]!;
    const r = await scoring(s);
    rowsPerSecond.get(s.maxBatchRows)!.push(r.rowsPerSecond);
    rowsPerCpuSecond.get(s.maxBatchRows)!.push(r.rowsPerCpuSecond);
    latency.get(s.maxBatchRows)!.push(await oneRowMs(s));
  }
}
console.log(`mlp_small, ${values.instances} in-process instance(s); a stream of ${batches} x ${rows}-row batches; ${values.reps} reps, medians`);
console.log('maxBatchRows  backend calls per input batch  rows/s     rows/CPU-s  one-row call p50');
for (const m of settings) {
  const cells = [String(m).padEnd(13), String(Math.ceil(rows / m)).padEnd(30), Math.round(median(rowsPerSecond.get(m)!)).toString().padEnd(10),
    Math.round(median(rowsPerCpuSecond.get(m)!)).toString().padEnd(11), `${median(latency.get(m)!).toFixed(3)} ms`];
  console.log(cells.join(' '));
}
for (const s of setups) { s.client.close(); await s.server.close(); }
