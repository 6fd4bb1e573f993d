/**
 * `npx tsx bench/serving/runner-layer-ab.ts --base DIR`: the runner layer's CPU per
 * one-row DoExchange, in process, for this tree against another checkout of the project
 * (DIR, e.g. `git archive <rev> | tar -x -C DIR` with node_modules linked). Each tree's
 * runnerService(...).doExchange runs a one-row batch of a trivial JS runner through a
 * reader and writer that do no I/O, so what is measured is the runner layer (resolve,
 * conform, invoke, check, stats) and, with `scheduled`, the batcher in front of one
 * in-process instance: no transport, no model. A third row is the SDK's `local()`: one
 * `run(3)` of the same runner in process (argument encoding, the call, result decoding).
 * The two trees alternate round by round, so outside load falls on both alike; medians of
 * the rounds are reported.
 *
 * Flags: --base DIR (required), --calls N per round (20000), --rounds N (8), --built:
 * import each tree's tsc output (`dist/src/**.js`, so run `npm run build` in both trees)
 * instead of its TypeScript through tsx, whose esbuild transform names every closure
 * (`__name`, an Object.defineProperty per closure made) and so inflates per-call closures
 * well beyond what the served (built) code pays. --only MODE runs one of direct,
 * scheduled, local.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { tableFromArrays } from 'apache-arrow';

const { values } = parseArgs({ options: { base: { type: 'string' }, calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '8' }, built: { type: 'boolean', default: false }, only: { type: 'string' } } });
if (!values.base) throw new Error('give --base DIR: another checkout of the project to compare with');
const trees = { base: resolve(values.base), this: resolve(import.meta.dirname, '../..') };
const calls = Number(values.calls);
const rounds = Number(values.rounds);
/** A module of a tree: its TypeScript source, or with --built its tsc output. */
const mod = (root: string, path: string) => (values.built ? `${root}/dist/src/${path}.js` : `${root}/src/${path}.ts`);

/** One tree's service over one runner (or its local() client), and a function making one call. */
async function setup(root: string, mode: 'direct' | 'scheduled' | 'local'): Promise<{ once(): Promise<unknown>; close(): Promise<void> }> {
  const scheduled = mode === 'scheduled';
  const { runnerService } = await import(mod(root, 'runner/service'));
  const { RunnerRegistry } = await import(mod(root, 'runner/registry'));
  const { defineRunner, loadJsRunner, types } = await import(mod(root, 'index'));
  const { ScheduledRunner } = await import(mod(root, 'scheduling/scheduled-runner'));
  const { inProcessStarter } = await import(mod(root, 'scheduling/in-process-instance'));
  const { FlightDescriptor } = await import(mod(root, 'flight/index'));
  const definition = defineRunner({
    name: 'square',
    methods: { square: { default: true, inputs: { x: types.scalar('float64') }, outputs: { y: types.scalar('float64') }, run: ({ x }: { x: Float64Array }) => x.map((v) => v * v) } },
  });
  const runner = scheduled ? await ScheduledRunner.start('square', 1, inProcessStarter(() => loadJsRunner(definition))) : await loadJsRunner(definition);
  if (mode === 'local') {
    const { local } = await import(mod(root, 'index'));
    const client = await local([runner]);
    const square = client.runner('square');
    return { once: () => square.run(3), close: async () => { client.close(); await runner.close?.(); } };
  }
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
console.log(`CPU per one-row call (us), medians of ${rounds} alternating rounds of ${calls} calls`);
const labels = { direct: 'direct (no scheduler)', scheduled: 'scheduled (batcher, 1 in-process instance)', local: 'local() run(), in process (SDK)' };
for (const mode of ['direct', 'scheduled', 'local'] as const) {
  if (values.only && values.only !== mode) continue;
  const envs = { base: await setup(trees.base, mode), this: await setup(trees.this, mode) };
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
  console.log(`${labels[mode].padEnd(44)} base ${median(us.base).toFixed(1)}  this ${median(us.this).toFixed(1)}  (this/base ${(median(us.this) / median(us.base)).toFixed(2)})`);
}
