/**
 * Running TypeScript inside isolated instances. Loader hooks registered in this process
 * (tsx, as the tests register it, or as backends/js registers it for a .ts runner) do
 * not carry over to worker threads or child processes, and in Node 20 a worker ignores
 * `--import` in its execArgv. So a worker registers tsx itself before importing its
 * entry, and a child process gets `--import <tsx loader>`; both by absolute URL, so the
 * cwd does not matter. Where Node strips types itself, neither needs tsx.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTsx, isTypeScriptPath, registerTsxCode, typeScriptSupport, type TsxUrls } from '../backends/js/typescript-loader.js';
import type { RunnerSpec } from './runner-spec.js';

/**
 * The URL of a sibling entry module (`worker-entry`, `process-entry`), with the same
 * extension as this file: `.ts` when running from sources, `.js` from a build.
 */
export function entryUrl(name: string): URL {
  return new URL(`./${name}${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

/** True when a child must compile TypeScript: the entry or the runner's path is a .ts file (whatever the backend). */
export function needsTypeScript(entry: URL, spec: RunnerSpec): boolean {
  return isTypeScriptPath(entry.pathname) || isTypeScriptPath(spec.entry.path);
}

/** tsx's URLs for a child, if it needs tsx; the sources (the tests, a checkout) always run through tsx. */
function tsxFor(entry: URL, spec: RunnerSpec): TsxUrls | undefined {
  if (!needsTypeScript(entry, spec)) return undefined;
  const what = isTypeScriptPath(spec.entry.path) ? spec.entry.path : entry.pathname;
  const support = typeScriptSupport(what);
  if (support.kind === 'tsx') return support;
  if (support.kind === 'native') return undefined;
  // From the sources: tsx is how this process runs, so it resolves.
  const tsx = findTsx();
  if (!tsx) throw new Error('running the sources in an isolated instance needs tsx (npm install)');
  return tsx;
}

/** The code a worker thread evaluates: register tsx in the thread if it needs it, then `load` (an import expression). */
export function workerBootstrap(entry: URL, spec: RunnerSpec, load: string): string {
  const tsx = tsxFor(entry, spec);
  return tsx ? `${registerTsxCode(tsx)}.then(() => ${load});` : `${load};`;
}

/**
 * A child process's Node flags: the TypeScript loader when it needs one, and the parent's
 * export conditions (`--conditions=flight-runner-source` in the tests), so a runner
 * importing 'flight-runner' there gets the same build of it as the entry. The parent's
 * other flags (an --inspect port, test runner hooks) are not the child's business.
 */
export function childExecArgv(entry: URL, spec: RunnerSpec): string[] {
  const conditions = process.execArgv.filter((a) => /^(--conditions|-C)(=|$)/.test(a));
  const stripping = process.execArgv.filter((a) => a === '--experimental-strip-types');
  const tsx = tsxFor(entry, spec);
  return [...conditions, ...stripping, ...(tsx ? ['--import', tsx.loaderUrl] : [])];
}
