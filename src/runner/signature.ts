/**
 * Method signatures: named inputs and outputs, each with a payload type, and whether
 * the method is batchable (each input row one example, rows in = rows out).
 */
import { Field, Schema } from 'apache-arrow';
import {
  describePayload, fieldFor, isNullable, payloadFromJSON, payloadToJSON, type ParamSpec, type TableType,
} from '../codecs/payload.js';

export type { ParamSpec } from '../codecs/payload.js';

/** Limits a method advertises to clients (and the scheduler enforces). */
export interface MethodLimits {
  /** Largest number of rows one backend call takes; larger calls are split. */
  maxBatchRows?: number;
}

/** What a runner method takes and returns. */
export interface MethodSignature {
  name: string;
  inputs: ParamSpec[];
  outputs: ParamSpec[];
  /** Each input row is one example, and the output has one row per input row. */
  batchable: boolean;
  /** The method `[runner]` alone addresses. */
  isDefault?: boolean;
  doc?: string;
  limits?: MethodLimits;
}

/** Names of runners and methods: `[A-Za-z0-9_.-]+`. */
export const NAME_PATTERN = /^[A-Za-z0-9_.-]+$/;

/** The single table input of a method, when it declares one. */
export function tableInput(sig: MethodSignature): (ParamSpec & { type: TableType }) | undefined {
  const tables = sig.inputs.filter((p): p is ParamSpec & { type: TableType } => p.type.kind === 'table');
  return tables.length === 1 && sig.inputs.length === 1 ? tables[0] : undefined;
}

/** The single table output of a method, when it returns a whole table. */
export function tableOutput(sig: MethodSignature): (ParamSpec & { type: TableType }) | undefined {
  const only = sig.outputs.length === 1 ? sig.outputs[0] : undefined;
  return only && only.type.kind === 'table' ? (only as ParamSpec & { type: TableType }) : undefined;
}

// Built once per signature (signatures do not change once made): every call needs the
// output schema, and rebuilding its fields per call showed up in one-row call profiles.
const inputSchemas = new WeakMap<MethodSignature, Schema>();
const outputSchemas = new WeakMap<MethodSignature, Schema>();

/** The Arrow schema a call's input batches have. A table input contributes its declared columns. */
export function inputSchema(sig: MethodSignature): Schema {
  let schema = inputSchemas.get(sig);
  if (!schema) inputSchemas.set(sig, schema = new Schema(fieldsOf(sig.inputs)));
  return schema;
}

/** The Arrow schema of a method's output batches (the same object on every call). */
export function outputSchema(sig: MethodSignature): Schema {
  let schema = outputSchemas.get(sig);
  if (!schema) outputSchemas.set(sig, schema = new Schema(fieldsOf(sig.outputs)));
  return schema;
}

function fieldsOf(params: ParamSpec[]): Field[] {
  const fields: Field[] = [];
  for (const p of params) {
    if (p.type.kind === 'table') {
      for (const [name, type] of Object.entries(p.type.columns ?? {})) fields.push(new Field(name, type, isNullable(p.type, name)));
    } else {
      fields.push(fieldFor(p.name, p.type));
    }
  }
  return fields;
}

/** The signature as JSON: FlightInfo app_metadata and the model-metadata action carry it. */
export function signatureToJSON(runner: string, sig: MethodSignature): Record<string, unknown> {
  return {
    runner,
    method: sig.name,
    default: Boolean(sig.isDefault),
    batchable: sig.batchable,
    inputs: sig.inputs.map((p) => ({ name: p.name, ...payloadToJSON(p.type), ...(p.doc ? { doc: p.doc } : {}) })),
    outputs: sig.outputs.map((p) => ({ name: p.name, ...payloadToJSON(p.type), ...(p.doc ? { doc: p.doc } : {}) })),
    limits: sig.limits ?? {},
    ...(sig.doc ? { doc: sig.doc } : {}),
  };
}

/** Reads a signature back from its JSON form. */
export function signatureFromJSON(json: Record<string, unknown>): MethodSignature {
  const params = (list: unknown): ParamSpec[] => (Array.isArray(list) ? list : []).map((p: Record<string, unknown>) => ({
    name: String(p['name']),
    type: payloadFromJSON(p),
    ...(typeof p['doc'] === 'string' ? { doc: p['doc'] } : {}),
  }));
  return {
    name: String(json['method']),
    inputs: params(json['inputs']),
    outputs: params(json['outputs']),
    batchable: Boolean(json['batchable']),
    // Optional fields appear only when set, as in the signature the runner itself made,
    // so a signature reads the same in process and through a server.
    ...(json['default'] === true ? { isDefault: true } : {}),
    ...(typeof json['doc'] === 'string' ? { doc: json['doc'] } : {}),
    ...(json['limits'] && typeof json['limits'] === 'object' && Object.keys(json['limits']).length ? { limits: json['limits'] as MethodLimits } : {}),
  };
}

/** One line per parameter, for CLI tables and error messages. */
export function describeParams(params: ParamSpec[]): string {
  return params.map((p) => `${p.name}: ${describePayload(p.type)}`).join(', ');
}
