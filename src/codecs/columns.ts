/**
 * JS values <-> Arrow columns, by payload type. Values are batch-first: a tensor input
 * of per-example shape [4] is a Tensor of shape [rows, 4]; a string input is string[].
 * Used on both sides of a call: the SDK encodes arguments and decodes results with it,
 * and the JS backend decodes arguments and encodes results with it.
 */
import {
  Binary, Field, RecordBatch, Type, Utf8, Vector, makeData, makeVector, vectorFromArray, type DataType, type Schema, type Table,
} from 'apache-arrow';
import { fieldFor, isFixedShape, type ParamSpec, type PayloadType, type TensorType } from './payload.js';
import { batchFromColumns, batchFromSchema } from './batch.js';
import { batchToDataFrame, dataFrameToBatch, isDataFrame, type DataFrame } from './dataframe.js';
import { arrowType, typedArrayFor, type TypedArray } from './dtypes.js';
import { jsonColumn, readJsonColumn } from './json.js';
import {
  Tensor, describeValue, fixedShapeColumn, primitiveColumn, readFixedShapeColumn, readPrimitiveColumn,
  readVariableShapeColumn, variableShapeColumn,
} from './tensor.js';

/** How a table argument is handed to JS code. */
export type TableFormat = 'dataframe' | 'arrow';

/**
 * Reads one column as the JS value of its payload type (batch-first). A nullable input
 * (declared `{ nullable: true }`) is always a plain array, one entry per row, `null`
 * where the row is null: numbers (bigint for 64-bit integers) for a scalar, a Tensor per
 * row for a tensor, strings, Uint8Arrays.
 */
export function columnToValue(vector: Vector, type: Exclude<PayloadType, { kind: 'table' }>): unknown {
  if (type.kind !== 'json' && type.nullable) return nullableColumnToValue(vector, type);
  switch (type.kind) {
    case 'scalar': return readPrimitiveColumn(vector, type.dtype);
    case 'string': return vector.toArray() as string[];
    case 'bytes': return Array.from(vector.toArray() as ArrayLike<Uint8Array>);
    case 'json': return readJsonColumn(vector, '');
    case 'tensor': {
      if (type.shape.length === 0) return new Tensor(type.dtype, readPrimitiveColumn(vector, type.dtype), [vector.length]);
      if (vector.type.typeId === Type.FixedSizeList) {
        return readFixedShapeColumn(vector, resolveShape(type, vector));
      }
      // Variable-shape rows: one tensor per row; stacked when the rows agree.
      return stackIfUniform(readVariableShapeColumn(vector));
    }
  }
}

function nullableColumnToValue(vector: Vector, type: Exclude<PayloadType, { kind: 'table' | 'json' }>): unknown[] {
  const rows = vector.length;
  const orNull = (read: (i: number) => unknown) => Array.from({ length: rows }, (_, i) => (vector.isValid(i) ? read(i) : null));
  switch (type.kind) {
    case 'string':
    case 'bytes':
      return orNull((i) => vector.get(i));
    case 'scalar': {
      const values = readPrimitiveColumn(vector, type.dtype);
      return orNull((i) => values[i]);
    }
    case 'tensor': {
      if (type.shape.length === 0) {
        const values = readPrimitiveColumn(vector, type.dtype);
        return orNull((i) => values[i]);
      }
      if (vector.type.typeId === Type.FixedSizeList) {
        const tensor = readFixedShapeColumn(vector, resolveShape(type, vector));
        return orNull((i) => tensor.row(i));
      }
      // A null row's shape and offsets need not mean anything: read valid rows one by one.
      return orNull((i) => readVariableShapeColumn(vector.slice(i, i + 1))[0]);
    }
  }
}

/** The inner shape of a fixed-size-list column: declared dims, with one -1 solved from the list size. */
function resolveShape(type: TensorType, vector: Vector): number[] {
  if (isFixedShape(type)) return type.shape;
  const size = (vector.type as { listSize: number }).listSize;
  const known = type.shape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  return type.shape.map((d) => (d < 0 ? size / known : d));
}

function stackIfUniform(rows: Tensor[]): Tensor | Tensor[] {
  if (rows.length === 0) return rows;
  const shape = rows[0]!.shape;
  const uniform = rows.every((r) => r.shape.length === shape.length && r.shape.every((d, i) => d === shape[i]));
  if (!uniform) return rows;
  const Out = typedArrayFor(rows[0]!.dtype);
  const data = new Out(rows.length * rows[0]!.size);
  rows.forEach((r, i) => (data as Float64Array).set(r.data as Float64Array, i * r.size));
  return new Tensor(rows[0]!.dtype, data, [rows.length, ...shape]);
}

/**
 * Encodes a batch-first JS value as the column of an input or output. `declared` is the
 * parameter's field made beforehand (`fieldFor(spec.name, spec.type)`, e.g. a field of a
 * signature's schema): returned as it is when the column has that field, so a caller can
 * tell the batch fits a schema it already has.
 */
export function valueToColumn(
  value: unknown, spec: ParamSpec & { type: Exclude<PayloadType, { kind: 'table' }> }, declared?: Field,
): { field: Field; vector: Vector } {
  const type = spec.type;
  const field = declared ?? fieldFor(spec.name, type);
  // An Arrow vector is sent as it is (the receiving side conforms it); a tensor column
  // keeps the declared field's extension metadata when its storage type matches.
  if (value instanceof Vector) {
    const same = String(value.type) === String(field.type);
    return { field: same ? field : new Field(spec.name, value.type, value.nullCount > 0), vector: value };
  }
  const fail = (expected: string) =>
    new TypeError(`'${spec.name}' expects ${expected}, got ${describeValue(value)}`);
  const nullable = type.kind !== 'json' && type.nullable === true;
  // A missing value is sent as a null where the input allows it, and refused where it
  // does not: never the zero a typed array would silently hold in its place.
  if (Array.isArray(value) && type.kind !== 'json') {
    const row = firstNullRow(value);
    if (row >= 0 && !nullable) {
      throw new TypeError(`'${spec.name}' has a null at row ${row}, and the input is not nullable: give a value in every row`);
    }
    if (row >= 0 && (type.kind === 'scalar' || (type.kind === 'tensor' && type.shape.length === 0))) {
      const wide = type.dtype === 'int64' || type.dtype === 'uint64';
      const values = value.map((v) => (v === null || v === undefined ? null : wide ? BigInt(v as number) : v));
      return { field, vector: vectorFromArray(values as never, arrowType(type.dtype)) };
    }
  }
  switch (type.kind) {
    case 'scalar': {
      if (value instanceof Tensor) return { field, vector: primitiveColumn(type.dtype, Tensor.from(value, type.dtype).data) };
      if (ArrayBuffer.isView(value) || Array.isArray(value)) {
        return { field, vector: primitiveColumn(type.dtype, Tensor.from(value, type.dtype, [(value as ArrayLike<unknown>).length]).data) };
      }
      throw fail(`an array of ${type.dtype} values, one per example`);
    }
    case 'string':
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' || (nullable && v == null))) throw fail('an array of strings');
      return { field, vector: vectorFromArray(value.map((v) => v ?? null), new Utf8()) };
    case 'bytes':
      if (!Array.isArray(value) || !value.every((v) => v instanceof Uint8Array || (nullable && v == null))) throw fail('an array of Uint8Array');
      return { field, vector: vectorFromArray(value.map((v) => v ?? null), new Binary()) };
    case 'json':
      if (!Array.isArray(value)) throw fail('an array of JSON values');
      return { field, vector: jsonColumn(value) };
    case 'tensor': {
      if (Array.isArray(value) && firstNullRow(value) >= 0) {
        // Rows of a nullable tensor: a Tensor (or nested array) per row, null where missing.
        const rows = value.map((v, i) => {
          if (v === null || v === undefined) return null;
          if (Array.isArray(v) && firstNullRow(v) >= 0) throw new TypeError(`'${spec.name}' row ${i} holds a null value: a row is null as a whole or has every value`);
          return Tensor.from(v, type.dtype);
        });
        const vector = isFixedShape(type) ? nullableFixedShapeColumn(rows, type) : undefined;
        if (!vector) throw fail('rows of a fixed shape: a nullable tensor with a free dimension takes an Arrow vector');
        return { field, vector };
      }
      if (Array.isArray(value) && value.length > 0 && value.every((v) => v instanceof Tensor)) {
        if (isFixedShape(type)) return { field, vector: fixedShapeColumn(stackRows(value as Tensor[], spec.name)) };
        return { field, vector: variableShapeColumn((value as Tensor[]).map((t) => Tensor.from(t, type.dtype)), type.dtype, type.shape.length) };
      }
      const tensor = Tensor.from(value, type.dtype);
      checkShape(tensor, type, spec.name);
      if (type.shape.length === 0) return { field, vector: primitiveColumn(type.dtype, tensor.data) };
      if (isFixedShape(type)) return { field, vector: fixedShapeColumn(tensor) };
      const rows = Array.from({ length: tensor.shape[0]! }, (_, i) => tensor.row(i));
      return { field, vector: variableShapeColumn(rows, type.dtype, type.shape.length) };
    }
  }
}

/** The first row of an array that is, or holds at any depth, null or undefined; or -1. */
function firstNullRow(rows: unknown[]): number {
  for (let i = 0; i < rows.length; i++) if (holdsNull(rows[i])) return i;
  return -1;
}

function holdsNull(v: unknown): boolean {
  if (v === null || v === undefined) return true;
  if (!Array.isArray(v)) return false;
  for (const x of v) if (holdsNull(x)) return true;
  return false;
}

/** A fixed_shape_tensor column whose null rows are null (their values zero, under the validity bitmap). */
function nullableFixedShapeColumn(rows: (Tensor | null)[], type: TensorType): Vector {
  const size = type.shape.reduce((a, b) => a * b, 1);
  const Out = typedArrayFor(type.dtype);
  const data = new Out(rows.length * size);
  const validity = new Uint8Array(Math.ceil(rows.length / 8));
  rows.forEach((r, i) => {
    if (!r) return;
    if (r.size !== size) throw new TypeError(`row ${i} has ${r.size} values, expected ${size} (shape [${type.shape.join(', ')}])`);
    (data as Float64Array).set(r.data as Float64Array, i * size);
    validity[i >> 3]! |= 1 << (i & 7);
  });
  const dense = fixedShapeColumn(new Tensor(type.dtype, data, [rows.length, ...type.shape])).data[0]!;
  const nulls = rows.filter((r) => !r).length;
  return makeVector(makeData({ type: dense.type, length: rows.length, nullCount: nulls, nullBitmap: validity, child: dense.children[0]! }));
}

function stackRows(rows: Tensor[], name: string): Tensor {
  const stacked = stackIfUniform(rows);
  if (Array.isArray(stacked)) throw new TypeError(`'${name}' rows have different shapes`);
  return stacked;
}

function checkShape(tensor: Tensor, type: TensorType, name: string): void {
  const inner = tensor.shape.slice(1);
  const ok = inner.length === type.shape.length && type.shape.every((d, i) => d < 0 || d === inner[i]);
  if (!ok) {
    throw new TypeError(
      `'${name}' expects shape [batch, ${type.shape.join(', ')}], got [${tensor.shape.join(', ')}]`,
    );
  }
}

/** Reads every declared parameter of a batch as JS values. */
export function batchToValues(params: ParamSpec[], batch: RecordBatch, tableFormat: TableFormat = 'dataframe'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of params) {
    if (p.type.kind === 'table') out[p.name] = tableFormat === 'dataframe' ? batchToDataFrame(batch) : batch;
    else out[p.name] = columnToValue(batch.getChild(p.name)!, p.type);
  }
  return out;
}

/**
 * Encodes named values as a batch with one column per parameter (or, for a single
 * table parameter, the table's own columns). `metadata` goes on the schema. `schema`,
 * the params' schema made beforehand (a signature's output schema, one field per
 * parameter in order), is the batch's schema when every column came out as its declared
 * field: a runner answering many calls makes no Schema per call, and the schema object
 * stays the one caches downstream are keyed on.
 */
export function valuesToBatch(params: ParamSpec[], values: Record<string, unknown>, metadata?: Map<string, string>, schema?: Schema): RecordBatch {
  const table = params.find((p) => p.type.kind === 'table');
  if (table) return tableToBatch(values[table.name], table.name, metadata, (table.type as { columns?: Record<string, DataType> }).columns);
  const declared = !metadata && schema?.fields.length === params.length ? schema.fields : undefined;
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  let asDeclared = declared !== undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (!(p.name in values)) throw new TypeError(`missing value for '${p.name}'`);
    const { field, vector } = valueToColumn(values[p.name], p as ParamSpec & { type: Exclude<PayloadType, { kind: 'table' }> }, declared?.[i]);
    if (field !== declared?.[i]) asDeclared = false;
    fields.push(field);
    vectors.push(vector);
  }
  const rows = vectors[0]?.length ?? 0;
  return asDeclared ? batchFromSchema(schema!, vectors, rows) : batchFromColumns(fields, vectors, rows, metadata);
}

/** A DataFrame, Arrow Table or RecordBatch as one record batch. */
export function tableToBatch(
  value: unknown, name: string, metadata?: Map<string, string>, columns?: Record<string, DataType>,
): RecordBatch {
  let batch: RecordBatch;
  if (isDataFrame(value)) batch = dataFrameToBatch(value as DataFrame, columns);
  else if (value instanceof RecordBatch) batch = value;
  else if (value && typeof value === 'object' && 'batches' in value && 'schema' in value) {
    const t = value as Table;
    const fields = t.schema.fields;
    batch = batchFromColumns(fields, fields.map((f) => t.getChild(f.name)!), t.numRows);
  } else {
    throw new TypeError(`'${name}' expects a DataFrame, an Arrow Table or a RecordBatch, got ${describeValue(value)}`);
  }
  if (!metadata) return batch;
  return batchFromColumns(batch.schema.fields, batch.schema.fields.map((f) => batch.getChild(f.name)!), batch.numRows, metadata);
}

export { Tensor, type TypedArray };
