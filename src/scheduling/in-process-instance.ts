/**
 * Instances that live in this process: a runner loaded once per instance. They share the
 * JS thread: onnxruntime-node runs a session synchronously on it (its intra-op threads
 * parallelize one run, not several), so for parallel instances use worker isolation.
 */
import type { Runner } from '../runner/runner.js';
import type { InstanceStarter } from './instance-pool.js';

/** A starter that loads a fresh runner per instance. In-process instances never exit on their own. */
export function inProcessStarter(load: (index: number) => Promise<Runner>): InstanceStarter {
  return async (index) => {
    const runner = await load(index);
    return {
      runner,
      exited: new Promise<string>(() => {}),
      stop: async () => {
        await runner.close?.();
      },
    };
  };
}
