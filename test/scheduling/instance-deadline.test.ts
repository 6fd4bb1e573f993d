/**
 * An isolated instance (worker thread, child process) does not start a batch whose
 * deadline passed while the message waited for it: the batcher sends the latest deadline
 * of the batch's calls with it, and no answer nobody can receive costs model time.
 */
import test from 'ava';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { FlightError, Status } from '../../src/flight/index.js';
import { PROBE_SPEC, starterFor, type Isolation } from './fixtures/helpers.js';

for (const isolation of ['worker', 'process'] as Isolation[]) {
  test(`${isolation}: a batch whose deadline has passed is refused DEADLINE_EXCEEDED without running; one in time runs`, async (t) => {
    const instance = await starterFor(isolation, PROBE_SPEC)(0);
    t.teardown(() => instance.stop());
    const work = instance.runner.methods[0]!;
    const batch = valuesToBatch(work.signature.inputs, { x: Float64Array.from([21]) });

    const late = await t.throwsAsync(work.invoke(batch, {}, { deadline: new Date(Date.now() - 1) }), { instanceOf: FlightError });
    t.is(late.code, Status.DEADLINE_EXCEEDED);
    t.regex(late.message, /runner 'probe' method 'work': deadline passed before the instance could start the batch/);

    const out = await work.invoke(batch, {}, { deadline: new Date(Date.now() + 60_000) });
    t.deepEqual(Array.from(out.getChild('y')!.toArray() as Float64Array), [42]);
    const noDeadline = await work.invoke(batch, {}, {});
    t.deepEqual(Array.from(noDeadline.getChild('y')!.toArray() as Float64Array), [42]);
  });
}
