/**
 * Checks a call's input against a method signature and brings it to the declared form:
 * columns in declared order, safe widenings applied (int32 -> int64, float32 -> float64),
 * tensor columns tagged with their extension metadata. Planned once per input schema
 * (and remembered for it); the plan then conforms each batch (checking nulls, which vary
 * by batch).
 */
import { type FixedSizeList, type Field, Schema, Type, makeVector, type DataType, type RecordBatch, type Vector } from 'apache-arrow';
import { batchFromSchema, singleChunk } from '../codecs/batch.js';
import { canWiden, convertValues, dtypeOf, type DType } from '../codecs/dtypes.js';
import { Tensor, fixedShapeColumn, primitiveData, readPrimitiveColumn, isVariableShapeStorage } from '../codecs/tensor.js';
import { FlightError } from '../flight/index.js';
import {
  EXTENSION_METADATA, EXTENSION_NAME, FIXED_SHAPE_TENSOR, VARIABLE_SHAPE_TENSOR, describePayload, fieldFor, product,
  type PayloadType, type TensorType,
} from './payload.js';
import { tableInput, type MethodSignature, type ParamSpec } from './signature.js';

/** Conforms one input batch; throws INVALID_ARGUMENT naming the column at fault. */
export type Conformer = (batch: RecordBatch) => RecordBatch;

type ColumnPlan = { spec: ParamSpec; field: Field; convert: (v: Vector) => Vector; nullable: boolean };

/**
 * Plans per signature, runner name and input schema. The decoder hands out one Schema
 * object per distinct schema message (flight/header-cache.ts), so every call of a
 * client after the first finds its plan here. Refusals are not kept.
 */
const planCache = new WeakMap<MethodSignature, Map<string, WeakMap<Schema, Conformer>>>();

/**
 * Plans the conformance of batches with `schema` to `sig`, or throws INVALID_ARGUMENT:
 * a missing input, an unknown column, or a type that is neither exact nor a safe widening.
 */
export function planConform(runner: string, sig: MethodSignature, schema: Schema): Conformer {
  let byRunner = planCache.get(sig);
  if (!byRunner) planCache.set(sig, byRunner = new Map());
  let bySchema = byRunner.get(runner);
  if (!bySchema) byRunner.set(runner, bySchema = new WeakMap());
  let plan = bySchema.get(schema);
  if (!plan) bySchema.set(schema, plan = buildPlan(runner, sig, schema));
  return plan;
}

function buildPlan(runner: string, sig: MethodSignature, schema: Schema): Conformer {
  const where = `runner '${runner}' method '${sig.name}'`;
  const table = tableInput(sig);
  if (table) return planTable(where, table, schema);

  const received = new Map(schema.fields.map((f) => [f.name, f]));
  const declared = new Set(sig.inputs.map((p) => p.name));
  const plans: ColumnPlan[] = sig.inputs.map((spec) => {
    const field = received.get(spec.name);
    if (!field) {
      throw FlightError.invalidArgument(
        `${where}: missing input column '${spec.name}' (${describePayload(spec.type)}); `
        + `received ${schema.fields.length ? schema.fields.map((f) => `'${f.name}'`).join(', ') : 'no columns'}`,
      );
    }
    return planColumn(where, spec, field);
  });
  // Checked after missing inputs, so a misnamed column reads as the input it should have been.
  const unknown = schema.fields.filter((f) => !declared.has(f.name)).map((f) => f.name);
  if (unknown.length) {
    throw FlightError.invalidArgument(
      `${where}: unknown input column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; `
      + `inputs are ${sig.inputs.map((p) => `'${p.name}'`).join(', ')}`,
    );
  }
  // Batches of a stream share its schema, so the conformed schema is built once too.
  const conformedSchema = new Schema(plans.map((p) => p.field), schema.metadata);
  return (batch) => {
    const columns = plans.map((plan) => {
      const vector = batch.getChild(plan.spec.name)!;
      if (!plan.nullable && vector.nullCount > 0) {
        throw FlightError.invalidArgument(
          `${where}: column '${plan.spec.name}' has ${vector.nullCount} null row(s); ${plan.spec.type.kind} inputs cannot be null`,
        );
      }
      return plan.convert(vector);
    });
    return batchFromSchema(conformedSchema, columns, batch.numRows);
  };
}

function planTable(where: string, spec: ParamSpec & { type: { kind: 'table'; columns?: Record<string, DataType> } }, schema: Schema): Conformer {
  for (const [name, type] of Object.entries(spec.type.columns ?? {})) {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) {
      throw FlightError.invalidArgument(`${where}: table '${spec.name}' needs column '${name}' (${String(type)}); received ${schema.fields.map((f) => `'${f.name}'`).join(', ') || 'no columns'}`);
    }
    const want = dtypeOf(type);
    const got = dtypeOf(field.type);
    const ok = String(field.type) === String(type) || (want && got && canWiden(got, want));
    if (!ok) throw mismatch(where, name, String(type), field.type);
  }
  return (batch) => batch;
}

function mismatch(where: string, column: string, expected: string, received: DataType | string): FlightError {
  return FlightError.invalidArgument(`${where}: column '${column}' expected ${expected}, received ${String(received)}`);
}

const identity = (v: Vector) => v;

function planColumn(where: string, spec: ParamSpec, received: Field): ColumnPlan {
  const type = spec.type as Exclude<PayloadType, { kind: 'table' }>;
  const field = fieldFor(spec.name, type);
  const expected = `${describePayload(type)} (${String(field.type)})`;
  const fail = () => mismatch(where, spec.name, expected, describeReceived(received));
  switch (type.kind) {
    case 'string':
      if (received.type.typeId === Type.Utf8 || received.type.typeId === Type.LargeUtf8) return { spec, field: received, convert: identity, nullable: false };
      throw fail();
    case 'bytes':
      if ([Type.Binary, Type.LargeBinary, Type.FixedSizeBinary].includes(received.type.typeId)) return { spec, field: received, convert: identity, nullable: false };
      throw fail();
    case 'json':
      if ([Type.Utf8, Type.LargeUtf8, Type.Struct].includes(received.type.typeId)) return { spec, field: received, convert: identity, nullable: true };
      throw fail();
    case 'scalar':
      return { spec, field, convert: primitiveConverter(received.type, type.dtype, fail), nullable: false };
    case 'tensor':
      if (type.shape.length === 0) return { spec, field, convert: primitiveConverter(received.type, type.dtype, fail), nullable: false };
      return planTensor(type, spec, received, field, fail);
  }
}

function primitiveConverter(type: DataType, want: DType, fail: () => FlightError): (v: Vector) => Vector {
  const got = dtypeOf(type);
  if (!got || !canWiden(got, want)) throw fail();
  if (got === want) return identity;
  return (v) => makeVector(primitiveData(want, convertValues(readPrimitiveColumn(v, got), got, want)));
}

function planTensor(type: TensorType, spec: ParamSpec, received: Field, field: Field, fail: () => FlightError): ColumnPlan {
  const extension = received.metadata.get(EXTENSION_NAME);
  if (received.type.typeId === Type.FixedSizeList) {
    const list = received.type as FixedSizeList;
    const got = dtypeOf(list.children[0]!.type);
    if (!got || !canWiden(got, type.dtype)) throw fail();
    let shape: number[];
    if (extension === FIXED_SHAPE_TENSOR) {
      shape = parseShape(received.metadata.get(EXTENSION_METADATA));
    } else if (type.shape.length === 1) {
      shape = [list.listSize];
    } else {
      // A plain FixedSizeList of the right size stands for the declared shape.
      shape = type.shape.every((d) => d >= 0) && product(type.shape) === list.listSize ? type.shape : [];
    }
    const matches = shape.length === type.shape.length && type.shape.every((d, i) => d < 0 || d === shape[i])
      && product(shape) === list.listSize;
    if (!matches) throw fail();
    // The conformed field names the actual per-example shape (free dims resolved).
    const outField = fieldFor(spec.name, { kind: 'tensor', dtype: type.dtype, shape });
    const convert = got === type.dtype ? identity : (v: Vector) => widenFixedSizeList(v, got, type.dtype);
    return { spec, field: outField, convert, nullable: false };
  }
  if (isVariableShapeStorage(received.type) && (extension === VARIABLE_SHAPE_TENSOR || extension === undefined)) {
    const data = received.type.children[0]!.type;
    const got = dtypeOf(data.children[0]!.type);
    const ndim = (received.type.children[1]!.type as FixedSizeList).listSize;
    if (!got || got !== type.dtype || ndim !== type.shape.length) throw fail();
    return { spec, field: received, convert: identity, nullable: false };
  }
  throw fail();
}

function widenFixedSizeList(v: Vector, from: DType, to: DType): Vector {
  const data = singleChunk(v);
  const size = (data.type as FixedSizeList).listSize;
  // The child of a sliced fixed-size list is sliced with it: its first value is row 0's.
  const values = readPrimitiveColumn(makeVector(data.children[0]!), from).subarray(0, data.length * size);
  return fixedShapeColumn(new Tensor(to, convertValues(values as never, from, to), [data.length, size]));
}

function parseShape(metadata: string | undefined): number[] {
  try {
    const shape = (JSON.parse(metadata ?? '') as { shape?: unknown }).shape;
    return Array.isArray(shape) ? shape.map(Number) : [];
  } catch {
    return [];
  }
}

function describeReceived(field: Field): string {
  const extension = field.metadata.get(EXTENSION_NAME);
  if (extension === FIXED_SHAPE_TENSOR) {
    const list = field.type as FixedSizeList;
    return `${FIXED_SHAPE_TENSOR}<${dtypeOf(list.children[0]!.type) ?? String(list.children[0]!.type)}>${JSON.stringify(parseShape(field.metadata.get(EXTENSION_METADATA)))}`;
  }
  return extension ? `${extension} over ${String(field.type)}` : String(field.type);
}
