/**
 * V2 REST tensors in JSON: `data` arrays read into elements (nested arrays flattened in
 * row-major order), and outputs written as JSON text with 64-bit integers exact (digits,
 * never rounded through a double) and non-finite floats as NaN / Infinity, which
 * Python's json module (tritonclient) reads.
 */
import { halfToFloat, type TypedArray } from '../codecs/dtypes.js';
import { FlightError } from '../flight/index.js';
import type { V2Output } from './tensors.js';

/** Nesting deeper than any tensor rank a signature declares: refused before recursing. */
const MAX_DEPTH = 64;

/** The elements of a JSON `data` value, flattened row-major (a lone value is one element). */
export function flattenData(data: unknown, where: string): unknown[] {
  if (!Array.isArray(data)) return [data];
  const out: unknown[] = [];
  const walk = (value: unknown[], depth: number) => {
    if (depth > MAX_DEPTH) throw FlightError.invalidArgument(`${where}: data nests deeper than ${MAX_DEPTH} levels`);
    for (const v of value) {
      if (Array.isArray(v)) walk(v, depth + 1);
      else out.push(v);
    }
  };
  walk(data, 1);
  return out;
}

const finite = (x: number) => (Number.isFinite(x) ? String(x) : Number.isNaN(x) ? 'NaN' : x > 0 ? 'Infinity' : '-Infinity');

/** A V2 output's elements as the JSON text of a flat array. */
export function jsonDataText(output: V2Output, where: string): string {
  const v = output.values;
  if (Array.isArray(v)) {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    return `[${v.map((bytes, i) => {
      try {
        return JSON.stringify(decoder.decode(bytes));
      } catch {
        throw FlightError.invalidArgument(`${where}: BYTES element ${i} is not UTF-8, so it cannot be a JSON string; ask for this output as binary data (parameters.binary_data: true)`);
      }
    }).join(',')}]`;
  }
  const values = v as TypedArray;
  const parts: string[] = new Array(values.length);
  if (output.datatype === 'BOOL') for (let i = 0; i < values.length; i++) parts[i] = values[i] ? 'true' : 'false';
  else if (output.datatype === 'FP16') for (let i = 0; i < values.length; i++) parts[i] = finite(halfToFloat(values[i] as number));
  else if (output.datatype === 'FP32' || output.datatype === 'FP64') for (let i = 0; i < values.length; i++) parts[i] = finite(values[i] as number);
  else for (let i = 0; i < values.length; i++) parts[i] = String(values[i]);
  return `[${parts.join(',')}]`;
}
