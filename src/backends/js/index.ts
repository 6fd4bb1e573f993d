/**
 * The `js` backend: runners written in TypeScript or JavaScript, loaded from a module
 * whose exports (default or named) are runner definitions.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { defineBackend, EntryError, type BackendEntry } from '../backend.js';
import { strictObject, suggestion } from '../../util/schema-helpers.js';
import { isRunnerDefinition, type JsRunnerDefinition } from './define.js';
import { loadJsRunner } from './js-runner.js';
import { enableTypeScript, isTypeScriptPath } from './typescript-loader.js';

export { defineRunner, defineRunnerFromClass, defineFunction, isRunnerDefinition, type JsMethod, type JsRunnerDefinition } from './define.js';
export { loadJsRunner } from './js-runner.js';

/** Every runner definition a module exports (default export may be one or an array). */
export async function importRunnerDefinitions(path: string): Promise<JsRunnerDefinition[]> {
  if (isTypeScriptPath(path)) await enableTypeScript(path);
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const found: JsRunnerDefinition[] = [];
  // A CommonJS module (a .ts runner in a "type": "commonjs" project) arrives as
  // { default: module.exports }, its `export default` as module.exports.default.
  const cjsExports = mod['default'] !== null && typeof mod['default'] === 'object' && !isRunnerDefinition(mod['default'])
    ? Object.values(mod['default'] as Record<string, unknown>) : [];
  for (const value of [...Object.values(mod), ...cjsExports]) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (isRunnerDefinition(item) && !found.includes(item)) found.push(item);
    }
  }
  if (!found.length) throw new Error(`${path} exports no runner (use defineRunner() and export it)`);
  return found;
}

/** `options` of a JS runner: none (runner behaviour is in the module). */
export const jsOptionsSchema = strictObject({}).describe('Options of the `js` backend: none (a JS runner is configured in its module).');

/** The definitions an entry serves: all the module's, or the one its `name` names. */
async function servedDefinitions(entry: BackendEntry<unknown>): Promise<JsRunnerDefinition[]> {
  const definitions = await importRunnerDefinitions(entry.path);
  const served = definitions.filter((d) => !entry.name || d.name === entry.name);
  if (!served.length) {
    throw new EntryError('name', `${entry.path} exports no runner ${JSON.stringify(entry.name)}; ${suggestion(entry.name!, definitions.map((d) => d.name))}`);
  }
  return served;
}

/**
 * The js backend. Each instance runs the definition's own setup; the module itself is
 * imported once per thread or process (the module cache), so instances in one thread
 * share its top-level state.
 */
export const jsBackend = defineBackend<Record<string, never>>({
  name: 'js',
  title: 'JS',
  paths: { kind: 'file', description: 'a JS/TS module (.js, .mjs, .cjs, .ts, .mts, .cts)', accepts: (path) => /\.(m?[jt]s|cjs|mts|cts)$/.test(path) },
  options: jsOptionsSchema,
  entryName: 'serve only the module\'s runner of this name (default: all of them)',
  // User code: in worker threads, it runs in parallel with the server's I/O and cannot block it.
  defaultIsolation: 'worker',
  inProcessWarning: 'a busy loop or long synchronous code in it stops the server from serving other calls and from handling SIGTERM',
  async list(entry) {
    return (await servedDefinitions(entry)).map((d) => ({ name: d.name, methods: Object.keys(d.methods) }));
  },
  async load(entry, runner) {
    const definitions = await importRunnerDefinitions(entry.path);
    const definition = definitions.find((d) => d.name === runner);
    if (!definition) {
      throw new Error(`${entry.path} exports no runner '${runner}'; it exports ${definitions.map((d) => `'${d.name}'`).join(', ')}`);
    }
    return loadJsRunner(definition);
  },
});
