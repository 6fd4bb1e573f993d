/**
 * Call-level parameters: JSON in the input schema's custom metadata under
 * `flight-runner.params`, or `params` in a CMD descriptor. The schema's win where both
 * name the same key, as they are the more specific (per stream).
 */
import type { Schema } from 'apache-arrow';
import { FlightError } from '../flight/index.js';
import type { CallParams } from './runner.js';

/** The schema metadata key that carries call-level parameters. */
export const PARAMS_METADATA_KEY = 'flight-runner.params';

/** Parses the params of an input schema (empty if none). */
export function paramsFromSchema(schema: Schema): CallParams {
  const text = schema.metadata.get(PARAMS_METADATA_KEY);
  if (text === undefined || text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw FlightError.invalidArgument(`schema metadata '${PARAMS_METADATA_KEY}' is not valid JSON: ${JSON.stringify(text.slice(0, 60))}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw FlightError.invalidArgument(`schema metadata '${PARAMS_METADATA_KEY}' must be a JSON object`);
  }
  return value as CallParams;
}
