/**
 * `npx tsx bench/overload/run.ts`: goodput under overload (issue #9, item 6). Many
 * callers with deadlines flood a runner that takes a fixed time per call; prints how
 * many calls were admitted, how they ended, and what share of the model's time went to
 * answers callers received. See scenario.ts for the setup and README.md for figures.
 *
 * Flags: --callers N (300), --deadline-ms N (1000), --model-ms N (50), --duration S (8),
 * --instances N (1), --isolation in-process|worker (in-process), --backoff-ms N (50: a refused caller waits this long before calling
 * again), --client go|node (go: callers/, built here with `go build`; node: callers.ts),
 * --json (print the result as JSON too).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGoCallers, runOverload } from './scenario.js';

const { values } = parseArgs({
  options: {
    callers: { type: 'string', default: '300' },
    'deadline-ms': { type: 'string', default: '1000' },
    'model-ms': { type: 'string', default: '50' },
    duration: { type: 'string', default: '8' },
    instances: { type: 'string', default: '1' },
    isolation: { type: 'string', default: 'in-process' },
    'backoff-ms': { type: 'string', default: '50' },
    client: { type: 'string', default: 'go' },
    json: { type: 'boolean', default: false },
  },
});

const options = {
  callers: Number(values.callers),
  deadlineMs: Number(values['deadline-ms']),
  modelMs: Number(values['model-ms']),
  durationMs: Number(values.duration) * 1000,
  instances: Number(values.instances),
  refusedBackoffMs: Number(values['backoff-ms']),
  isolation: values.isolation === 'worker' ? 'worker' as const : 'in-process' as const,
};
if (!['in-process', 'worker'].includes(values.isolation)) throw new Error(`--isolation must be in-process or worker, got ${values.isolation}`);
const work = mkdtempSync(join(tmpdir(), 'bench-overload-'));
if (values.client === 'go') process.stderr.write('building the Go callers (go build)...\n');
const goCallers = values.client === 'go' ? await buildGoCallers(work) : undefined;
console.log(`overload: ${options.callers} callers (${values.client} client process), ${options.deadlineMs} ms deadlines, a JS runner (${options.isolation}) taking ${options.modelMs} ms per call, `
  + `${options.instances} instance(s), batching off, ${values.duration} s; refused callers retry after ${options.refusedBackoffMs} ms`);
const r = await runOverload({ ...options, ...(goCallers ? { goCallers } : {}) }).finally(() => rmSync(work, { recursive: true, force: true }));
const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '-');
const codes = Object.entries(r.codes).sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`).join(', ');
console.log(`calls made        ${r.calls} in ${values.duration} s`);
console.log(`admitted          ${r.admitted}`);
console.log(`by status         ${codes}`);
console.log(`model runs        ${r.modelRuns.length} (${(r.modelMs / 1000).toFixed(2)} s of model time)`);
console.log(`delivered         ${(r.deliveredModelMs / 1000).toFixed(2)} s of model time went to answers received: ${pct(r.deliveredModelMs, r.modelMs)}`);
console.log(`late starts       ${r.startedAfterDeadline} model runs started after their call's deadline`);
for (const [code, message] of Object.entries(r.sampleMessages)) console.log(`e.g. ${code}: ${message}`);
if (values.json) {
  const { modelRuns, ...rest } = r;
  console.log(JSON.stringify({ options, ...rest, modelRunCount: modelRuns.length }));
}
