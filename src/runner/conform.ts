/**
 * Checks a call's input against a method signature and brings it to the declared form:
 * columns in declared order, safe widenings applied (int32 -> int64, float32 -> float64),
 * tensor columns tagged with their extension metadata. Planned once per input schema
 * (and remembered for it); the plan then conforms each batch (checking nulls, which vary
 * by batch).
 */
import {
  Binary, type FixedSizeList, type Field, Schema, Type, Utf8, makeData, makeVector, vectorFromArray, type DataType, type RecordBatch, type Vector,
} from 'apache-arrow';
import { batchFromSchema, singleChunk } from '../codecs/batch.js';
import { batchOfColumns } from '../flight/record-batch.js';
import { sameSchemaContent } from './call.js';
import { arrowType, canWiden, convertValues, dtypeOf, type DType } from '../codecs/dtypes.js';
import { Tensor, fixedShapeColumn, primitiveData, readPrimitiveColumn, isVariableShapeStorage } from '../codecs/tensor.js';
import { FlightError } from '../flight/index.js';
import {
  EXTENSION_METADATA, EXTENSION_NAME, FIXED_SHAPE_TENSOR, VARIABLE_SHAPE_TENSOR, describePayload, fieldFor, isFixedShape, isNullable, product,
  type PayloadType, type TableType, type TensorType,
} from '../codecs/payload.js';
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
      const extra = schema.fields.filter((f) => !declared.has(f.name));
      // One input missing and one column nobody declared: most likely a misnamed column.
      const fix = extra.length === 1 ? `: rename column '${extra[0]!.name}' to '${spec.name}'` : `: send a column named '${spec.name}'`;
      throw FlightError.invalidArgument(
        `${where}: missing input column '${spec.name}' (${describePayload(spec.type)}); `
        + `received ${schema.fields.length ? schema.fields.map((f) => `'${f.name}'`).join(', ') : 'no columns'}${fix}`,
      );
    }
    return planColumn(where, spec, field);
  });
  // Checked after missing inputs, so a misnamed column reads as the input it should have been.
  const unknown = schema.fields.filter((f) => !declared.has(f.name)).map((f) => f.name);
  if (unknown.length) {
    throw FlightError.invalidArgument(
      `${where}: unknown input column${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => `'${n}'`).join(', ')}; `
      + `inputs are ${sig.inputs.map((p) => `'${p.name}'`).join(', ')}: drop the other columns`,
    );
  }
  // Batches of a stream share its schema, so the conformed schema is built once too.
  const conformedSchema = new Schema(plans.map((p) => p.field), schema.metadata);
  const conformColumn = (batch: RecordBatch, plan: ColumnPlan): Vector => {
    const vector = batch.getChild(plan.spec.name)!;
    if (!plan.nullable && vector.nullCount > 0) throw nullsRefused(where, plan.spec.name, `${describePayload(plan.spec.type)} input`, vector);
    return plan.convert(vector);
  };
  // Where each input sits in batches of this very schema: a column taken as it is goes
  // over as its Data, without a Vector made to look it up by name and taken apart again.
  const indices = plans.map((plan) => schema.fields.findIndex((f) => f.name === plan.spec.name));
  const asIs = plans.every((plan) => plan.convert === identity);
  // A schema that already is the conformed one (the declared columns, in order, with the
  // declared names, types, nullability and extension metadata: what a client built from
  // the signature sends) needs no new batch: the batch goes on as it came, its nulls checked.
  const conformed = asIs && indices.every((at, i) => at === i) && sameSchemaContent(schema, conformedSchema);
  return (batch) => {
    if (batch.schema !== schema || !asIs || !batch.data.children.every((c) => c.length === batch.numRows)) {
      return batchFromSchema(conformedSchema, plans.map((plan) => conformColumn(batch, plan)), batch.numRows);
    }
    const children = batch.data.children;
    for (let i = 0; i < plans.length; i++) {
      const plan = plans[i]!;
      const data = children[indices[i]!]!;
      if (!plan.nullable && data.nullCount > 0) throw nullsRefused(where, plan.spec.name, `${describePayload(plan.spec.type)} input`, makeVector(data));
    }
    if (conformed) return batch;
    return batchOfColumns(conformedSchema, batch.numRows, plans.map((_, i) => children[indices[i]!]!));
  };
}

function planTable(where: string, spec: ParamSpec & { type: TableType }, schema: Schema): Conformer {
  const notNull: string[] = [];
  for (const [name, type] of Object.entries(spec.type.columns ?? {})) {
    const field = schema.fields.find((f) => f.name === name);
    if (!field) {
      throw FlightError.invalidArgument(`${where}: table '${spec.name}' needs column '${name}' (${String(type)}); received ${schema.fields.map((f) => `'${f.name}'`).join(', ') || 'no columns'}: add it`);
    }
    const want = dtypeOf(type);
    const got = dtypeOf(field.type);
    const ok = String(field.type) === String(type) || (want && got && canWiden(got, want));
    if (!ok) throw mismatch(where, name, String(type), field.type, castHint(type));
    if (!isNullable(spec.type, name)) notNull.push(name);
  }
  // Undeclared columns pass on as they are (nulls included): the runner did not ask for them.
  return (batch) => {
    for (const name of notNull) {
      const vector = batch.getChild(name)!;
      if (vector.nullCount > 0) throw nullsRefused(where, name, `${dtypeOf(vector.type) ?? String(vector.type)} table column`, vector);
    }
    return batch;
  };
}

/**
 * INVALID_ARGUMENT for nulls in a column that may not hold them: names the column, how
 * many rows and the first one, and how to fix it. Only runs once nulls are known to be
 * there, so the scan for the first one costs nothing on good input.
 */
function nullsRefused(where: string, column: string, what: string, vector: Vector): FlightError {
  let first = 0;
  while (first < vector.length && vector.isValid(first)) first++;
  return FlightError.invalidArgument(
    `${where}: column '${column}' has ${vector.nullCount} null row(s), the first at row ${first} of the batch; ${what} '${column}' cannot be null `
    + '(the method does not declare it nullable): send a value in every row, e.g. fill or drop the missing ones first '
    + '(pyarrow.compute.fill_null / drop_null, pandas fillna / dropna)',
  );
}

function mismatch(where: string, column: string, expected: string, received: DataType | string, hint = ''): FlightError {
  return FlightError.invalidArgument(`${where}: column '${column}' expected ${expected}, received ${String(received)}${hint ? `; ${hint}` : ''}`);
}

/** pyarrow's name for an Arrow type: pa.float64(), pa.bool_(), pa.string(). */
function pyarrowType(type: DataType | DType): string {
  const dtype = typeof type === 'string' ? type : dtypeOf(type);
  if (dtype) return dtype === 'bool' ? 'pa.bool_()' : `pa.${dtype}()`;
  const t = type as DataType;
  if (t.typeId === Type.Utf8 || t.typeId === Type.LargeUtf8) return 'pa.string()';
  if (t.typeId === Type.Binary || t.typeId === Type.LargeBinary) return 'pa.binary()';
  return String(t);
}

/** How to send a column of `type` instead (the cast a pyarrow or pandas user makes). */
function castHint(type: DataType | DType): string {
  const pa = pyarrowType(type);
  const dtype = typeof type === 'string' ? type : dtypeOf(type);
  return `cast it first: pa.array(values, ${pa}) or column.cast(${pa})${dtype ? ` (pandas: .astype('${dtype}'))` : ''}`;
}

/**
 * How to send a tensor column of `type`, given what came: a tensor column of the wrong
 * element type needs a cast; one of the wrong shape says so by itself (no hint); anything
 * else (a list column, text, numbers) is not a tensor column at all.
 */
function tensorHint(type: TensorType, received: Field): string {
  const np = type.dtype === 'bool' ? 'np.bool_' : `np.${type.dtype}`;
  if (received.type.typeId === Type.FixedSizeList || isVariableShapeStorage(received.type)) {
    const child = received.type.typeId === Type.FixedSizeList ? received.type.children[0]!.type : received.type.children[0]!.type.children[0]!.type;
    return dtypeOf(child) !== type.dtype ? `cast the values to ${type.dtype} first, e.g. np.asarray(x, dtype=${np})` : '';
  }
  if (!isFixedShape(type)) {
    return `a tensor with a free dimension is an ${VARIABLE_SHAPE_TENSOR} column (struct<data: list<${type.dtype}>, shape: fixed_size_list<int32>[${type.shape.length}]>; `
      + 'docs/protocol.md shows how to build one in pyarrow), or a fixed_shape_tensor when every row has the same shape';
  }
  return `a tensor input is a fixed_shape_tensor column: pa.FixedShapeTensorArray.from_numpy_ndarray(np.asarray(rows, dtype=${np})) `
    + `with rows of shape [${type.shape.join(', ')}] (a list column such as pa.array([[...]]) is not a tensor)`;
}

const identity = (v: Vector) => v;

function planColumn(where: string, spec: ParamSpec, received: Field): ColumnPlan {
  const type = spec.type as Exclude<PayloadType, { kind: 'table' }>;
  const field = fieldFor(spec.name, type);
  const expected = `${describePayload(type)} (${String(field.type)})`;
  const nullable = isNullable(type);
  const hint = type.kind === 'scalar' || (type.kind === 'tensor' && type.shape.length === 0) ? castHint(type.dtype)
    : type.kind === 'tensor' ? tensorHint(type, received)
      : type.kind === 'string' ? castHint(new Utf8()) : type.kind === 'bytes' ? castHint(new Binary()) : '';
  const fail = () => mismatch(where, spec.name, expected, describeReceived(received), hint);
  switch (type.kind) {
    case 'string':
      if (received.type.typeId === Type.Utf8 || received.type.typeId === Type.LargeUtf8) return { spec, field: received, convert: identity, nullable };
      throw fail();
    case 'bytes':
      if ([Type.Binary, Type.LargeBinary, Type.FixedSizeBinary].includes(received.type.typeId)) return { spec, field: received, convert: identity, nullable };
      throw fail();
    case 'json':
      if ([Type.Utf8, Type.LargeUtf8, Type.Struct].includes(received.type.typeId)) return { spec, field: received, convert: identity, nullable: true };
      throw fail();
    case 'scalar':
      return { spec, field, convert: primitiveConverter(received.type, type.dtype, fail), nullable };
    case 'tensor':
      if (type.shape.length === 0) return { spec, field, convert: primitiveConverter(received.type, type.dtype, fail), nullable };
      return planTensor(type, spec, received, field, fail);
  }
}

function primitiveConverter(type: DataType, want: DType, fail: () => FlightError): (v: Vector) => Vector {
  const got = dtypeOf(type);
  if (!got || !canWiden(got, want)) throw fail();
  if (got === want) return identity;
  return (v) => {
    const values = convertValues(readPrimitiveColumn(v, got), got, want);
    if (v.nullCount === 0) return makeVector(primitiveData(want, values));
    // A nullable column keeps its nulls through the widening (values alone would make them zeros).
    return vectorFromArray(Array.from(values as ArrayLike<unknown>, (x, i) => (v.isValid(i) ? x : null)) as never, arrowType(want));
  };
}

function planTensor(type: TensorType, spec: ParamSpec, received: Field, _field: Field, fail: () => FlightError): ColumnPlan {
  const nullable = isNullable(type);
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
    const outField = fieldFor(spec.name, { kind: 'tensor', dtype: type.dtype, shape, ...(nullable ? { nullable } : {}) });
    const convert = got === type.dtype ? identity : (v: Vector) => widenFixedSizeList(v, got, type.dtype);
    return { spec, field: outField, convert, nullable };
  }
  if (isVariableShapeStorage(received.type) && (extension === VARIABLE_SHAPE_TENSOR || extension === undefined)) {
    const data = received.type.children[0]!.type;
    const got = dtypeOf(data.children[0]!.type);
    const ndim = (received.type.children[1]!.type as FixedSizeList).listSize;
    if (!got || got !== type.dtype || ndim !== type.shape.length) throw fail();
    return { spec, field: received, convert: identity, nullable };
  }
  throw fail();
}

function widenFixedSizeList(v: Vector, from: DType, to: DType): Vector {
  const data = singleChunk(v);
  const size = (data.type as FixedSizeList).listSize;
  // The child of a sliced fixed-size list is sliced with it: its first value is row 0's.
  const values = readPrimitiveColumn(makeVector(data.children[0]!), from).subarray(0, data.length * size);
  const widened = fixedShapeColumn(new Tensor(to, convertValues(values as never, from, to), [data.length, size]));
  if (data.nullCount === 0) return widened;
  // Null rows of a nullable tensor stay null: the widened values under the input's validity.
  const out = widened.data[0]!;
  const validity = new Uint8Array(Math.ceil(data.length / 8));
  for (let i = 0; i < data.length; i++) if (v.isValid(i)) validity[i >> 3]! |= 1 << (i & 7);
  return makeVector(makeData({ type: out.type, length: out.length, nullCount: data.nullCount, nullBitmap: validity, child: out.children[0]! }));
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
