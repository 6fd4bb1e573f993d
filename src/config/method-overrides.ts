/**
 * Checks of a runner entry that need the runner's methods: `scheduling.batching.methods`
 * may only name methods the runner has, and whatever only the backend can check (a JS
 * entry's `name` must name a runner of the module). Method names are known before any
 * instance loads: the backend lists them (backends/backend.ts). A mistake is a
 * ConfigError, so `serve` exits 2 before it listens.
 */
import { EntryError, type RunnerListing } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import { suggestion } from '../util/schema-helpers.js';
import { ConfigError, formatPath } from './config-error.js';
import { backendEntryOf, type RunnerConfig } from './serve-config.js';

/** Where a key of an entry is, for messages: `runners[2].name`, or `runner <path>.name` for a command-line target. */
function keyPath(entry: RunnerConfig, key: string): string {
  return `${entry.source?.path ?? `runner ${entry.path}`}.${key}`;
}

/**
 * The runners an entry serves and their methods, as its backend lists them, without
 * loading a model or running setup. A mistake the backend finds is a ConfigError at its key.
 */
export async function runnerMethodsOf(entry: RunnerConfig): Promise<RunnerListing[]> {
  try {
    return await backendNamed(entry.backend).list(backendEntryOf(entry));
  } catch (err) {
    if (err instanceof EntryError) throw new ConfigError(entry.source?.file, [{ path: keyPath(entry, err.key), message: err.message }]);
    throw err;
  }
}

/** Throws a ConfigError if a per-method batching override names no method of the entry's runners. */
export function checkMethodOverrides(entry: RunnerConfig, runners: RunnerListing[]): void {
  const methods = [...new Set(runners.flatMap((r) => r.methods))];
  const names = runners.map((r) => `'${r.name}'`).join(', ');
  const problems = Object.keys(entry.scheduling?.batching?.methods ?? {})
    .filter((m) => !methods.includes(m))
    .map((m) => ({
      path: keyPath(entry, formatPath(['scheduling', 'batching', 'methods', m])),
      message: `no method ${JSON.stringify(m)} in runner ${names}; ${suggestion(m, methods)}`,
    }));
  if (problems.length) throw new ConfigError(entry.source?.file, problems);
}
