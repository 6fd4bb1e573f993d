/** local() takes a runner definition (defineRunner) directly: setup runs, close() runs teardown. */
import test from 'ava';
import { defineRunner, loadJsRunner, local, types } from '../../src/index.js';
import { sdkRunner } from './sdk-runners.js';

test('local(defineRunner(...)) gives a handle; its setup state is used and close() tears it down', async (t) => {
  const events: string[] = [];
  const scaler = defineRunner({
    name: 'scaler',
    setup: () => {
      events.push('setup');
      return { factor: 3 };
    },
    teardown: (state) => {
      events.push(`teardown ${state.factor}`);
    },
    methods: {
      scale: {
        inputs: { x: types.scalar('float64') },
        outputs: { y: types.scalar('float64') },
        run: ({ x }, _params, state) => (x as Float64Array).map((v) => v * state.factor),
      },
    },
  });
  const handle = await local(scaler);
  t.deepEqual(events, ['setup']);
  t.is(handle.name, 'scaler');
  t.is(await handle.run(2), 6);
  t.deepEqual(Array.from(await handle.run([1, 2]) as Float64Array), [3, 6]);
  await handle.close();
  t.deepEqual(events, ['setup', 'teardown 3']);
});

test('local() takes definitions and loaded runners together; a name given twice or a non-runner is a TypeError', async (t) => {
  const loaded = await loadJsRunner(defineRunner({
    name: 'other',
    methods: { id: { inputs: { x: types.scalar('float64') }, outputs: { x: types.scalar('float64') }, run: ({ x }) => x } },
  }));
  const client = await local([sdkRunner, loaded]);
  t.deepEqual(client.runners, ['sdk', 'other']);
  t.is(await client.runner('other').run(5), 5);
  t.is((await client.runner('sdk').run([2, 0]) as { label: number }).label, 2);
  client.close();
  await t.throwsAsync(local([sdkRunner, sdkRunner]), { instanceOf: TypeError, message: "two runners are named 'sdk'; runner names must be unique" });
  await t.throwsAsync(local({ name: 'x', methods: {} } as never), {
    instanceOf: TypeError,
    message: 'local() takes runners (loadJsRunner, loadOnnxRunner) or runner definitions (defineRunner); got an object that is neither',
  });
});
