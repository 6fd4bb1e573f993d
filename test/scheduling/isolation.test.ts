/**
 * Serial: each test starts fresh instances, and starting one (Node, tsx, the runner's
 * imports) is CPU-heavy; run side by side, restarts crawl on a small machine.
 *
 * Supervised isolated instances (worker threads and child processes) of a JS runner,
 * served remotely: a model error fails only its call; an instance killed under load
 * fails its in-flight call with UNAVAILABLE naming the cause while the other calls
 * succeed, and comes back; a hung instance is restarted and its call fails UNAVAILABLE.
 */
import test from 'ava';
import type { RunnerHandle } from '../../src/client/index.js';
import type { ProbeParams } from './fixtures/probe-runner.js';
import { PROBE_SPEC, outcome, serveScheduled, starterFor, waitFor, type Served } from './fixtures/helpers.js';

interface ProbeResult { y: Float64Array; who: Float64Array }

/** Calls probe.work with `xs` and `params`; returns the doubled values and the instance that ran them. */
async function work(probe: RunnerHandle, xs: number[], params: ProbeParams = {}): Promise<{ y: number[]; who: number }> {
  const out = (await probe.withParams(params as Record<string, unknown>).run(Float64Array.from(xs))) as ProbeResult;
  return { y: Array.from(out.y), who: out.who[0]! };
}

async function instancesOf(served: Served): Promise<string[]> {
  return ((await served.action('health'))['instances'] as Record<string, string[]>)['probe']!;
}

for (const isolation of ['worker', 'process'] as const) {
  test.serial(`${isolation}: a runner error fails that call only; the instance stays up`, async (t) => {
    const served = await serveScheduled('probe', 1, starterFor(isolation, PROBE_SPEC));
    t.teardown(() => served.close());
    const probe = served.client.runner('probe');
    const before = await work(probe, [1, 2]);
    t.deepEqual(before.y, [2, 4]);
    if (isolation === 'process') t.not(before.who, process.pid, 'runs in another process');

    const failed = await outcome(work(probe, [3], { fail: 'model says no' }));
    t.false(failed.ok);
    if (!failed.ok) {
      t.is(failed.code, 'INTERNAL');
      t.regex(failed.message, /runner 'probe' method 'work' failed: model says no/);
    }
    const after = await work(probe, [5]);
    t.deepEqual(after.y, [10]);
    t.is(after.who, before.who, 'the same instance answered: it was not restarted');
  });

  const kills: { how: string; params: ProbeParams; cause: RegExp }[] = [
    { how: 'process.exit in the runner', params: { exitCode: 42 }, cause: /exited: exit code 42/ },
    { how: 'an uncaught exception', params: { uncaught: 'boom from a timer' }, cause: /exited: uncaught exception: boom from a timer/ },
  ];
  if (isolation === 'process') kills.push({ how: 'SIGKILL (as a native crash)', params: { signal: 'SIGKILL' }, cause: /exited: killed by signal SIGKILL/ });

  for (const { how, params, cause } of kills) {
    test.serial(`${isolation}: an instance killed by ${how} under load fails its call UNAVAILABLE and comes back`, async (t) => {
      const served = await serveScheduled('probe', 2, starterFor(isolation, PROBE_SPEC), {
        batching: { enabled: false },
        minBackoffMs: 50,
      });
      t.teardown(() => served.close());
      const probe = served.client.runner('probe');

      // Load: 40 slow calls across both instances, with the killer call in the middle.
      const load = Array.from({ length: 40 }, (_, i) => outcome(work(probe, [i], { delayMs: 20 })));
      await waitFor('both instances busy', async () => (await instancesOf(served)).every((s) => s === 'busy'));
      const killer = await outcome(work(probe, [1000], params));
      const others = await Promise.all(load);

      t.false(killer.ok, 'the killed instance\'s call failed');
      if (!killer.ok) {
        t.is(killer.code, 'UNAVAILABLE');
        t.regex(killer.message, /runner 'probe' instance \d+ exited: /);
        t.regex(killer.message, cause);
      }
      const seen = new Set<number>();
      others.forEach((o, i) => {
        t.true(o.ok, `call ${i} succeeded: ${o.ok ? '' : `${o.code} ${o.message}`}`);
        if (o.ok) {
          t.deepEqual(o.value.y, [2 * i]);
          seen.add(o.value.who);
        }
      });

      // The instance comes back, and later calls run on it (a new thread or process id).
      await waitFor('both instances idle again', async () => (await instancesOf(served)).every((s) => s === 'idle'));
      const later = await Promise.all(Array.from({ length: 8 }, (_, i) => work(probe, [i], { delayMs: 30 })));
      later.forEach((r, i) => t.deepEqual(r.y, [2 * i]));
      const whos = new Set(later.map((r) => r.who));
      t.is(whos.size, 2, 'both instances served the later calls');
      t.true([...whos].some((w) => !seen.has(w)), 'one of them is the restarted instance');
    });
  }

  test.serial(`${isolation}: a hung instance is restarted and its call fails UNAVAILABLE`, async (t) => {
    const served = await serveScheduled('probe', 1, starterFor(isolation, PROBE_SPEC), { hangTimeoutMs: 2000, minBackoffMs: 50 });
    t.teardown(() => served.close());
    const probe = served.client.runner('probe');
    const before = await work(probe, [1]);

    const hung = await outcome(work(probe, [2], { hang: true }));
    t.false(hung.ok);
    if (!hung.ok) {
      t.is(hung.code, 'UNAVAILABLE');
      t.regex(hung.message, /runner 'probe' instance 0 hung: a batch ran longer than 2000 ms; it is being restarted/);
    }
    await waitFor('the instance idle again', async () => (await instancesOf(served))[0] === 'idle');
    const after = await work(probe, [3]);
    t.deepEqual(after.y, [6]);
    t.not(after.who, before.who, 'a new instance answered');
  });
}
