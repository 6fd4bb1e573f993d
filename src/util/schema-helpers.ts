/**
 * Building blocks of the config schema (schema.ts), so that every key is checked the same
 * way and every message reads the same: a mapping refuses keys it does not know (naming the
 * nearest valid one), numbers state their range, choices list themselves.
 */
import { z } from 'zod';

/** Edit distance (insertions, deletions, substitutions, adjacent swaps) between two words. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate closest to `word`, if it is close enough to be a likely typo (at most a
 * third of the word's letters differ, and at least 1 letter may); case is ignored.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) { best = candidate; bestDistance = distance; }
  }
  return bestDistance <= Math.max(1, Math.floor(word.length / 3)) ? best : undefined;
}

/** `did you mean "x"?` for a likely typo, else the valid choices. */
export function suggestion(word: string, known: readonly string[]): string {
  const close = nearest(word, known);
  if (close) return `did you mean ${JSON.stringify(close)}?`;
  return known.length ? `valid: ${known.map((k) => JSON.stringify(k)).join(', ')}` : 'nothing may be set here';
}

/** "unknown key; did you mean "x"?" or, with no close match, the keys that are valid there. */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  return `unknown key; ${suggestion(key, known)}`;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A mapping with exactly these keys (each optional or not as its schema says). A key it
 * does not know is an error at that key's path, naming the nearest valid key.
 *
 * @example
 * strictObject({ maxBatchRows: integer(1) }, 'batching settings')
 */
export function strictObject<T extends z.ZodRawShape>(
  shape: T,
  typeMessage = 'expected a mapping (key: value)',
  /** Further checks of the raw mapping; they run even when keys are wrong, so all problems are reported at once. */
  precheck?: (value: Record<string, unknown>, ctx: z.RefinementCtx) => void,
) {
  const known = Object.keys(shape);
  return z.preprocess((value, ctx) => {
    if (isMapping(value)) {
      for (const key of Object.keys(value)) {
        if (!known.includes(key)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: unknownKeyMessage(key, known), params: { unknownKey: true } });
      }
      precheck?.(value, ctx);
    }
    return value;
  }, z.object(shape, { invalid_type_error: typeMessage, required_error: 'required' }));
}

/** An integer in [min, max]. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`;
  return z.number({ invalid_type_error: `expected an integer ${range}`, required_error: 'required' })
    .int(`must be an integer ${range}`)
    .min(min, `must be an integer ${range}`)
    .max(max, `must be an integer ${range}`);
}

/** A finite number >= min. */
export function number(min: number) {
  return z.number({ invalid_type_error: `expected a number >= ${min}`, required_error: 'required' })
    .finite(`must be a finite number >= ${min}`)
    .min(min, `must be a number >= ${min}`);
}

/** A non-empty string. */
export function text() {
  return z.string({ invalid_type_error: 'expected a string', required_error: 'required' }).min(1, 'must not be empty');
}

/** true or false. */
export function bool() {
  return z.boolean({ invalid_type_error: 'expected true or false', required_error: 'required' });
}

/** One of fixed words. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T) {
  const message = `must be one of ${values.map((v) => JSON.stringify(v)).join(', ')}`;
  return z.enum(values as unknown as [T[number], ...T[number][]], { errorMap: () => ({ message }) });
}

/** A list of items. */
export function list<T extends z.ZodTypeAny>(item: T) {
  return z.array(item, { invalid_type_error: 'expected a list', required_error: 'required' });
}

/** A mapping from names to values of one schema (method names, tensor names). */
export function mapOf<T extends z.ZodTypeAny>(value: T) {
  return z.record(z.string(), value, { invalid_type_error: 'expected a mapping (name: value)' });
}
