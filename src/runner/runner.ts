/**
 * The runner interface every backend implements, at the Arrow level: a method takes a
 * conformed input batch (columns named after its inputs) and returns a batch of its
 * outputs. Backends convert to and from their own values (onnxruntime tensors, JS
 * values); the server, the in-process client and the scheduler only see batches.
 */
import type { RecordBatch } from 'apache-arrow';
import type { CallCancellation } from './cancellation.js';
import type { MethodSignature } from './signature.js';

/** Call-level parameters (not per example): a threshold, top_k. */
export type CallParams = Record<string, unknown>;

/** What a method invocation knows about its call. */
export interface InvokeContext {
  /** Aborted when the caller cancels or its deadline passes. */
  signal?: AbortSignal;
  /**
   * The same abort, for a scheduler: watching it costs no AbortSignal or listener per
   * call. When it is given, `signal` (if read) is its signal, made on demand.
   */
  cancellation?: CallCancellation;
  /** The caller's deadline: a scheduler drops the call if it passes while queued. */
  deadline?: Date;
}

/** One method of a runner. */
export interface RunnerMethod {
  readonly signature: MethodSignature;
  /**
   * Runs the model on one batch. For a batchable method the result has one row per
   * input row, in order. Throwing fails this call only.
   */
  invoke(input: RecordBatch, params: CallParams, ctx: InvokeContext): Promise<RecordBatch>;
}

/**
 * The state of one instance of a runner that runs as several (a scheduler's pool), as
 * the `health` action and the instance metrics report it.
 */
export type InstanceState = 'starting' | 'idle' | 'busy' | 'restarting' | 'stopped';

/** A loaded model (or JS function set) with one or more methods. */
export interface Runner {
  readonly name: string;
  /** The backend: `onnxruntime-node`, `js`. */
  readonly platform: string;
  /** Model versions served (KServe V2 model metadata). */
  readonly versions: readonly string[];
  readonly methods: readonly RunnerMethod[];
  /**
   * Each instance's state, for a runner that runs as several instances (implemented by
   * the scheduling layer's ScheduledRunner). The runner layer knows scheduling only
   * through this: a runner without it is one instance, reported by its registry state.
   */
  instanceStates?(): readonly InstanceState[];
  /**
   * True when the runner reads a call's input only until that call is answered and keeps
   * nothing of it (ONNX views it only during the run; isolated instances get a copy). The
   * server may then receive later input into the same memory (FlightReader.recycle) once
   * the answer is written. Unset for runners that may keep an input (a JS function).
   */
  readonly releasesInputs?: boolean;
  /** Releases the model. */
  close?(): Promise<void>;
}

/** The method `[runner]` alone addresses: the one marked default, or the only one. */
export function defaultMethod(runner: Runner): RunnerMethod | undefined {
  return runner.methods.find((m) => m.signature.isDefault) ?? (runner.methods.length === 1 ? runner.methods[0] : undefined);
}
