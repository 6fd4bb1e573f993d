/**
 * Row objects and column objects (plain JS data) as record batches, for `run()` and
 * `stream()` of a table method, or as named arguments for any other method.
 *
 * - an array of row objects: `[{ income: 52000, debt: 4000, age: 34 }, ...]`
 * - a column object: `{ income: [52000, 18000], debt: [4000, 15000], age: [34, 58] }`
 *
 * A column the method declares gets the declared type; any other column is typed from
 * its JS values (numbers float64, bigints int64, booleans bool, strings utf8). `null`
 * and missing values are nulls, for the server to accept or refuse; a value that does
 * not fit (a fraction for an int64 column, text for a number) is an error naming the
 * column and the row, never a silent change.
 */
import {
  Bool, Field, Float64, Int64, Type, Utf8, makeVector, vectorFromArray, type DataType, type RecordBatch, type Vector,
} from 'apache-arrow';
import { batchFromColumns } from '../codecs/batch.js';
import { describeValue } from '../codecs/tensor.js';

/** A plain object (not a class instance, array, typed array or Arrow value). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
}

/** True for a non-empty array whose every element is a plain object. */
export function isRowArray(v: unknown): v is Record<string, unknown>[] {
  return Array.isArray(v) && v.length > 0 && v.every(isPlainObject);
}

/** True for a plain object whose every value is an array or typed array of one length. */
export function isColumnObject(v: unknown): v is Record<string, ArrayLike<unknown>> {
  if (!isPlainObject(v)) return false;
  const columns = Object.values(v);
  if (!columns.length || !columns.every((c) => Array.isArray(c) || (ArrayBuffer.isView(c) && !(c instanceof DataView)))) return false;
  const length = (columns[0] as ArrayLike<unknown>).length;
  return columns.every((c) => (c as ArrayLike<unknown>).length === length);
}

/** Row objects to column arrays, with column names in the order they first appear. */
export function rowsToColumns(rows: Record<string, unknown>[]): Record<string, unknown[]> {
  const columns: Record<string, unknown[]> = {};
  rows.forEach((row, i) => {
    for (const name of Object.keys(row)) columns[name] ??= new Array<unknown>(rows.length).fill(null);
    for (const [name, value] of Object.entries(row)) columns[name]![i] = value;
  });
  return columns;
}

/** A record batch of a column object; `declared` types the columns a table input names. */
export function columnsToBatch(columns: Record<string, ArrayLike<unknown>>, declared: Record<string, DataType> = {}): RecordBatch {
  const fields: Field[] = [];
  const vectors: Vector[] = [];
  for (const [name, values] of Object.entries(columns)) {
    if (!declared[name] && isNumericTypedArray(values)) {
      // A typed array is its own column (no copy): a Float64Array is float64, a BigInt64Array int64.
      const vector = makeVector(values);
      fields.push(new Field(name, vector.type, false));
      vectors.push(vector);
      continue;
    }
    const list = Array.from(values, (v) => (v === undefined ? null : v));
    const vector = declared[name] ? declaredColumn(name, list, declared[name]!) : inferredColumn(name, list);
    fields.push(new Field(name, vector.type, vector.nullCount > 0));
    vectors.push(vector);
  }
  return batchFromColumns(fields, vectors, vectors[0]?.length ?? 0);
}

function declaredColumn(name: string, values: unknown[], type: DataType): Vector {
  const bad = (row: number, what: string) =>
    new TypeError(`column '${name}' row ${row}: ${describeValue(values[row])} (${JSON.stringify(values[row], (_, v) => (typeof v === 'bigint' ? String(v) : v))}) is not ${what}`);
  switch (type.typeId) {
    case Type.Int: {
      const wide = (type as unknown as { bitWidth: number }).bitWidth === 64;
      const ints = values.map((v, i) => {
        if (v === null) return null;
        if (typeof v === 'bigint') return wide ? v : Number(v);
        if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(i, `an integer (column type ${type})`);
        return wide ? BigInt(v) : v;
      });
      return vectorFromArray(ints as never, type);
    }
    case Type.Float:
      values.forEach((v, i) => {
        if (v !== null && typeof v !== 'number') throw bad(i, `a number (column type ${type})`);
      });
      return vectorFromArray(values as never, type);
    case Type.Bool:
      values.forEach((v, i) => {
        if (v !== null && typeof v !== 'boolean') throw bad(i, 'a boolean');
      });
      return vectorFromArray(values as never, type);
    case Type.Utf8:
    case Type.LargeUtf8:
      values.forEach((v, i) => {
        if (v !== null && typeof v !== 'string') throw bad(i, 'a string');
      });
      return vectorFromArray(values as never, type);
    default:
      return vectorFromArray(values as never, type);
  }
}

function inferredColumn(name: string, values: unknown[]): Vector {
  const kinds = new Set(values.filter((v) => v !== null).map((v) => typeof v));
  if (kinds.size === 0) return vectorFromArray(values as never, new Utf8());
  if (kinds.size === 1) {
    switch ([...kinds][0]) {
      case 'number': return vectorFromArray(values as never, new Float64());
      case 'bigint': return vectorFromArray(values as never, new Int64());
      case 'boolean': return vectorFromArray(values as never, new Bool());
      case 'string': return vectorFromArray(values as never, new Utf8());
    }
  }
  throw new TypeError(`column '${name}' holds ${[...kinds].join(' and ')} values; a column takes numbers, bigints, booleans or strings, one kind per column`);
}

function isNumericTypedArray(v: ArrayLike<unknown>): v is Float64Array | Float32Array | Int32Array | BigInt64Array {
  return v instanceof Float64Array || v instanceof Float32Array || v instanceof Int32Array || v instanceof BigInt64Array
    || v instanceof Int8Array || v instanceof Int16Array || v instanceof Uint8Array || v instanceof Uint16Array
    || v instanceof Uint32Array || v instanceof BigUint64Array;
}
