/**
 * A config that cannot be served: one line per problem, each naming the file, the path
 * of the key in it and what is wrong, e.g.
 * `serve.yaml: runners[0].scheduling.batchng: unknown key; did you mean "batching"?`.
 * The CLI prints the message alone (no stack) and exits with status 2.
 */
import type { ZodError } from 'zod';

/** One problem: where (a key path such as `runners[0].scheduling`, or a flag) and what. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** An invalid config (or credential flag): the CLI exits 2 with its message. */
export class ConfigError extends Error {
  constructor(readonly file: string | undefined, readonly problems: ConfigProblem[]) {
    super(problems.map((p) => [file, p.path, p.message].filter(Boolean).join(': ')).join('\n'));
    this.name = 'ConfigError';
  }
}

/** `runners[0].scheduling.batching`; keys that are not plain words are quoted: `methods["my method"]`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_$][\w$-]*$/.test(key)) out += out ? `.${key}` : key;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/**
 * Turns a schema failure into a ConfigError. Each message gets the offending value
 * (`(got 0)`), except for unknown keys (the key is the value) and anything under
 * `server.auth`, whose values are secrets.
 */
export function configErrorFromZod(file: string | undefined, error: ZodError, raw: unknown): ConfigError {
  const seen = new Set<string>();
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    const path = formatPath(issue.path);
    const unknownKey = issue.code === 'custom' && (issue.params as { unknownKey?: boolean } | undefined)?.unknownKey;
    const secret = issue.path[0] === 'server' && issue.path[1] === 'auth';
    const value = valueAt(raw, issue.path);
    const got = !unknownKey && !secret && value !== undefined && !issue.message.includes(shortJson(value)) ? ` (got ${shortJson(value)})` : '';
    const line = `${path}: ${issue.message}${got}`;
    if (seen.has(line)) continue;
    seen.add(line);
    problems.push({ path, message: `${issue.message}${got}` });
  }
  return new ConfigError(file, problems);
}
