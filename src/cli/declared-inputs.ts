/**
 * Turns the columns of an input file into a method's declared inputs. The rule, per
 * declared input `x`:
 * - scalar (or tensor of shape []): a numeric or bool column `x`, cast to the dtype
 * - tensor of per-example shape S: a list column `x` (a JSON array per row, nested
 *   arrays flattened row-major; an Arrow or Parquet list; text holding a JSON array),
 *   or, when there is no column `x`, the numeric columns `x_0 .. x_{N-1}` (N = product of S) in row-major order
 * - string: a column `x` (any value is turned to text); bytes: binary, or text as UTF-8
 * - json: a column `x`; a JSON value per row, or text parsed as JSON
 * - table: the whole row (every column); declared columns are cast to their types
 * Other columns are ignored for non-table inputs. A missing input is INVALID_ARGUMENT.
 */
import { Field, Type, vectorFromArray, Binary, type FixedSizeList, type RecordBatch, type Schema, type Vector } from 'apache-arrow';
import { batchFromColumns } from '../codecs/batch.js';
import { valueToColumn } from '../codecs/columns.js';
import { canWiden, dtypeOf, typedArrayFor, type DType } from '../codecs/dtypes.js';
import { Tensor } from '../codecs/tensor.js';
import { FlightError } from '../flight/index.js';
import { EXTENSION_NAME, JSON_EXTENSION, fieldFor, isFixedShape, product, type PayloadType } from '../codecs/payload.js';
import { tableInput, type MethodSignature, type ParamSpec } from '../runner/signature.js';

/** Converts one source batch to an input batch. */
export type InputConverter = (batch: RecordBatch) => RecordBatch;

type Column = { field: Field; vector: Vector };
type ColumnConverter = (batch: RecordBatch) => Column;
type ValueSpec = ParamSpec & { type: Exclude<PayloadType, { kind: 'table' }> };

/**
 * Plans the conversion of batches with schema `source` to the inputs of `sig`.
 * `tableSchema` is the method's input schema from the server: it gives a table input's
 * column types, which the signature does not carry.
 */
export function planInputs(sig: MethodSignature, source: Schema, tableSchema?: Schema): InputConverter {
  const table = tableInput(sig);
  if (table) return planTable(source, tableSchema);
  const columns = sig.inputs.map((p) => planInput(p as ValueSpec, source));
  return (batch) => {
    const built = columns.map((convert) => convert(batch));
    return batchFromColumns(built.map((c) => c.field), built.map((c) => c.vector), batch.numRows);
  };
}

function missing(message: string): FlightError {
  return FlightError.invalidArgument(message);
}

function planInput(spec: ValueSpec, source: Schema): ColumnConverter {
  const names = source.fields.map((f) => f.name);
  const has = (name: string) => names.includes(name);
  const type = spec.type;
  const listed = `the input has ${names.map((n) => `'${n}'`).join(', ') || 'no columns'}`;
  if (type.kind === 'tensor' && type.shape.length > 0 && !has(spec.name)) {
    if (!isFixedShape(type)) throw missing(`no column '${spec.name}' for input '${spec.name}' (${describe(type)}); ${listed}`);
    const n = product(type.shape);
    const parts = Array.from({ length: n }, (_, j) => `${spec.name}_${j}`);
    const absent = parts.filter((p) => !has(p));
    if (absent.length) {
      throw missing(`no column '${spec.name}' nor columns ${parts[0]}..${parts[n - 1]} for input '${spec.name}' (${describe(type)}); ${listed}`);
    }
    return (batch) => {
      const rows = batch.numRows;
      const data = new (typedArrayFor(type.dtype))(rows * n);
      parts.forEach((p, j) => {
        const values = numbers(batch.getChild(p)!, p);
        for (let i = 0; i < rows; i++) setValue(data, type.dtype, i * n + j, values[i]);
      });
      return valueToColumn(new Tensor(type.dtype, data, [rows, ...type.shape]), spec);
    };
  }
  if (!has(spec.name)) throw missing(`no column '${spec.name}' for input '${spec.name}' (${describe(type)}); ${listed}`);
  return (batch) => convertColumn(spec, source.fields.find((f) => f.name === spec.name)!, batch.getChild(spec.name)!);
}

const describe = (type: PayloadType) => (type.kind === 'tensor' ? `tensor<${type.dtype}>[${type.shape.join(',')}]` : type.kind);

/** Values of a numeric column as numbers or bigints; nulls are refused. */
function numbers(vector: Vector, name: string): ArrayLike<unknown> {
  if (vector.nullCount > 0) throw FlightError.invalidArgument(`column '${name}' has ${vector.nullCount} missing value(s)`);
  if (dtypeOf(vector.type) === undefined) throw FlightError.invalidArgument(`column '${name}' is ${String(vector.type)}, not numbers`);
  return vector.toArray() as ArrayLike<unknown>;
}

function setValue(data: ArrayLike<unknown>, dtype: DType, i: number, value: unknown): void {
  (data as unknown[])[i] = dtype === 'int64' || dtype === 'uint64' ? BigInt(value as number) : Number(value);
}

function convertColumn(spec: ValueSpec, field: Field, vector: Vector): Column {
  const type = spec.type;
  switch (type.kind) {
    case 'scalar':
    case 'tensor': {
      if (type.kind === 'scalar' || type.shape.length === 0) {
        // Already the declared type (or a widening the server applies): sent as is.
        const got = dtypeOf(vector.type);
        if (got && canWiden(got, type.dtype) && vector.nullCount === 0) return { field: new Field(spec.name, vector.type, false), vector };
        const values = numbers(vector, spec.name);
        return valueToColumn(Tensor.from(Array.from(values, (v) => (typeof v === 'bigint' ? Number(v) : v)), type.dtype, [values.length]), spec);
      }
      if (vector.type.typeId === Type.FixedSizeList && isFixedShape(type)
        && (vector.type as FixedSizeList).listSize === product(type.shape) && vector.nullCount === 0) {
        const got = dtypeOf(vector.type.children[0]!.type);
        if (got && canWiden(got, type.dtype)) return { field, vector };
      }
      if (vector.type.typeId === Type.Struct) return { field, vector }; // variable_shape_tensor: the server checks it
      return valueToColumn(tensorRows(spec, vector), spec);
    }
    case 'string':
      if (vector.type.typeId === Type.Utf8 && vector.nullCount === 0) return { field: fieldFor(spec.name, type), vector };
      return valueToColumn(Array.from(vector, (v) => text(v, spec.name)), spec);
    case 'bytes':
      if (vector.type.typeId === Type.Binary && vector.nullCount === 0) return { field: fieldFor(spec.name, type), vector };
      return { field: fieldFor(spec.name, type), vector: vectorFromArray(Array.from(vector, (v) => new TextEncoder().encode(text(v, spec.name))), new Binary()) };
    case 'json': {
      if (vector.type.typeId === Type.Struct) return { field, vector };
      // A JSON-inferred column already holds JSON text; any other text is parsed as JSON.
      const isJson = field.metadata.get(EXTENSION_NAME) === JSON_EXTENSION;
      if (isJson || vector.type.typeId === Type.Utf8) {
        const values = Array.from(vector as Iterable<string | null>, (v) => (v === null ? null : parseJson(v, spec.name)));
        return valueToColumn(values, spec);
      }
      return valueToColumn(Array.from(vector, (v) => (typeof v === 'bigint' ? Number(v) : v)), spec);
    }
  }
}

function text(v: unknown, name: string): string {
  if (v === null || v === undefined) throw FlightError.invalidArgument(`column '${name}' has a missing value`);
  return String(v);
}

function parseJson(v: string, name: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    throw FlightError.invalidArgument(`column '${name}' holds text that is not JSON: ${JSON.stringify(v.slice(0, 40))}`);
  }
}

/** A tensor per example from a list column: stacked when the shape is fixed, one per row otherwise. */
function tensorRows(spec: ValueSpec, vector: Vector): Tensor | Tensor[] {
  const type = spec.type as Extract<PayloadType, { kind: 'tensor' }>;
  const isList = vector.type.typeId === Type.List || vector.type.typeId === Type.FixedSizeList;
  // Text holding a JSON array per row (a JSON column of mixed values, a CSV cell "[1, 2]") works too.
  if (!isList && vector.type.typeId !== Type.Utf8) {
    throw FlightError.invalidArgument(`column '${spec.name}' is ${String(vector.type)}; input '${spec.name}' (${describe(type)}) needs a list of numbers per row`);
  }
  const rows: unknown[][] = [];
  for (let i = 0; i < vector.length; i++) {
    const row = vector.get(i) as Vector | string | null;
    if (row === null) throw FlightError.invalidArgument(`column '${spec.name}' row ${i} is missing`);
    const values = typeof row === 'string' ? [parseJson(row, spec.name)].flat(Infinity) : Array.from(row as Iterable<unknown>);
    rows.push(values.map((v) => (typeof v === 'bigint' ? Number(v) : v)));
  }
  if (isFixedShape(type)) {
    const n = product(type.shape);
    rows.forEach((r, i) => {
      if (r.length !== n) throw FlightError.invalidArgument(`column '${spec.name}' row ${i} has ${r.length} values; shape [${type.shape.join(',')}] needs ${n}`);
    });
    return Tensor.from(rows.flat(), type.dtype, [rows.length, ...type.shape]);
  }
  if (type.shape.length !== 1) {
    throw FlightError.invalidArgument(`input '${spec.name}' has a free dimension in a shape of rank ${type.shape.length}; send it as an Arrow arrow.variable_shape_tensor column`);
  }
  return rows.map((r) => Tensor.from(r, type.dtype, [r.length]));
}

/**
 * A table input takes every column; declared columns are cast to their declared types
 * (a CSV column of whole numbers read as int64 becomes float64 where float64 is declared).
 */
function planTable(source: Schema, tableSchema?: Schema): InputConverter {
  const declared = tableSchema?.fields ?? [];
  for (const f of declared) {
    if (!source.fields.some((s) => s.name === f.name)) {
      throw missing(`no column '${f.name}' for the table input, which needs ${declared.map((d) => `'${d.name}'`).join(', ')}; the input has ${source.fields.map((s) => `'${s.name}'`).join(', ') || 'no columns'}`);
    }
  }
  const declaredNames = new Set(declared.map((f) => f.name));
  return (batch) => {
    const fields: Field[] = [];
    const vectors: Vector[] = [];
    for (const want of declared) {
      const vector = batch.getChild(want.name)!;
      const [field, cast] = castColumn(want, vector);
      fields.push(field);
      vectors.push(cast);
    }
    for (const f of batch.schema.fields) {
      if (declaredNames.has(f.name)) continue;
      fields.push(f);
      vectors.push(batch.getChild(f.name)!);
    }
    return batchFromColumns(fields, vectors, batch.numRows);
  };
}

function castColumn(want: Field, vector: Vector): [Field, Vector] {
  const to = dtypeOf(want.type);
  const from = dtypeOf(vector.type);
  if (!to || !from || to === from) return [new Field(want.name, vector.type, vector.nullCount > 0), vector];
  const values = Array.from(vector as Iterable<unknown>, (v) => {
    if (v === null || v === undefined) return null;
    if (to === 'bool') return Boolean(v);
    if (!to.startsWith('float') && !Number.isInteger(Number(v))) {
      throw FlightError.invalidArgument(`column '${want.name}' holds ${String(v)}, not a whole number as ${to} needs`);
    }
    return to === 'int64' || to === 'uint64' ? BigInt(v as number) : Number(v);
  });
  return [new Field(want.name, want.type, vector.nullCount > 0), vectorFromArray(values, want.type)];
}
