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
  /** tsx: its `--import` loader, and its APIs that register the import and the require hooks. */
  | { kind: 'tsx' } & TsxUrls
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

/** URLs of tsx's modules. */
export interface TsxUrls {
  /** What `--import tsx` loads (for a child process). */
  loaderUrl: string;
  /** `register()` of the import hooks. */
  esmApiUrl: string;
  /** `register()` of the require hooks. */
  cjsApiUrl: string;
}

/** tsx's module URLs, if tsx resolves from here (from the app's node_modules). */
export function findTsx(): TsxUrls | undefined {
  try {
    const resolve = (specifier: string) => import.meta.resolve(specifier);
    return { loaderUrl: resolve('tsx'), esmApiUrl: resolve('tsx/esm/api'), cjsApiUrl: resolve('tsx/cjs/api') };
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

/**
 * The code that registers tsx's import and require hooks in the running thread (a .ts
 * file in a "type": "commonjs" project is CommonJS, so both are needed), as an
 * expression of a promise. tsx's `--import` loader registers only on the main thread.
 */
export function registerTsxCode(tsx: TsxUrls): string {
  return `Promise.all([import(${JSON.stringify(tsx.esmApiUrl)}).then((m) => m.register()), import(${JSON.stringify(tsx.cjsApiUrl)}).then((m) => m.register())])`;
}

/**
 * Makes `import()` of a .ts module work in this process: registers tsx once if needed,
 * and loads this package's entry first, which publishes its instance for a CommonJS
 * runner's require('flight-runner').
 */
export async function enableTypeScript(what: string): Promise<void> {
  const support = typeScriptSupport(what);
  if (support.kind !== 'tsx') return;
  registered ??= (async () => {
    await import(new URL(`../../index${extname(fileURLToPath(import.meta.url))}`, import.meta.url).href);
    const [esm, cjs] = await Promise.all([
      import(support.esmApiUrl) as Promise<{ register(): unknown }>,
      import(support.cjsApiUrl) as Promise<{ register(): unknown }>,
    ]);
    esm.register();
    cjs.register();
  })();
  await registered;
}
