/**
 * Instances in child processes (isolation `process`): each loads its own runner in a
 * forked Node process, so a native crash (a segfault in a model library, an abort)
 * kills that instance only; the pool sees the exit code or signal and restarts it.
 * Batches cross the IPC channel as Arrow IPC bytes ('advanced' serialization sends
 * them as binary, not JSON).
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InstanceStarter } from './instance-pool.js';
import { startIsolatedInstance, type ChildHandle, type IsolatedInstanceOptions } from './isolated-instance.js';
import type { FromInstance } from './isolated-protocol.js';
import type { RunnerSpec } from './runner-spec.js';
import { childExecArgv, entryUrl } from './typescript-support.js';

/**
 * A starter that runs instance `index` in a new child process loading `specFor(index)`.
 *
 * @example
 * const pool = new InstancePool('mlp', 2, processStarter((index) => ({
 *   backend: 'onnx', entry: { path: 'mlp_small.onnx', options: {} }, runner: 'mlp_small', instance: { index, threads: 1 },
 * })));
 */
export function processStarter(specFor: (index: number) => RunnerSpec, options: IsolatedInstanceOptions = {}): InstanceStarter {
  return (index) => {
    const spec = specFor(index);
    return startIsolatedInstance(startProcess(spec), spec, options);
  };
}

function startProcess(spec: RunnerSpec): ChildHandle {
  const entry = entryUrl('process-entry');
  const execArgv = childExecArgv(entry, spec);
  const child = fork(fileURLToPath(entry), [], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let fatal: string | undefined;
  child.on('message', (message: FromInstance) => { if (message.type === 'fatal') fatal = message.message; });
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ? `killed by signal ${signal}` : fatal ?? `exit code ${code}`));
    // Spawning failed: there will be no 'exit'.
    child.once('error', (err) => { if (child.pid === undefined) resolve(`could not start: ${err.message}`); });
  });
  return {
    label: `process ${child.pid}`,
    // A send to a process that just died fails; its 'exit' reports that, so the error is dropped.
    send: (message) => { if (child.connected) child.send(message, undefined, {}, () => {}); },
    onMessage: (listener) => child.on('message', listener as (message: unknown) => void),
    exited,
    kill: () => { child.kill('SIGKILL'); },
  };
}
