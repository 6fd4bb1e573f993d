/**
 * Instances that live in this process: a runner loaded once per instance (ONNX sessions
 * run on onnxruntime's own threads, so several in one process do run in parallel).
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
