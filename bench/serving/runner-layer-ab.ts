/**
 * `npx tsx bench/serving/runner-layer-ab.ts --base DIR`: the runner layer's CPU per
 * one-row DoExchange, in process, for this tree against another checkout of the project
 * (DIR, e.g. `git archive <rev> | tar -x -C DIR` with node_modules linked). Each tree's
 * runnerService(...).doExchange runs a one-row batch of a trivial JS runner through a
 * reader and writer that do no I/O, so what is measured is the runner layer (resolve,
 * conform, invoke, check, stats) and, with `scheduled`, the batcher in front of one
 * in-process instance: no transport, no model. The two trees alternate round by round,
 * so outside load falls on both alike; medians of the rounds are reported.
 *
 * Flags: --base DIR (required), --calls N per round (20000), --rounds N (8).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tableFromArrays } from 'apache-arrow';

const { values } = parseArgs({ options: { base: { type: 'string' }, calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '8' } } });
if (!values.base) throw new Error('give --base DIR: another checkout of the project to compare with');
const trees = { base: resolve(values.base), this: resolve(import.meta.dirname, '../..') };
const calls = Number(values.calls);
const rounds = Number(values.rounds);

/** One tree's service over one runner, and a function making one exchange. */
async function setup(root: string, scheduled: boolean): Promise<{ once(): Promise<void>; close(): Promise<void> }> {
  const { runnerService } = await import(`${root}/src/runner/service.ts`);
  const { RunnerRegistry } = await import(`${root}/src/runner/registry.ts`);
  const { defineRunner, loadJsRunner, types } = await import(`${root}/src/index.ts`);
  const { ScheduledRunner } = await import(`${root}/src/scheduling/scheduled-runner.ts`);
  const { inProcessStarter } = await import(`${root}/src/scheduling/in-process-instance.ts`);
  const { FlightDescriptor } = await import(`${root}/src/flight/index.ts`);
  const definition = defineRunner({
    name: 'square',
    methods: { square: { default: true, inputs: { x: types.scalar('float64') }, outputs: { y: types.scalar('float64') }, run: ({ x }: { x: Float64Array }) => x.map((v) => v * v) } },
  });
  const runner = scheduled ? await ScheduledRunner.start('square', 1, inProcessStarter(() => loadJsRunner(definition))) : await loadJsRunner(definition);
  const registry = new RunnerRegistry();
  registry.addRunner(runner);
  await registry.ready();
  const handlers = runnerService(registry, { locations: [] });
  const batch = tableFromArrays({ x: Float64Array.from([3]) }).batches[0]!;
  const descriptor = FlightDescriptor.path('square', 'square');
  const ctx = { metadata: { get: () => [] }, peer: 'bench', signal: new AbortController().signal };
  return {
    once: async () => {
      const reader = { descriptor, schema: async () => batch.schema, async *[Symbol.asyncIterator]() { yield { batch }; } };
      let schema: unknown;
      const writer = { get schema() { return schema; }, begin: async (s: unknown) => { schema = s; }, write: async () => {}, writeMetadata: async () => {} };
      await handlers.doExchange(reader, writer, ctx);
    },
    close: async () => { await runner.close?.(); },
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`runner layer CPU per one-row exchange (us), medians of ${rounds} alternating rounds of ${calls} calls`);
for (const scheduled of [false, true]) {
  const envs = { base: await setup(trees.base, scheduled), this: await setup(trees.this, scheduled) };
  for (const env of Object.values(envs)) for (let i = 0; i < 3000; i++) await env.once(); // warm-up (JIT)
  const us: Record<'base' | 'this', number[]> = { base: [], this: [] };
  for (let r = 0; r < rounds; r++) {
    for (const side of (r % 2 ? ['this', 'base'] : ['base', 'this']) as ('base' | 'this')[]) {
      const start = process.cpuUsage();
      for (let i = 0; i < calls; i++) await envs[side].once();
      const used = process.cpuUsage(start);
      us[side].push((used.user + used.system) / calls);
    }
  }
  for (const env of Object.values(envs)) await env.close();
  const label = scheduled ? 'scheduled (batcher, 1 in-process instance)' : 'direct (no scheduler)';
  console.log(`${label.padEnd(44)} base ${median(us.base).toFixed(1)}  this ${median(us.this).toFixed(1)}  (this/base ${(median(us.this) / median(us.base)).toFixed(2)})`);
}
