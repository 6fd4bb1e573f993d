/**
 * Checks of a runner entry that need the runner's methods: `scheduling.batching.methods`
 * may only name methods the runner has, and a JS entry's `name` must name a runner of the
 * module. Method names are known before any instance loads: an ONNX runner's from its
 * `options.methods` (default one method, `predict`, as loadOnnxRunner does), a JS
 * runner's from the module's definitions. A mistake is a ConfigError, so `serve` exits 2
 * before it listens.
 */
import { basename, extname } from 'node:path';
import { importRunnerDefinitions } from '../backends/js/index.js';
import { ConfigError, formatPath } from './config-error.js';
import type { RunnerConfig } from './schema.js';
import { suggestion } from './schema-helpers.js';

/** A runner an entry serves, with its method names. */
export interface RunnerMethods {
  runner: string;
  methods: string[];
}

/** The runners an entry serves and their methods, without loading a model or running setup. */
export async function runnerMethodsOf(entry: RunnerConfig): Promise<RunnerMethods[]> {
  if (entry.backend === 'onnx') {
    return [{ runner: entry.name ?? basename(entry.path, extname(entry.path)), methods: Object.keys(entry.options.methods ?? { predict: {} }) }];
  }
  const definitions = await importRunnerDefinitions(entry.path);
  const served = definitions.filter((d) => !entry.name || d.name === entry.name);
  if (!served.length) {
    throw new ConfigError(entry.source?.file, [{
      path: `${entry.source?.path ?? `runner ${entry.path}`}.name`,
      message: `${entry.path} exports no runner ${JSON.stringify(entry.name)}; ${suggestion(entry.name!, definitions.map((d) => d.name))}`,
    }]);
  }
  return served.map((d) => ({ runner: d.name, methods: Object.keys(d.methods) }));
}

/** Throws a ConfigError if a per-method batching override names no method of the entry's runners. */
export function checkMethodOverrides(entry: RunnerConfig, runners: RunnerMethods[]): void {
  const methods = [...new Set(runners.flatMap((r) => r.methods))];
  const names = runners.map((r) => `'${r.runner}'`).join(', ');
  const problems = Object.keys(entry.scheduling?.batching?.methods ?? {})
    .filter((m) => !methods.includes(m))
    .map((m) => ({
      path: `${entry.source?.path ?? `runner ${entry.path}`}.${formatPath(['scheduling', 'batching', 'methods', m])}`,
      message: `no method ${JSON.stringify(m)} in runner ${names}; ${suggestion(m, methods)}`,
    }));
  if (problems.length) throw new ConfigError(entry.source?.file, problems);
}
