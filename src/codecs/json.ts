/**
 * JSON objects as Arrow: the canonical `arrow.json` extension (utf8 storage, one JSON
 * document per row). A struct column is read as objects too, for clients that send one.
 */
import { Type, Utf8, vectorFromArray, type StructRow, type Vector } from 'apache-arrow';

/** A utf8 column of JSON documents. */
export function jsonColumn(values: readonly unknown[]): Vector {
  return vectorFromArray(values.map((v) => JSON.stringify(v ?? null)), new Utf8());
}

/** Reads a utf8 (JSON text) or struct column as JS values; `column` names it in errors. */
export function readJsonColumn(vector: Vector, column: string): unknown[] {
  if (vector.type.typeId === Type.Struct) {
    return vector.toArray().map((row: StructRow | null) => (row ? row.toJSON() : null));
  }
  return (vector.toArray() as (string | null)[]).map((text, i) => {
    if (text === null) return null;
    try {
      return JSON.parse(text);
    } catch {
      throw new SyntaxError(`column '${column}' row ${i} is not valid JSON: ${JSON.stringify(text.slice(0, 40))}`);
    }
  });
}
