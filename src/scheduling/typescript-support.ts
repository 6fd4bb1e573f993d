/**
 * Running TypeScript inside isolated instances. Loader hooks registered in this
 * process (tsx, as bin/flight-runner.js and ava register it) do not carry over to
 * worker threads or child processes, and in Node 20 a worker ignores `--import` in its
 * execArgv. So a worker registers tsx itself before importing its entry, and a child
 * process gets `--import <tsx loader>`; both by absolute URL, so the cwd does not matter.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunnerSpec } from './runner-spec.js';

const TS_FILE = /\.[mc]?ts$/;

/**
 * The URL of a sibling entry module (`worker-entry`, `process-entry`), with the same
 * extension as this file: `.ts` when running from sources, `.js` from a build.
 */
export function entryUrl(name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

/** True when a child must compile TypeScript: the entry or the runner module is a .ts file. */
export function needsTypeScript(entry: URL, spec: RunnerSpec): boolean {
  return TS_FILE.test(entry.pathname) || (spec.kind === 'js' && TS_FILE.test(spec.path));
}

function resolveTsx(specifier: string): string {
  try {
    return import.meta.resolve(specifier);
  } catch (err) {
    throw new Error(`running TypeScript in an isolated instance needs tsx (npm install tsx): ${(err as Error).message}`);
  }
}

/** tsx's ESM API module (it exports `register()`), for a worker's bootstrap. */
export function tsxApiUrl(): string {
  return resolveTsx('tsx/esm/api');
}

/** tsx's loader module, for a child process's `--import`. */
export function tsxLoaderUrl(): string {
  return resolveTsx('tsx');
}
