#!/usr/bin/env node
// The `flight-runner` command runs the compiled JavaScript in dist/ (built by `npm run
// build`, which `npm install` in a checkout and `npm pack` run through "prepare"), so a
// command starts without compiling anything and a runner that imports 'flight-runner'
// gets the very modules the command runs (one Tensor class, not two).
import { existsSync, readdirSync, statSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
const sources = new URL('../src/', import.meta.url);

if (!existsSync(main)) {
  process.stderr.write(existsSync(sources)
    ? 'flight-runner: dist/ is not built in this checkout; run "npm run build" (npm install runs it too)\n'
    : `flight-runner: ${main.pathname} is missing: the package is incomplete, reinstall it\n`);
  process.exit(1);
}

// In a checkout (the package ships no src/), say when dist/ is older than the sources
// it was built from, instead of silently running old code.
if (existsSync(sources)) {
  const built = statSync(main).mtimeMs;
  const stale = readdirSync(sources, { recursive: true, withFileTypes: true })
    .some((e) => e.isFile() && e.name.endsWith('.ts') && statSync(`${e.parentPath ?? e.path}/${e.name}`).mtimeMs > built);
  if (stale) process.stderr.write('flight-runner: warning: src/ has changed since dist/ was built; run "npm run build"\n');
}

await import(main.href);
