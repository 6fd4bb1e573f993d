/**
 * Payload types: what a runner method's inputs and outputs are, and the Arrow field
 * each one travels as (runner protocol, "Columns are arguments").
 */
import {
  Binary, Field, FixedSizeList, Int32, List, Struct, Type, Utf8, type DataType,
} from 'apache-arrow';
import { arrowType, dtypeOf, isDType, type DType } from './dtypes.js';

/**
 * Whether a column may hold nulls (missing values). Off by default: a null sent for an
 * input that does not declare it is INVALID_ARGUMENT naming the column and the row, never
 * a silent zero. A nullable input reaches a JS runner with `null` where a value is missing.
 */
export interface Nullability { nullable?: boolean }
/** A tensor per example: `shape` excludes the batch dimension; -1 marks a free dimension. */
export interface TensorType extends Nullability { kind: 'tensor'; dtype: DType; shape: number[] }
/** One number or bool per example. */
export interface ScalarType extends Nullability { kind: 'scalar'; dtype: DType }
/** One UTF-8 string per example. */
export interface StringType extends Nullability { kind: 'string' }
/** One byte string per example. */
export interface BytesType extends Nullability { kind: 'bytes' }
/** One JSON object per example (`arrow.json`, utf8 storage). Always nullable: a null row is JSON `null`. */
export interface JsonType { kind: 'json' }
/**
 * A whole record batch as a DataFrame: one row per example; `columns` lists required
 * columns. `nullable`: `true` lets every declared column hold nulls, or a list names the
 * ones that may (they reach a DataFrame as NaN for numbers, null otherwise).
 */
export interface TableType { kind: 'table'; columns?: Record<string, DataType>; nullable?: boolean | string[] }

/** Options every payload builder takes. */
export interface PayloadOptions { nullable?: boolean }

const withNulls = (options?: PayloadOptions) => (options?.nullable ? { nullable: true } : {});

/** Any payload type. */
export type PayloadType = TensorType | ScalarType | StringType | BytesType | JsonType | TableType;

/** One named input or output of a runner method. */
export interface ParamSpec {
  name: string;
  type: PayloadType;
  doc?: string;
}

/**
 * Builders for payload types. Each takes `{ nullable: true }` to accept nulls (a table
 * takes `true` for all its declared columns, or the names of the ones that may be null).
 *
 * @example
 * const inputs = { features: types.tensor('float32', [4]), threshold: types.scalar('float64', { nullable: true }) };
 * const applicants = types.table({ income: new Float64(), debt: new Float64() }, { nullable: ['debt'] });
 */
export const types = {
  tensor: (dtype: DType, shape: number[], options?: PayloadOptions): TensorType => ({ kind: 'tensor', dtype, shape, ...withNulls(options) }),
  scalar: (dtype: DType, options?: PayloadOptions): ScalarType => ({ kind: 'scalar', dtype, ...withNulls(options) }),
  string: (options?: PayloadOptions): StringType => ({ kind: 'string', ...withNulls(options) }),
  bytes: (options?: PayloadOptions): BytesType => ({ kind: 'bytes', ...withNulls(options) }),
  json: (): JsonType => ({ kind: 'json' }),
  table: (columns?: Record<string, DataType>, options?: { nullable?: boolean | string[] }): TableType => {
    const nullable = options?.nullable;
    if (Array.isArray(nullable)) {
      const unknown = nullable.filter((n) => !columns || !(n in columns));
      if (unknown.length) throw new Error(`table nullable names ${unknown.map((n) => `'${n}'`).join(', ')}, which ${unknown.length > 1 ? 'are' : 'is'} not among its columns`);
    }
    return {
      kind: 'table',
      ...(columns ? { columns } : {}),
      ...(nullable === true || (Array.isArray(nullable) && nullable.length) ? { nullable: nullable === true ? true : [...nullable] } : {}),
    };
  },
};

/** True when a payload (for a table: its column `column`) may hold nulls. */
export function isNullable(type: PayloadType, column?: string): boolean {
  if (type.kind === 'json') return true;
  if (type.kind === 'table') return type.nullable === true || (Array.isArray(type.nullable) && column !== undefined && type.nullable.includes(column));
  return type.nullable === true;
}

export const EXTENSION_NAME = 'ARROW:extension:name';
export const EXTENSION_METADATA = 'ARROW:extension:metadata';
export const FIXED_SHAPE_TENSOR = 'arrow.fixed_shape_tensor';
export const VARIABLE_SHAPE_TENSOR = 'arrow.variable_shape_tensor';
export const JSON_EXTENSION = 'arrow.json';

/** True when every dimension of the per-example shape is known. */
export function isFixedShape(t: TensorType): boolean {
  return t.shape.every((d) => d >= 0);
}

function typeName(type: DataType): string {
  if (type.typeId === Type.Utf8 || type.typeId === Type.LargeUtf8) return 'utf8';
  if (type.typeId === Type.Binary || type.typeId === Type.LargeBinary) return 'binary';
  return String(type);
}

/** Product of dimensions. */
export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * The Arrow field an input or output travels as:
 * - tensor, known shape [d1..dk], k >= 1: `arrow.fixed_shape_tensor` over FixedSizeList<T>[d1*..*dk]
 * - tensor with a free dimension: `arrow.variable_shape_tensor` over Struct<data: List<T>, shape: FixedSizeList<int32>[k]>
 * - tensor of shape [] or scalar: the primitive column
 * - string: utf8; bytes: binary; json: utf8 marked `arrow.json`
 */
export function fieldFor(name: string, type: Exclude<PayloadType, TableType>): Field {
  // The field's nullable flag says what the signature allows (clients see it in schemas).
  const nullable = type.kind !== 'json' && isNullable(type);
  switch (type.kind) {
    case 'scalar': return new Field(name, arrowType(type.dtype), nullable);
    case 'string': return new Field(name, new Utf8(), nullable);
    case 'bytes': return new Field(name, new Binary(), nullable);
    case 'json': return new Field(name, new Utf8(), false, new Map([[EXTENSION_NAME, JSON_EXTENSION], [EXTENSION_METADATA, '']]));
    case 'tensor': {
      if (type.shape.length === 0) return new Field(name, arrowType(type.dtype), nullable);
      if (isFixedShape(type)) {
        const storage = new FixedSizeList(product(type.shape), new Field('item', arrowType(type.dtype), false));
        return new Field(name, storage, nullable, new Map([
          [EXTENSION_NAME, FIXED_SHAPE_TENSOR],
          [EXTENSION_METADATA, JSON.stringify({ shape: type.shape })],
        ]));
      }
      return new Field(name, variableShapeStorage(type.dtype, type.shape.length), nullable, new Map([
        [EXTENSION_NAME, VARIABLE_SHAPE_TENSOR],
        [EXTENSION_METADATA, JSON.stringify({ uniform_shape: type.shape.map((d) => (d < 0 ? null : d)) })],
      ]));
    }
  }
}

/** The storage type of `arrow.variable_shape_tensor` with `ndim` dimensions. */
export function variableShapeStorage(dtype: DType, ndim: number): DataType {
  return new Struct([
    new Field('data', new List(new Field('item', arrowType(dtype), false)), false),
    new Field('shape', new FixedSizeList(ndim, new Field('item', new Int32(), false)), false),
  ]);
}

/** A short human form for messages and tables: `tensor<float32>[4]`, `string`, `table`. */
export function describePayload(type: PayloadType): string {
  // A nullable payload reads with a trailing '?': scalar<float64>?, string?.
  const q = type.kind !== 'table' && type.kind !== 'json' && type.nullable ? '?' : '';
  switch (type.kind) {
    case 'tensor': return `tensor<${type.dtype}>[${type.shape.join(',')}]${q}`;
    case 'scalar': return `scalar<${type.dtype}>${q}`;
    case 'table': return type.columns ? `table{${Object.keys(type.columns).map((c) => `${c}${isNullable(type, c) ? '?' : ''}`).join(',')}}` : 'table';
    default: return `${type.kind}${q}`;
  }
}

/** The JSON form used in signatures (FlightInfo app_metadata, model-metadata). */
export function payloadToJSON(type: PayloadType): Record<string, unknown> {
  // "nullable" appears only when set, so signatures that do not use it read as before.
  const nulls = type.kind !== 'json' && type.nullable ? { nullable: type.nullable } : {};
  switch (type.kind) {
    case 'tensor': return { kind: 'tensor', dtype: type.dtype, shape: type.shape, ...nulls };
    case 'scalar': return { kind: 'scalar', dtype: type.dtype, ...nulls };
    // Column types by dtype name where they have one (float64, int64, bool), else utf8 / the Arrow name.
    case 'table': return type.columns
      ? { kind: 'table', columns: Object.fromEntries(Object.entries(type.columns).map(([k, v]) => [k, dtypeOf(v) ?? typeName(v)])), ...nulls }
      : { kind: 'table', ...nulls };
    default: return { kind: type.kind, ...nulls };
  }
}

/** Parses the JSON form back (for clients reading signatures). Tables lose column types. */
export function payloadFromJSON(json: Record<string, unknown>): PayloadType {
  const kind = json['kind'];
  const nulls = json['nullable'] === true ? { nullable: true } : {};
  if (kind === 'tensor' && isDType(json['dtype']) && Array.isArray(json['shape'])) {
    return { kind, dtype: json['dtype'], shape: (json['shape'] as unknown[]).map(Number), ...nulls };
  }
  if (kind === 'scalar' && isDType(json['dtype'])) return { kind, dtype: json['dtype'], ...nulls };
  if (kind === 'string' || kind === 'bytes') return { kind, ...nulls };
  if (kind === 'json') return { kind };
  if (kind === 'table') {
    const nullable = Array.isArray(json['nullable']) ? { nullable: (json['nullable'] as unknown[]).map(String) } : nulls;
    const columns = json['columns'] as Record<string, string> | undefined;
    if (!columns) return { kind: 'table', ...nullable };
    const typed: Record<string, DataType> = {};
    for (const [name, t] of Object.entries(columns)) {
      const type = isDType(t) ? arrowType(t) : t === 'utf8' ? new Utf8() : t === 'binary' ? new Binary() : undefined;
      if (type) typed[name] = type;
    }
    return { kind: 'table', columns: typed, ...nullable };
  }
  throw new Error(`unknown payload type ${JSON.stringify(json)}`);
}
