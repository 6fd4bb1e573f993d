/**
 * The messages between a scheduler and an isolated instance (worker thread or child
 * process). Batches travel as Arrow IPC bytes (batch-transfer.ts); the runner's
 * signatures travel as their JSON form, plus the Arrow schema of any typed table
 * parameter, whose column types the JSON form does not keep.
 */
import { Field, Schema } from 'apache-arrow';
import { decodeSchemaBytes, encodeSchemaBytes } from '../flight/index.js';
import type { CallParams, Runner } from '../runner/runner.js';
import { arrowType, dtypeOf } from '../codecs/dtypes.js';
import type { PayloadType } from '../codecs/payload.js';
import { signatureFromJSON, signatureToJSON, type MethodSignature, type ParamSpec } from '../runner/signature.js';
import type { RunnerSpec } from './runner-spec.js';

/** Scheduler to instance. */
export type ToInstance =
  | { type: 'load'; spec: RunnerSpec }
  /**
   * Run a batch. `deadline` (epoch ms): the latest deadline of the calls in it; the
   * instance does not start the batch once it has passed (the message may have waited
   * for a busy thread or process), so no answer nobody can receive costs model time.
   */
  | { type: 'invoke'; id: number; method: string; params: CallParams; batch: Uint8Array; deadline?: number }
  /** Close the runner and exit. */
  | { type: 'stop' };

/** Instance to scheduler. */
export type FromInstance =
  /** The child is listening (messages sent to a process before then could be lost). */
  | { type: 'started' }
  | { type: 'ready'; runner: RunnerDescription }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; batch: Uint8Array }
  /** The runner threw: `code` is set when it threw a FlightError (its gRPC status). */
  | { type: 'error'; id: number; message: string; code?: number }
  /** A child process is about to die of an uncaught exception (a worker's 'error' event says so itself). */
  | { type: 'fatal'; message: string };

/** A runner as it crosses the boundary. */
export interface RunnerDescription {
  name: string;
  platform: string;
  versions: string[];
  methods: { json: Record<string, unknown>; tables: Record<string, Uint8Array> }[];
}

/** Table parameters' column schemas, keyed `in:NAME` / `out:NAME`. */
function tableKey(side: 'in' | 'out', name: string): string {
  return `${side}:${name}`;
}

/** Describes a loaded runner for the other side. */
export function describeRunner(runner: Runner): RunnerDescription {
  return {
    name: runner.name,
    platform: runner.platform,
    versions: [...runner.versions],
    methods: runner.methods.map(({ signature }) => {
      const tables: Record<string, Uint8Array> = {};
      for (const [side, params] of [['in', signature.inputs], ['out', signature.outputs]] as const) {
        for (const p of params) {
          if (p.type.kind === 'table' && p.type.columns) {
            const schema = new Schema(Object.entries(p.type.columns).map(([name, type]) => new Field(name, type, true)));
            tables[tableKey(side, p.name)] = encodeSchemaBytes(schema);
          }
        }
      }
      return { json: signatureToJSON(runner.name, signature), tables };
    }),
  };
}

/** The method signatures of a described runner, table column types included. */
export function signaturesOf(description: RunnerDescription): MethodSignature[] {
  return description.methods.map(({ json, tables }) => {
    const sig = signatureFromJSON(json);
    const typed = (side: 'in' | 'out') => (p: ParamSpec): ParamSpec => {
      const schema = decodeSchemaBytes(tables[tableKey(side, p.name)]);
      if (!schema) return p;
      // The JSON form's other table fields (which columns are nullable) stay as they came.
      // A decoded schema has generic type objects (Float of precision 2): a numeric or bool
      // column gets the type the runner declared (Float64), as a signature read in process has.
      const columnType = (f: Field) => {
        const dtype = dtypeOf(f.type);
        return dtype ? arrowType(dtype) : f.type;
      };
      const type: PayloadType = { ...(p.type as PayloadType & { kind: 'table' }), kind: 'table', columns: Object.fromEntries(schema.fields.map((f) => [f.name, columnType(f)])) };
      return { ...p, type };
    };
    return { ...sig, inputs: sig.inputs.map(typed('in')), outputs: sig.outputs.map(typed('out')) };
  });
}
