/**
 * danfo.js DataFrames <-> Arrow record batches, for runners that take or return tables.
 * danfo holds JS numbers, strings and booleans; 64-bit integers become numbers on the
 * way in (danfo has no bigint) and integer columns come back as int64 when they fit.
 */
import { createRequire } from 'node:module';
import type * as Danfo from 'danfojs';
import {
  Bool, Float64, Int64, Field, Type, Utf8, vectorFromArray, type DataType, type RecordBatch, type Table, type Vector,
} from 'apache-arrow';
import { batchFromColumns } from './batch.js';

/** A danfo DataFrame. */
export type DataFrame = InstanceType<typeof Danfo.DataFrame>;

const requireModule = createRequire(import.meta.url);
let danfo: typeof Danfo | undefined;

/**
 * danfo.js, loaded on first use: it takes seconds to load, and a server whose runners
 * take no tables (or an isolated instance starting up) should not pay for it.
 */
function dfd(): typeof Danfo {
  if (danfo) return danfo;
  try {
    return (danfo = requireModule('danfojs') as typeof Danfo);
  } catch (err) {
    // danfojs is an optional peer dependency (it pulls in TensorFlow): say how to get it.
    if ((err as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new Error('DataFrames need danfo.js, an optional peer dependency of flight-runner: run "npm install danfojs" (or pass Arrow tables / record batches instead)', { cause: err });
  }
}

/** True if `v` is a danfo DataFrame. */
export function isDataFrame(v: unknown): v is DataFrame {
  // Only load danfo for a value that could be one of its DataFrames.
  if (typeof v !== 'object' || v === null || (v as object).constructor?.name !== 'DataFrame') return false;
  return v instanceof dfd().DataFrame;
}

/**
 * A DataFrame with one column per field of the batch. A null is NaN in a numeric
 * column and null in any other (danfo's own missing values); never the zero that sits
 * in the Arrow buffer under it.
 */
export function batchToDataFrame(batch: RecordBatch | Table): DataFrame {
  const columns: Record<string, unknown[]> = {};
  for (const field of batch.schema.fields) {
    const vector = batch.getChild(field.name)!;
    const toJs = (v: unknown) => (typeof v === 'bigint' ? Number(v) : v);
    if (vector.nullCount === 0) {
      columns[field.name] = Array.from(vector.toArray() as ArrayLike<unknown>, toJs);
    } else {
      const missing = field.type.typeId === Type.Int || field.type.typeId === Type.Float ? NaN : null;
      columns[field.name] = Array.from({ length: vector.length }, (_, i) => (vector.isValid(i) ? toJs(vector.get(i)) : missing));
    }
  }
  return new (dfd().DataFrame)(columns);
}

/**
 * A record batch with one column per DataFrame column. Columns a method declares get the
 * declared type (danfo holds plain JS numbers, so an integral float column must not turn
 * into int64); the others are typed from their danfo dtype.
 */
export function dataFrameToBatch(df: DataFrame, declared: Record<string, DataType> = {}): RecordBatch {
  const fields: Field[] = [];
  const children: Vector[] = [];
  const length = df.shape[0];
  for (const [i, name] of df.columns.entries()) {
    const values = df.column(name).values as unknown[];
    const vector = declared[name] ? columnOfType(values, declared[name]!) : columnFromDanfo(values, df.dtypes[i] as string);
    fields.push(new Field(name, vector.type, vector.nullCount > 0));
    children.push(vector);
  }
  return batchFromColumns(fields, children, length);
}

function columnOfType(values: unknown[], type: DataType): Vector {
  const isMissing = (v: unknown) => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
  const wide = type.typeId === Type.Int && (type as unknown as { bitWidth: number }).bitWidth === 64;
  return vectorFromArray(values.map((v) => (isMissing(v) ? null : wide ? BigInt(Math.trunc(Number(v))) : v)) as never, type);
}

function columnFromDanfo(values: unknown[], dtype: string): Vector {
  switch (dtype) {
    case 'int32':
      return vectorFromArray(values.map((v) => (v === null || v === undefined || Number.isNaN(v) ? null : BigInt(v as number))), new Int64());
    case 'float32':
      return vectorFromArray(values.map((v) => (v === null || v === undefined ? null : Number(v))), new Float64());
    case 'boolean':
      return vectorFromArray(values.map((v) => (v === null || v === undefined ? null : Boolean(v))), new Bool());
    default:
      return vectorFromArray(values.map((v) => (v === null || v === undefined ? null : String(v))), new Utf8());
  }
}

/** True if an Arrow type is one a DataFrame column holds without loss. */
export function isDataFrameFriendly(typeId: Type): boolean {
  return [Type.Int, Type.Float, Type.Bool, Type.Utf8, Type.LargeUtf8].includes(typeId);
}
