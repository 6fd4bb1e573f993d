/**
 * Loading runner modules written in TypeScript. The package runs compiled JavaScript, so
 * a `.ts` runner needs a TypeScript loader: tsx (an optional peer dependency:
 * `npm install tsx`), or Node's own type stripping where Node has it (22.18+ and 23.6+
 * by default, 22.6+ with --experimental-strip-types). tsx is preferred when installed:
 * it also takes what stripping refuses (enums, `./helper.js` naming `./helper.ts`).
 * Running from the sources (tests, a checkout through tsx), a loader is already there.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How this process loads TypeScript. */
export type TypeScriptSupport =
  /** A loader is already registered: this code itself runs from .ts sources. */
  | { kind: 'sources' }
  /** tsx, by the URLs of its ESM API (`register()`) and of its `--import` loader. */
  | { kind: 'tsx'; apiUrl: string; loaderUrl: string }
  /** Node strips types itself. */
  | { kind: 'native' };

const TS_FILE = /\.[mc]?ts$/;

/** True for a path Node cannot import without a TypeScript loader. */
export function isTypeScriptPath(path: string): boolean {
  return TS_FILE.test(path) && !path.endsWith('.d.ts');
}

/** True when this module runs from its .ts source (through tsx), not from dist/. */
export function runningFromSources(): boolean {
  return extname(fileURLToPath(import.meta.url)) === '.ts';
}

/** tsx's module URLs, if tsx can be resolved from here (the app's node_modules). */
function findTsx(): { apiUrl: string; loaderUrl: string } | undefined {
  try {
    return { apiUrl: import.meta.resolve('tsx/esm/api'), loaderUrl: import.meta.resolve('tsx') };
  } catch {
    return undefined;
  }
}

/** True when Node strips TypeScript types in this process. */
export function nodeStripsTypes(): boolean {
  return Boolean((process.features as { typescript?: string | false }).typescript);
}

/**
 * How this process can load `what` (a .ts file), or an error that says how to make it
 * possible.
 */
export function typeScriptSupport(what: string): TypeScriptSupport {
  if (runningFromSources()) return { kind: 'sources' };
  const tsx = findTsx();
  if (tsx) return { kind: 'tsx', ...tsx };
  if (nodeStripsTypes()) return { kind: 'native' };
  throw new Error(
    `${what} is TypeScript, and loading it needs a TypeScript loader: run "npm install tsx" in your project `
    + `(or use Node.js 22.18+ / 23.6+, which strip types themselves, or compile the runner to JavaScript). `
    + `This is Node.js ${process.version}.`,
  );
}

let registered: Promise<void> | undefined;

/** Makes `import()` of a .ts module work in this process (registers tsx once, if needed). */
export async function enableTypeScript(what: string): Promise<void> {
  const support = typeScriptSupport(what);
  if (support.kind !== 'tsx') return;
  registered ??= import(support.apiUrl).then((tsx: { register(): unknown }) => { tsx.register(); });
  await registered;
}
