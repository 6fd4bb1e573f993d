/**
 * The Arrow-level seam between a runner handle and where the runner runs. A remote
 * caller speaks Flight; a local caller invokes the runner in process. Both see the
 * same batches and raise the same FlightErrors, so one contract suite covers both.
 */
import type { RecordBatch } from 'apache-arrow';
import type { FlightChunk } from '../flight/index.js';
import type { MethodSignature } from '../runner/signature.js';

/** The methods of one runner, as a caller knows them. */
export interface RunnerDescription {
  name: string;
  methods: MethodSignature[];
  /** Set when the server lists the runner as not callable: loading, or failed with a reason. */
  unavailable?: { state: string; error?: string };
}

/** Calls runner methods with record batches. */
export interface Caller {
  /** Every runner and its method signatures. */
  describe(): Promise<RunnerDescription[]>;
  /** One batch in, one batch out. */
  call(runner: string, method: string, batch: RecordBatch, options?: CallOptions): Promise<RecordBatch>;
  /** Many batches through one exchange; results in order, each with its input's app_metadata. */
  stream(runner: string, method: string, input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>, options?: CallOptions): AsyncIterable<FlightChunk>;
  close(): void;
}

/** Per-call options. */
export interface CallOptions {
  /** Timeout in milliseconds, or an absolute deadline. */
  deadline?: number | Date;
  signal?: AbortSignal;
}
