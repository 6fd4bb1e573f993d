/**
 * The scheduler's side of an isolated instance, shared by worker threads and child
 * processes: load the runner in the child, stand in for it with a proxy Runner whose
 * invokes become messages, and turn the child's death into the instance's `exited`.
 */
import type { RecordBatch } from 'apache-arrow';
import { FlightError } from '../flight/index.js';
import type { CallParams, InvokeContext, Runner, RunnerMethod } from '../runner/runner.js';
import { batchFromBytes, batchToBytes } from './batch-transfer.js';
import type { StartedInstance } from './instance-pool.js';
import { signaturesOf, type FromInstance, type RunnerDescription, type ToInstance } from './isolated-protocol.js';
import type { RunnerSpec } from './runner-spec.js';

/** A started child (thread or process), as the shared code needs it. */
export interface ChildHandle {
  /** Names the child in errors: `worker thread 3`, `process 4242`. */
  readonly label: string;
  /** Sends a message; `transfer` lists buffers to move rather than copy (where supported). */
  send(message: ToInstance, transfer: ArrayBuffer[]): void;
  onMessage(listener: (message: FromInstance) => void): void;
  /** Resolves with the cause once the child is gone: `exit code 3`, `killed by signal SIGKILL`. */
  readonly exited: Promise<string>;
  /** Ends the child now (terminate the thread, SIGKILL the process). */
  kill(): void;
}

/** Timeouts of an isolated instance. */
export interface IsolatedInstanceOptions {
  /** Longest the runner may take to load (default 120 s); the child is killed after. */
  startTimeoutMs?: number;
  /** How long `stop()` lets the runner close before killing the child (default 5 s). */
  stopGraceMs?: number;
}

interface Pending {
  resolve(batch: RecordBatch): void;
  reject(err: unknown): void;
}

/**
 * Loads `spec` in `child` and resolves with the instance once the runner is ready.
 * Rejects (and kills the child) if loading fails, times out, or the child dies first.
 */
export async function startIsolatedInstance(child: ChildHandle, spec: RunnerSpec, options: IsolatedInstanceOptions = {}): Promise<StartedInstance> {
  const pending = new Map<number, Pending>();
  let nextId = 0;
  let gone: string | undefined;
  let loaded!: (description: RunnerDescription) => void;
  let failed!: (err: Error) => void;
  const ready = new Promise<RunnerDescription>((resolve, reject) => { loaded = resolve; failed = reject; });

  const take = (id: number): Pending | undefined => {
    const p = pending.get(id);
    pending.delete(id);
    return p;
  };

  child.onMessage((message) => {
    switch (message.type) {
      case 'started': child.send({ type: 'load', spec }, []); return;
      case 'ready': loaded(message.runner); return;
      case 'load-error': failed(new Error(`${child.label} could not load the runner: ${message.message}`)); return;
      case 'result': take(message.id)?.resolve(batchFromBytes(message.batch)); return;
      case 'error': {
        // The runner's own message, so a model error reads the same as in process.
        const err = message.code !== undefined ? new FlightError(message.code, message.message) : new Error(message.message);
        take(message.id)?.reject(err);
        return;
      }
      case 'fatal': return; // the child handle folds it into the exit cause
    }
  });
  void child.exited.then((cause) => {
    gone = cause;
    failed(new Error(`${child.label} exited before its runner loaded: ${cause}`));
    // The pool fails the running batch itself; this settles the promises it no longer waits on.
    for (const p of pending.values()) p.reject(FlightError.unavailable(`${child.label} exited: ${cause}`));
    pending.clear();
  });

  const startTimeoutMs = options.startTimeoutMs ?? 120_000;
  const timer = setTimeout(() => failed(new Error(`${child.label} did not load its runner within ${startTimeoutMs} ms`)), startTimeoutMs);
  let description: RunnerDescription;
  try {
    description = await ready;
  } catch (err) {
    child.kill();
    await child.exited;
    throw err;
  } finally {
    clearTimeout(timer);
  }

  const invoke = (method: string, input: RecordBatch, params: CallParams, ctx: InvokeContext): Promise<RecordBatch> => {
    if (gone !== undefined) return Promise.reject(FlightError.unavailable(`${child.label} exited: ${gone}`));
    const id = nextId++;
    const bytes = batchToBytes(input);
    return new Promise<RecordBatch>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      const deadline = ctx.deadline?.getTime();
      child.send({ type: 'invoke', id, method, params, batch: bytes, ...(deadline !== undefined ? { deadline } : {}) }, [bytes.buffer as ArrayBuffer]);
    });
  };
  const methods: RunnerMethod[] = signaturesOf(description).map((signature) => ({
    signature,
    invoke: (input, params, ctx) => invoke(signature.name, input, params, ctx),
  }));
  // batchToBytes copies each input before it is sent: the instance never sees this memory.
  const runner: Runner = { name: description.name, platform: description.platform, versions: description.versions, methods, releasesInputs: true };

  return {
    runner,
    exited: child.exited,
    stop: async () => {
      if (gone !== undefined) return;
      child.send({ type: 'stop' }, []);
      // A runner stuck in a busy loop never reads 'stop': kill it after the grace period.
      const kill = setTimeout(() => child.kill(), options.stopGraceMs ?? 5_000);
      await child.exited;
      clearTimeout(kill);
    },
  };
}
