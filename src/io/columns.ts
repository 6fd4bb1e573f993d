/**
 * Row values (from JSON, JSON lines or CSV) to typed Arrow columns. A column's type is
 * inferred over the whole input, not per batch, so every batch of one call has the
 * same schema:
 * - numbers: int64 when every value is integral, float64 otherwise
 * - true/false: bool; text: utf8
 * - arrays of numbers (nested arrays flattened row-major): list<float64>
 * - objects, or values of mixed kinds: JSON text (utf8 marked `arrow.json`)
 * Missing values and nulls are nulls.
 */
import { Bool, Field, Float64, Int64, List, Utf8, makeVector, vectorFromArray, type DataType, type Vector } from 'apache-arrow';
import { EXTENSION_METADATA, EXTENSION_NAME, JSON_EXTENSION } from '../codecs/payload.js';

/** What one column holds. */
export type ColumnKind = 'null' | 'bool' | 'int' | 'float' | 'string' | 'list' | 'json';

const intText = /^[+-]?\d+$/;
const floatText = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$|^[+-]?(Infinity|NaN)$/;

/** The kind of one CSV field's text ('' is null). */
export function kindOfText(text: string): ColumnKind {
  if (text === '') return 'null';
  if (intText.test(text)) return 'int';
  if (floatText.test(text)) return 'float';
  if (text === 'true' || text === 'false') return 'bool';
  return 'string';
}

/** The kind of one JSON value. */
export function kindOfValue(value: unknown): ColumnKind {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'number': return Number.isInteger(value) ? 'int' : 'float';
    case 'bigint': return 'int';
    case 'boolean': return 'bool';
    case 'string': return 'string';
  }
  if (Array.isArray(value) && value.flat(Infinity).every((v) => typeof v === 'number' || typeof v === 'bigint')) return 'list';
  return 'json';
}

/**
 * The kind of a column holding values of kinds `a` and `b`. `fallback` is what
 * incompatible kinds become: 'string' for CSV (all fields are text), 'json' for JSON.
 */
export function mergeKinds(a: ColumnKind, b: ColumnKind, fallback: 'string' | 'json'): ColumnKind {
  if (a === b || b === 'null') return a;
  if (a === 'null') return b;
  if ((a === 'int' && b === 'float') || (a === 'float' && b === 'int')) return 'float';
  return fallback;
}

/** Infers column kinds over rows, one value at a time. */
export class KindInference {
  readonly kinds = new Map<string, ColumnKind>();

  constructor(private readonly fallback: 'string' | 'json') {}

  add(name: string, kind: ColumnKind): void {
    const seen = this.kinds.get(name);
    this.kinds.set(name, seen === undefined ? kind : mergeKinds(seen, kind, this.fallback));
  }
}

/** The Arrow field a column of `kind` becomes. */
export function fieldForKind(name: string, kind: ColumnKind): Field {
  if (kind === 'json') {
    return new Field(name, new Utf8(), true, new Map([[EXTENSION_NAME, JSON_EXTENSION], [EXTENSION_METADATA, '']]));
  }
  return new Field(name, arrowTypeOf(kind), true);
}

function arrowTypeOf(kind: ColumnKind): DataType {
  switch (kind) {
    case 'bool': return new Bool();
    case 'int': return new Int64();
    case 'float': return new Float64();
    case 'list': return new List(new Field('item', new Float64(), true));
    default: return new Utf8();
  }
}

/** A column of `kind` from values (JS values or CSV texts); null and undefined are nulls. */
export function buildColumn(kind: ColumnKind, values: unknown[]): Vector {
  const present = (v: unknown) => v !== null && v !== undefined && v !== '';
  // Numbers without gaps (the common case) go straight into a typed array.
  if ((kind === 'int' || kind === 'float') && values.every(present)) {
    if (kind === 'float') return makeVector(Float64Array.from(values, Number));
    return makeVector(BigInt64Array.from(values, toBigInt));
  }
  const map = (f: (v: unknown) => unknown) => values.map((v) => (present(v) ? f(v) : null));
  switch (kind) {
    case 'int': return vectorFromArray(map(toBigInt), new Int64());
    case 'float': return vectorFromArray(map(Number), new Float64());
    case 'bool': return vectorFromArray(map((v) => v === true || v === 'true'), new Bool());
    case 'list': return vectorFromArray(map((v) => (v as unknown[]).flat(Infinity).map(Number)), arrowTypeOf('list'));
    case 'json': return vectorFromArray(map((v) => JSON.stringify(v)), new Utf8());
    // A JSON null is a null; '' in a text column is an empty string, not a missing one.
    default: return vectorFromArray(values.map((v) => (v === null || v === undefined ? null : String(v))), new Utf8());
  }
}

/** An integral value (number, bigint or text) as a bigint; short texts go through Number, which is faster. */
function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v);
  const text = v as string;
  return text.length < 16 ? BigInt(Number(text)) : BigInt(text);
}
