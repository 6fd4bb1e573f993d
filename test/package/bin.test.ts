/**
 * bin/flight-runner.js in a checkout: it runs dist/, says how to build it when it is
 * missing, and warns when src/ changed after the build. Run on a copy of bin/ next to a
 * made-up src/ and dist/ (the real dist/ would need a build).
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/serve-process.js';

function checkout(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'flight-runner-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'bin'));
  copyFileSync(join(ROOT, 'bin/flight-runner.js'), join(dir, 'bin/flight-runner.js'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  mkdirSync(join(dir, 'src/cli'), { recursive: true });
  writeFileSync(join(dir, 'src/cli/main.ts'), '');
  return dir;
}

const run = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin/flight-runner.js'), '--version'], { encoding: 'utf8' });

test('without dist/, it says to build and exits 1', (t) => {
  const r = run(checkout(t));
  t.is(r.status, 1);
  t.is(r.stderr, 'flight-runner: dist/ is not built in this checkout; run "npm run build" (npm install runs it too)\n');
});

test('it runs dist/src/cli/main.js, warning only when a source is newer than the build', (t) => {
  const dir = checkout(t);
  mkdirSync(join(dir, 'dist/src/cli'), { recursive: true });
  writeFileSync(join(dir, 'dist/src/cli/main.js'), "process.stdout.write('ran dist\\n');\n");
  const old = new Date(Date.now() - 60_000);
  utimesSync(join(dir, 'src/cli/main.ts'), old, old);
  const fresh = run(dir);
  t.is(fresh.status, 0, fresh.stderr);
  t.is(fresh.stdout, 'ran dist\n');
  t.is(fresh.stderr, '');

  const later = new Date(Date.now() + 60_000);
  utimesSync(join(dir, 'src/cli/main.ts'), later, later);
  const stale = run(dir);
  t.is(stale.stdout, 'ran dist\n');
  t.is(stale.stderr, 'flight-runner: warning: src/ has changed since dist/ was built; run "npm run build"\n');
});
