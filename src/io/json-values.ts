/**
 * Arrow columns as plain JSON values, for the JSON, JSON lines and CSV writers:
 * tensors (`arrow.fixed_shape_tensor`, `arrow.variable_shape_tensor`) as nested arrays
 * of their shape, `arrow.json` text parsed, 64-bit integers as numbers (as strings past
 * 2^53), bytes as base64, lists as arrays, structs as objects.
 */
import { Type, type Field, type Vector } from 'apache-arrow';
import { EXTENSION_METADATA, EXTENSION_NAME, FIXED_SHAPE_TENSOR, JSON_EXTENSION, VARIABLE_SHAPE_TENSOR } from '../codecs/payload.js';

/** A plain JSON value from anything `Vector.get` returns. */
export function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, plain);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object' && value !== null && 'toArray' in value && typeof value.toArray === 'function' && 'length' in value) {
    return Array.from(value as unknown as Iterable<unknown>, plain);
  }
  if (typeof value === 'object' && value !== null && 'toJSON' in value && typeof value.toJSON === 'function') {
    const json = value.toJSON() as Record<string, unknown>;
    return Object.fromEntries(Object.entries(json).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/** Nests a flat row-major array into `shape`. */
export function reshape(flat: unknown[], shape: readonly number[]): unknown {
  if (shape.length <= 1) return shape.length === 0 ? flat[0] : flat;
  const stride = flat.length / shape[0]!;
  return Array.from({ length: shape[0]! }, (_, i) => reshape(flat.slice(i * stride, (i + 1) * stride), shape.slice(1)));
}

/** A function giving row i of a column as a plain JSON value. */
export function jsonReader(field: Field, vector: Vector): (i: number) => unknown {
  const extension = field.metadata.get(EXTENSION_NAME);
  if (extension === JSON_EXTENSION && vector.type.typeId === Type.Utf8) {
    return (i) => {
      const text = vector.get(i) as string | null;
      return text === null ? null : JSON.parse(text);
    };
  }
  if (extension === FIXED_SHAPE_TENSOR) {
    const shape = (JSON.parse(field.metadata.get(EXTENSION_METADATA) ?? '{}') as { shape?: number[] }).shape ?? [];
    return (i) => {
      const row = plain(vector.get(i));
      return Array.isArray(row) ? reshape(row, shape) : row;
    };
  }
  if (extension === VARIABLE_SHAPE_TENSOR) {
    return (i) => {
      const row = plain(vector.get(i)) as { data: unknown[]; shape: number[] } | null;
      return row ? reshape(row.data, row.shape) : null;
    };
  }
  return (i) => plain(vector.get(i));
}
