/**
 * `npx tsx bench/serving/runner-layer-concurrent.ts --base DIR`: the runner layer's CPU
 * per one-row DoExchange as `serve` runs it under load, in process, for this tree against
 * another checkout (both built: `npm run build` in each, as with runner-layer-ab --built).
 * Each tree serves mlp_small as call-overhead.ts's (b) does (a ScheduledRunner of 2
 * in-process instances, batching maxBatchRows 64 / maxQueueDelayMs 2), and 64 callers
 * each run one-row exchanges through runnerService(...).doExchange back to back, with a
 * reader and writer that do no I/O (the reader pollable, as the server's FlightReader is
 * once a call's schema, batch and end have arrived) and a context like the Flight
 * server's (its signal made only when read, and `onAbort`). So the calls merge as they do
 * under load, without the transport's cost or its noise: `--concurrency 16` gives batches
 * of ~10 rows, near the ~17 of call-overhead.ts's (b) at c=64 (where many calls are in the
 * transport at any time). The trees alternate round by round; medians of the rounds are
 * reported.
 *
 * Flags: --base DIR (required), --calls N per round (20000), --rounds N (8), --concurrency C (64).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Field, FixedSizeList, Float32, Schema, makeData } from 'apache-arrow';

const { values } = parseArgs({
  options: { base: { type: 'string' }, calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '8' }, concurrency: { type: 'string', default: '64' } },
});
if (!values.base) throw new Error('give --base DIR: another checkout of the project, built (npm run build)');
const trees = { base: resolve(values.base), this: resolve(import.meta.dirname, '../..') };
const calls = Number(values.calls);
const rounds = Number(values.rounds);
const concurrency = Number(values.concurrency);
const model = resolve(import.meta.dirname, '../../examples/models/mlp_small.onnx');

/** One tree's service over mlp_small, and a function making one one-row exchange. */
async function setup(root: string): Promise<{ once(): Promise<void>; close(): Promise<void> }> {
  const mod = (path: string) => import(`${root}/dist/src/${path}.js`);
  const { runnerService } = await mod('runner/service');
  const { RunnerRegistry } = await mod('runner/registry');
  const { StatsRegistry } = await mod('runner/stats');
  const { ScheduledRunner } = await mod('scheduling/scheduled-runner');
  const { inProcessStarter } = await mod('scheduling/in-process-instance');
  const { statsObserver } = await mod('scheduling/observers');
  const { loadOnnxRunner } = await mod('backends/onnx/onnx-runner');
  const { FlightDescriptor } = await mod('flight/index');
  const { batchOfColumns } = await mod('flight/record-batch');
  const stats = new StatsRegistry();
  const runner = await ScheduledRunner.start('mlp_small', 2, inProcessStarter(() => loadOnnxRunner(model, { intraOpNumThreads: 1 })),
    { batching: { enabled: true, maxBatchRows: 64, maxQueueDelayMs: 2 } }, (method: string) => statsObserver(stats, 'mlp_small', method));
  const registry = new RunnerRegistry();
  registry.addRunner(runner);
  await registry.ready();
  const handlers = runnerService(registry, { locations: [], stats });
  // The loadgen's input: x, a fixed_shape_tensor<float32>[32]; one Schema object for
  // every call, as the Flight decoder's header cache gives.
  const type = new FixedSizeList(32, new Field('item', new Float32(), true));
  const schema = new Schema([new Field('x', type, false, new Map([['ARROW:extension:name', 'arrow.fixed_shape_tensor'], ['ARROW:extension:metadata', '{"shape":[32]}']]))]);
  const values32 = new Float32Array(32).fill(0.25);
  const descriptor = Object.freeze(FlightDescriptor.path('mlp_small'));
  // A fresh batch per call, as the decoder makes one (views, not a copy).
  const child = makeData({ type: new Float32(), length: 32, data: values32 });
  const column = makeData({ type, length: 1, nullCount: 0, child });
  const once = () => handlers.doExchange(new OneBatchReader(descriptor, schema, batchOfColumns(schema, 1, [column])), new NullWriter(), CONTEXT) as Promise<void>;
  return { once, close: () => runner.close() };
}

/**
 * The input of a one-row exchange as the Flight server's FlightReader gives it when the
 * schema, the batch and the end have arrived: pollable (no promise turn per chunk). A
 * class, so that tsx's keepNames makes no function per call (see call-overhead.ts).
 */
class OneBatchReader {
  private read = false;
  constructor(readonly descriptor: unknown, private readonly inputSchema: Schema, private readonly batch: unknown) {}
  schema(): Promise<Schema> { return Promise.resolve(this.inputSchema); }
  pollSchema(): Schema { return this.inputSchema; }
  [Symbol.asyncIterator](): this { return this; }
  poll(): IteratorResult<{ batch: unknown }> {
    if (this.read) return { done: true, value: undefined };
    this.read = true;
    return { done: false, value: { batch: this.batch } };
  }
  next(): Promise<IteratorResult<{ batch: unknown }>> { return Promise.resolve(this.poll()); }
}

/** A sink that takes every answer at once (no transport). */
class NullWriter {
  schema: unknown;
  begin(schema: unknown): Promise<void> { this.schema = schema; return DONE; }
  write(): Promise<void> { return DONE; }
  writeMetadata(): Promise<void> { return DONE; }
}
const DONE = Promise.resolve();

/** A call context like the Flight server's: the abort told through onAbort (a tree that does not use it reads `signal`). */
const CONTEXT = {
  metadata: { get: () => [] },
  peer: 'bench',
  get signal() { return new AbortController().signal; },
  onAbort: () => {},
};

async function drive(env: { once(): Promise<void> }, n: number): Promise<void> {
  let left = n;
  await Promise.all(Array.from({ length: concurrency }, async () => { while (left-- > 0) await env.once(); }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const envs = { base: await setup(trees.base), this: await setup(trees.this) };
for (const env of Object.values(envs)) await drive(env, 5000); // warm-up (JIT)
const us: Record<'base' | 'this', number[]> = { base: [], this: [] };
for (let r = 0; r < rounds; r++) {
  for (const side of (r % 2 ? ['this', 'base'] : ['base', 'this']) as ('base' | 'this')[]) {
    const start = process.cpuUsage();
    await drive(envs[side], calls);
    const used = process.cpuUsage(start);
    us[side].push((used.user + used.system) / calls);
  }
}
for (const env of Object.values(envs)) await env.close();
console.log(`CPU per one-row exchange of mlp_small at concurrency ${concurrency}, in process (us), medians of ${rounds} alternating rounds of ${calls}`);
console.log(`base ${median(us.base).toFixed(1)}  this ${median(us.this).toFixed(1)}  (this/base ${(median(us.this) / median(us.base)).toFixed(2)})`);
process.exit(0);
