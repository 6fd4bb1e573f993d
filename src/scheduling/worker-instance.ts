/**
 * Instances in worker threads (isolation `worker`): each loads its own runner in a
 * node:worker_threads Worker, so a runner's JS work runs off the server's event loop,
 * and a runner that calls process.exit or throws an uncaught exception takes down its
 * thread only. Batches cross as Arrow IPC bytes moved by transfer, not copied.
 */
import { Worker } from 'node:worker_threads';
import type { InstanceStarter } from './instance-pool.js';
import { startIsolatedInstance, type ChildHandle, type IsolatedInstanceOptions } from './isolated-instance.js';
import type { RunnerSpec } from './runner-spec.js';
import { entryUrl, workerBootstrap } from './typescript-support.js';

/**
 * A starter that runs instance `index` in a new worker thread loading `specFor(index)`.
 *
 * @example
 * const pool = new InstancePool('mlp', 2, workerStarter((index) => ({
 *   backend: 'onnx', entry: { path: 'mlp_small.onnx', options: {} }, runner: 'mlp_small', instance: { index, threads: 1 },
 * })));
 */
export function workerStarter(specFor: (index: number) => RunnerSpec, options: IsolatedInstanceOptions = {}): InstanceStarter {
  return (index) => {
    const spec = specFor(index);
    return startIsolatedInstance(startWorker(spec), spec, options);
  };
}

function startWorker(spec: RunnerSpec): ChildHandle {
  const entry = entryUrl('worker-entry');
  const load = `import(${JSON.stringify(entry.href)})`;
  // Workers do not inherit tsx's hooks: register them in the thread before the entry loads.
  const worker = new Worker(workerBootstrap(entry, spec, load), { eval: true });
  let uncaught: Error | undefined;
  worker.on('error', (err: Error) => { uncaught = err; });
  const exited = new Promise<string>((resolve) => {
    // 'error' (an uncaught exception) comes before 'exit', so the cause names it.
    worker.once('exit', (code) => resolve(uncaught ? `uncaught exception: ${uncaught.message}` : `exit code ${code}`));
  });
  return {
    label: `worker thread ${worker.threadId}`,
    send: (message, transfer) => worker.postMessage(message, transfer),
    onMessage: (listener) => worker.on('message', listener),
    exited,
    kill: () => void worker.terminate(),
  };
}
