/**
 * The package as a user gets it: `npm pack` this checkout, install the tarball into an
 * empty project made by `npm init -y` (CommonJS, as npm makes it), then run the installed
 * command (`--help`, `--version`, `serve` of the README's "Writing runners" example saved
 * verbatim as scaler.ts) and call it with the installed CLI and the installed SDK (from
 * an ES module and from CommonJS). The optional peers are absent at first, to see the
 * messages that name them; tsx is then installed as the README says.
 *
 * Needs the npm registry for the package's dependencies. onnxruntime-node's install
 * script would download CUDA libraries from NuGet on linux/x64; ONNXRUNTIME_NODE_INSTALL=skip
 * turns that off, as the README tells users.
 */
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/serve-process.js';

const work = mkdtempSync(join(tmpdir(), 'flight-runner-package-'));
const project = join(work, 'project');
const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/**
 * The environment of a user's shell: without the npm_* variables an enclosing `npm test`
 * sets (they would point the inner npm at this checkout), and without NODE_OPTIONS.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  return { ...env, ONNXRUNTIME_NODE_INSTALL: 'skip' };
}

interface Result { code: number | null; stdout: string; stderr: string }

/** Runs a command to completion in `cwd` (killed after `timeoutMs`). */
function sh(command: string, args: string[], cwd: string, timeoutMs = 300_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The README's first ```ts block after `## Writing runners`, verbatim. */
function readmeRunner(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Writing runners'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md has no ```ts block under "## Writing runners"');
  return match[1]!;
}

/** A `flight-runner serve` of the installed package, started in the project. */
interface Served { child: ChildProcess; uri?: string; stderr: () => string; exited: Promise<number | null> }

/** Starts `flight-runner serve args` and waits for its listening line and `ready` in its log, or its exit. */
async function serve(args: string[], ready: RegExp): Promise<Served> {
  const child = spawn(join(project, 'node_modules/.bin/flight-runner'), ['serve', ...args], { cwd: project, env: userEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const served: Served = { child, stderr: () => stderr, exited };
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 120_000);
    const check = () => {
      const match = /flight-runner listening on (\S+)/.exec(stdout);
      if (match) served.uri = match[1]!;
      if (served.uri && ready.test(stderr)) { clearTimeout(timer); resolve(); }
    };
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); check(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); check(); });
    void exited.then(() => { clearTimeout(timer); resolve(); });
  });
  return served;
}

async function stop(served: Served): Promise<number | null> {
  if (served.child.exitCode === null) served.child.kill('SIGTERM');
  const timer = setTimeout(() => served.child.kill('SIGKILL'), 30_000);
  const code = await served.exited;
  clearTimeout(timer);
  return code;
}

test.before(async (t) => {
  const packed = await sh('npm', ['pack', '--pack-destination', work], ROOT);
  if (packed.code !== 0) throw new Error(`npm pack failed:\n${packed.stderr}`);
  const tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
  mkdirSync(project);
  const init = await sh('npm', ['init', '-y'], project);
  if (init.code !== 0) throw new Error(`npm init -y failed:\n${init.stderr}`);
  const install = await sh('npm', ['install', tarball, '--no-audit', '--no-fund'], project);
  if (install.code !== 0) throw new Error(`npm install of the tarball failed:\n${install.stderr}`);
  writeFileSync(join(project, 'scaler.ts'), readmeRunner());
  t.log(`packed and installed ${tarball} into ${project}`);
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

test.serial('the tarball ships compiled JavaScript, not the sources; the optional peers are not installed', (t) => {
  const installed = join(project, 'node_modules/flight-runner');
  const pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string };
  t.is(pkg.version, version);
  t.notThrows(() => readFileSync(join(installed, 'dist/src/index.js')));
  t.throws(() => readFileSync(join(installed, 'src/index.ts')));
  for (const peer of ['tsx', 'danfojs']) t.throws(() => readFileSync(join(project, 'node_modules', peer, 'package.json')), undefined, peer);
  const projectPkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as { type?: string };
  t.not(projectPkg.type, 'module', 'npm init -y makes a CommonJS project');
});

test.serial('npx flight-runner --help and --version', async (t) => {
  const [help, ver] = await Promise.all([sh('npx', ['flight-runner', '--help'], project), sh('npx', ['flight-runner', '--version'], project)]);
  t.is(help.code, 0, help.stderr);
  t.regex(help.stdout, /^Usage: flight-runner <command>/);
  t.is(ver.code, 0, ver.stderr);
  t.is(ver.stdout, `${version}\n`);
});

test.serial('without tsx, serving a .ts runner says to install it; without danfojs, a DataFrame says to install it', async (t) => {
  const served = await serve(['scaler.ts', '--port', '0'], /npm install tsx/);
  await stop(served);
  t.regex(served.stderr(), /scaler\.ts is TypeScript, and loading it needs a TypeScript loader: run "npm install tsx"/);
  t.notRegex(served.stderr(), /\n\s+at /);

  writeFileSync(join(project, 'table.mjs'), `
import { tableFromArrays } from 'apache-arrow';
import { defineRunner, loadJsRunner, local, types } from 'flight-runner';
const rows = await local(await loadJsRunner(defineRunner({
  name: 'rows',
  methods: { count: { inputs: { t: types.table() }, outputs: { n: types.scalar('float64') }, run: ({ t }) => [t.shape[0]] } },
})));
try {
  await rows.run(tableFromArrays({ a: Float64Array.from([1, 2]) }));
  console.log('no error');
} catch (err) {
  console.log(err.message);
}
`);
  const r = await sh(process.execPath, ['table.mjs'], project);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /DataFrames need danfo\.js, an optional peer dependency of flight-runner: run "npm install danfojs"/);
});

test.serial('with tsx installed: serve scaler.ts (the README example), called by the installed CLI and SDK', async (t) => {
  const tsx = await sh('npm', ['install', 'tsx', '--no-audit', '--no-fund'], project);
  t.is(tsx.code, 0, tsx.stderr);
  const served = await serve(['scaler.ts', '--port', '0'], /"all runners loaded"|"runner ready"/);
  try {
    t.truthy(served.uri, served.stderr());
    t.regex(served.stderr(), /"runner ready","runner":"scaler"/);
    const uri = served.uri!;

    const list = await sh('npx', ['flight-runner', 'list', uri], project);
    t.is(list.code, 0, list.stderr);
    t.regex(list.stdout, /^scaler\s+scale\*\s+yes\s+x: tensor<float32>\[4\]\s+y: tensor<float32>\[4\]$/m);

    writeFileSync(join(project, 'rows.json'), JSON.stringify([{ x: [1, 2, 3, 4] }, { x: [0.5, -1, 8, 2.25] }]));
    const call = await sh('npx', ['flight-runner', 'call', uri, 'scaler', '--input', 'rows.json'], project);
    t.is(call.code, 0, call.stderr);
    t.deepEqual(call.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ y: [2, 4, 6, 8] }, { y: [1, -2, 16, 4.5] }]);

    // The SDK from the installed package, from an ES module and from CommonJS.
    writeFileSync(join(project, 'client.mjs'), `
import { connect, Tensor } from 'flight-runner';
const client = await connect(process.argv[2]);
const y = await client.runner('scaler').run(new Tensor('float32', Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]), [2, 4]));
console.log(JSON.stringify({ esm: Array.from(y.data), shape: y.shape, isTensor: y instanceof Tensor }));
client.close();
`);
    writeFileSync(join(project, 'client.cjs'), `
const { connect } = require('flight-runner');
connect(process.argv[2]).then(async (client) => {
  const y = await client.runner('scaler').method('scale').run([0.25, 0.5, 1, 2]);
  console.log(JSON.stringify({ cjs: Array.from(y.data), runners: client.runners }));
  client.close();
});
`);
    const [esm, cjs] = await Promise.all([sh(process.execPath, ['client.mjs', uri], project), sh(process.execPath, ['client.cjs', uri], project)]);
    t.is(esm.code, 0, esm.stderr);
    t.deepEqual(JSON.parse(esm.stdout), { esm: [2, 4, 6, 8, 10, 12, 14, 16], shape: [2, 4], isTensor: true });
    t.is(cjs.code, 0, cjs.stderr);
    t.deepEqual(JSON.parse(cjs.stdout), { cjs: [0.5, 1, 2, 4], runners: ['scaler'] });
  } finally {
    t.is(await stop(served), 0, served.stderr());
  }
});

test.serial('the same runner as an ES module (scaler.mts) serves in process and in a worker', async (t) => {
  writeFileSync(join(project, 'scaler.mts'), readmeRunner());
  writeFileSync(join(project, 'serve.yaml'), [
    'runners:',
    '  - { path: scaler.mts, name: scaler, scheduling: { isolation: in-process } }',
    '',
  ].join('\n'));
  for (const args of [['scaler.mts'], ['serve.yaml']]) {
    const served = await serve([...args, '--port', '0'], /"runner ready"/);
    try {
      t.truthy(served.uri, served.stderr());
      const call = await sh('npx', ['flight-runner', 'call', served.uri!, 'scaler', '--input', 'rows.json'], project);
      t.is(call.code, 0, call.stderr);
      t.deepEqual(call.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ y: [2, 4, 6, 8] }, { y: [1, -2, 16, 4.5] }], args[0]);
    } finally {
      t.is(await stop(served), 0, served.stderr());
    }
  }
});

test.serial('the README example type-checks under --strict against the installed package', async (t) => {
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  const r = await sh(tsc, ['--strict', '--noEmit', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'scaler.ts'], project);
  t.is(r.code, 0, r.stdout + r.stderr);
});
