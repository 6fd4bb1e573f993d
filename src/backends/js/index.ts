/**
 * The `js` backend: runners written in TypeScript or JavaScript, loaded from a module
 * whose exports (default or named) are runner definitions.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { Backend } from '../backend.js';
import type { Runner } from '../../runner/runner.js';
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

/** The js backend. */
export const jsBackend: Backend = {
  name: 'js',
  accepts: (target) => /\.(m?[jt]s|cjs|mts|cts)$/.test(target),
  async load(target): Promise<Runner[]> {
    const definitions = await importRunnerDefinitions(target);
    return Promise.all(definitions.map((d) => loadJsRunner(d)));
  },
};
