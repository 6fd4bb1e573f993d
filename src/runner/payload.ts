/**
 * Payload types: what a runner method's inputs and outputs are, and the Arrow field
 * each one travels as (runner protocol, "Columns are arguments").
 */
import {
  Binary, Field, FixedSizeList, Int32, List, Struct, Type, Utf8, type DataType,
} from 'apache-arrow';
import { arrowType, dtypeOf, isDType, type DType } from '../codecs/dtypes.js';

/** A tensor per example: `shape` excludes the batch dimension; -1 marks a free dimension. */
export interface TensorType { kind: 'tensor'; dtype: DType; shape: number[] }
/** One number or bool per example. */
export interface ScalarType { kind: 'scalar'; dtype: DType }
/** One UTF-8 string per example. */
export interface StringType { kind: 'string' }
/** One byte string per example. */
export interface BytesType { kind: 'bytes' }
/** One JSON object per example (`arrow.json`, utf8 storage). */
export interface JsonType { kind: 'json' }
/** A whole record batch as a DataFrame: one row per example; `schema` lists required columns. */
export interface TableType { kind: 'table'; columns?: Record<string, DataType> }

/** Any payload type. */
export type PayloadType = TensorType | ScalarType | StringType | BytesType | JsonType | TableType;

/**
 * Builders for payload types.
 *
 * @example
 * const inputs = { features: types.tensor('float32', [4]), threshold: types.scalar('float64') };
 */
export const types = {
  tensor: (dtype: DType, shape: number[]): TensorType => ({ kind: 'tensor', dtype, shape }),
  scalar: (dtype: DType): ScalarType => ({ kind: 'scalar', dtype }),
  string: (): StringType => ({ kind: 'string' }),
  bytes: (): BytesType => ({ kind: 'bytes' }),
  json: (): JsonType => ({ kind: 'json' }),
  table: (columns?: Record<string, DataType>): TableType => (columns ? { kind: 'table', columns } : { kind: 'table' }),
};

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
  switch (type.kind) {
    case 'scalar': return new Field(name, arrowType(type.dtype), false);
    case 'string': return new Field(name, new Utf8(), false);
    case 'bytes': return new Field(name, new Binary(), false);
    case 'json': return new Field(name, new Utf8(), false, new Map([[EXTENSION_NAME, JSON_EXTENSION], [EXTENSION_METADATA, '']]));
    case 'tensor': {
      if (type.shape.length === 0) return new Field(name, arrowType(type.dtype), false);
      if (isFixedShape(type)) {
        const storage = new FixedSizeList(product(type.shape), new Field('item', arrowType(type.dtype), false));
        return new Field(name, storage, false, new Map([
          [EXTENSION_NAME, FIXED_SHAPE_TENSOR],
          [EXTENSION_METADATA, JSON.stringify({ shape: type.shape })],
        ]));
      }
      return new Field(name, variableShapeStorage(type.dtype, type.shape.length), false, new Map([
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
  switch (type.kind) {
    case 'tensor': return `tensor<${type.dtype}>[${type.shape.join(',')}]`;
    case 'scalar': return `scalar<${type.dtype}>`;
    case 'table': return type.columns ? `table{${Object.keys(type.columns).join(',')}}` : 'table';
    default: return type.kind;
  }
}

/** The JSON form used in signatures (FlightInfo app_metadata, model-metadata). */
export function payloadToJSON(type: PayloadType): Record<string, unknown> {
  switch (type.kind) {
    case 'tensor': return { kind: 'tensor', dtype: type.dtype, shape: type.shape };
    case 'scalar': return { kind: 'scalar', dtype: type.dtype };
    // Column types by dtype name where they have one (float64, int64, bool), else utf8 / the Arrow name.
    case 'table': return type.columns
      ? { kind: 'table', columns: Object.fromEntries(Object.entries(type.columns).map(([k, v]) => [k, dtypeOf(v) ?? typeName(v)])) }
      : { kind: 'table' };
    default: return { kind: type.kind };
  }
}

/** Parses the JSON form back (for clients reading signatures). Tables lose column types. */
export function payloadFromJSON(json: Record<string, unknown>): PayloadType {
  const kind = json['kind'];
  if (kind === 'tensor' && isDType(json['dtype']) && Array.isArray(json['shape'])) {
    return { kind, dtype: json['dtype'], shape: (json['shape'] as unknown[]).map(Number) };
  }
  if (kind === 'scalar' && isDType(json['dtype'])) return { kind, dtype: json['dtype'] };
  if (kind === 'string' || kind === 'bytes' || kind === 'json') return { kind };
  if (kind === 'table') {
    const columns = json['columns'] as Record<string, string> | undefined;
    if (!columns) return { kind: 'table' };
    const typed: Record<string, DataType> = {};
    for (const [name, t] of Object.entries(columns)) {
      const type = isDType(t) ? arrowType(t) : t === 'utf8' ? new Utf8() : t === 'binary' ? new Binary() : undefined;
      if (type) typed[name] = type;
    }
    return { kind: 'table', columns: typed };
  }
  throw new Error(`unknown payload type ${JSON.stringify(json)}`);
}
