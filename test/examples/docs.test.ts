/**
 * The examples in README.md and docs/*.md, extracted from the Markdown as they are:
 *
 * - every ```ts block type-checks under `strict` (against the package's sources, through
 *   the 'flight-runner' import a user writes);
 * - every block marked `<!-- example: run ... -->` (on the line before its fence) runs:
 *   TypeScript and Python programs against a real `serve examples/serve.yaml` (their
 *   grpc://127.0.0.1:8815 replaced by its address) and must exit 0; the README's runner is
 *   saved as scaler.ts, served and called; `npx flight-runner ...` lines run as commands,
 *   servers until their listening line.
 *
 * Blocks marked `<!-- example: not run: <reason> -->`, and blocks of other languages
 * without a mark (YAML, JSON, output), are listed in the log, not run.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { venvPython } from '../helpers/python.js';
import { CLI_ARGS, ROOT, startServerProcess, type ServerProcess } from '../helpers/serve-process.js';
import { waitForRunners } from './ready.js';

/** A fenced code block of a Markdown file. */
interface Block {
  file: string;
  line: number;
  lang: string;
  code: string;
  /** The `example:` mark on the line before the fence, if any: 'run ...' or 'not run: ...'. */
  mark?: string;
}

function blocksOf(file: string): Block[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const indent = open[1]!.length;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]!); i++) body.push(lines[i]!.slice(indent));
    let prev = start - 1;
    while (prev >= 0 && !lines[prev]!.trim()) prev--;
    const mark = prev >= 0 ? /^<!--\s*example:\s*(.*?)\s*-->$/.exec(lines[prev]!.trim())?.[1] : undefined;
    blocks.push({ file, line: start + 1, lang: open[2]!, code: `${body.join('\n')}\n`, ...(mark !== undefined ? { mark } : {}) });
  }
  return blocks;
}

const files = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const blocks = files.flatMap(blocksOf);
const runs = (b: Block) => b.mark !== undefined && /^run\b/.test(b.mark);
const where = (b: Block) => `${b.file}:${b.line}`;

/**
 * A directory outside the repository that sees it as an installed package: its
 * node_modules links every dependency of the repository and `flight-runner` -> the
 * repository (whose exports map, with the flight-runner-source condition, to src/).
 */
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-docs-'));
mkdirSync(join(dir, 'node_modules'));
for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
  if (entry !== '.bin') symlinkSync(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry));
}
symlinkSync(ROOT, join(dir, 'node_modules', 'flight-runner'));
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'docs-examples', private: true, type: 'module' }));

let server: ServerProcess;

test.before(async () => {
  server = await startServerProcess(['serve', 'examples/serve.yaml', '--port', '0']);
  await waitForRunners(server.uri);
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Result { code: number | null; stdout: string; stderr: string }

function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The default server address of the docs, replaced by the test server's. */
const withServer = (code: string) => code.replaceAll('grpc://127.0.0.1:8815', server.uri);

/** Runs a TypeScript program (an ES module, so top-level await works) from `dir`. */
const runTs = (file: string) => run(process.execPath, ['--conditions=flight-runner-source', '--import', import.meta.resolve('tsx'), file], dir);

test('the docs have the examples this suite runs', (t) => {
  const listed = blocks.map((b) => `${where(b)} ${b.lang || '(plain)'}: ${b.mark ?? 'no mark'}`);
  t.log(listed.join('\n'));
  // The README's runnable examples, by the text they start with: none may lose its mark.
  for (const start of ["import { tableFromArrays } from 'apache-arrow';\nimport { connect }", "import { defineRunner, types, Tensor }", 'npx flight-runner list', 'npx flight-runner --help']) {
    t.true(blocks.some((b) => b.file === 'README.md' && runs(b) && b.code.startsWith(start)), start);
  }
  t.true(blocks.some((b) => b.file === 'docs/protocol.md' && b.lang === 'python' && runs(b)));
});

test('every TypeScript example type-checks under strict', async (t) => {
  const ts = blocks.filter((b) => b.lang === 'ts');
  t.true(ts.length >= 3);
  const paths = ts.map((b, i) => {
    const path = join(dir, `check-${i}.mts`);
    writeFileSync(path, b.code);
    return path;
  });
  const r = await run(join(ROOT, 'node_modules/.bin/tsc'), [
    '--ignoreConfig', '--noEmit', '--strict', '--module', 'nodenext', '--target', 'es2022', '--skipLibCheck',
    '--types', 'node', '--customConditions', 'flight-runner-source', join(ROOT, 'src/types/lz4js.d.ts'), ...paths,
  ], dir);
  // Name the Markdown line of each error, not the temporary file.
  const named = (r.stdout + r.stderr).replace(/check-(\d+)\.mts\((\d+),(\d+)\)/g, (_, i: string, line: string, col: string) => {
    const b = ts[Number(i)]!;
    return `${b.file}:${b.line + Number(line)}:${col}`;
  });
  t.is(r.code, 0, named);
});

test('the TypeScript programs marked run exit 0 against a real server', async (t) => {
  const programs = blocks.filter((b) => b.lang === 'ts' && runs(b) && !b.code.includes('defineRunner('));
  t.true(programs.length >= 2);
  for (const [i, b] of programs.entries()) {
    const path = join(dir, `run-${i}.mts`);
    writeFileSync(path, withServer(b.code));
    const r = await runTs(path);
    t.is(r.code, 0, `${where(b)}:\n${r.stderr}`);
    // The Flight library example echoes its 3-row table.
    if (b.code.includes('new FlightServer(')) t.is(r.stdout.trim(), '3', where(b));
  }
});

test('the README runner, saved as scaler.ts, serves and doubles its input', async (t) => {
  const [b] = blocks.filter((x) => x.lang === 'ts' && runs(x) && x.code.includes('defineRunner('));
  t.truthy(b);
  writeFileSync(join(dir, 'scaler.ts'), b!.code);
  const served = await startServerProcessIn(['serve', 'scaler.ts', '--port', '0']);
  try {
    // `serve` listens before its worker-isolated runner has loaded (a call then is
    // UNAVAILABLE "still loading"); a reader following the README waits the same way.
    await waitForRunners(served.uri);
    writeFileSync(join(dir, 'rows.json'), JSON.stringify([{ x: [1, 2, 3, 4] }, { x: [0.5, -1, 8, 2.25] }]));
    const r = await run(process.execPath, [...CLI_ARGS, 'call', served.uri, 'scaler', '--input', 'rows.json'], dir);
    t.is(r.code, 0, r.stderr);
    t.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown), [{ y: [2, 4, 6, 8] }, { y: [1, -2, 16, 4.5] }]);
  } finally {
    served.child.kill('SIGTERM');
    t.is(await served.exited, 0);
  }
});

/** `flight-runner <args>` from the sources in `dir`, once it printed its listening line. */
async function startServerProcessIn(args: string[], cwd = dir) {
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const uri = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no listening line in 120 s:\n${stderr}`)); }, 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /flight-runner listening on (\S+)/.exec(stdout);
      if (match) { clearTimeout(timer); resolve(match[1]!); }
    });
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`exited ${code} before listening:\n${stderr}`)); });
  });
  return { child, uri, exited };
}

test('the shell examples marked run: each `npx flight-runner` line as a command', async (t) => {
  const shell = blocks.filter((b) => b.lang === 'sh' && runs(b));
  t.true(shell.length >= 2);
  // For `call ... --input flowers.csv`: iris features as the columns features_0..3.
  const flowers = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5]];
  writeFileSync(join(dir, 'flowers.csv'), ['features_0,features_1,features_2,features_3', ...flowers.map((f) => f.join(','))].join('\n'));
  for (const b of shell) {
    const commands = withServer(b.code).split('\n').map((l) => l.replace(/\s+#.*$/, '').trim()).filter((l) => l.startsWith('npx flight-runner'));
    t.true(commands.length > 0, where(b));
    for (const command of commands) {
      const args = command.split(/\s+/).slice(2);
      // Paths in the README's Commands are relative to the repository root.
      const cwd = args.some((a) => a.startsWith('examples/')) ? ROOT : dir;
      if (args[0] === 'serve' || args[0] === 'memory-server') {
        const served = await startServerProcessIn(args, cwd);
        served.child.kill('SIGTERM');
        t.is(await served.exited, 0, `${where(b)}: ${command}`);
        continue;
      }
      const r = await run(process.execPath, [...CLI_ARGS, ...args], cwd);
      t.is(r.code, 0, `${where(b)}: ${command}\n${r.stderr}`);
      if (args[0] === 'list') t.regex(r.stdout, /^iris\s+predict_proba\s/m);
      if (args[0] === '--version') t.regex(r.stdout, /^\d+\.\d+\.\d+/);
      if (args[0] === 'call' && args.includes('probs.arrow')) {
        const table = tableFromIPC(readFileSync(join(dir, 'probs.arrow')));
        t.is(table.numRows, flowers.length);
        t.deepEqual(table.schema.fields.map((f) => f.name), ['probabilities']);
      }
    }
  }
  t.true(existsSync(join(dir, 'probs.arrow')));
});

test('the Python examples marked run exit 0 against a real server', async (t) => {
  const python = blocks.filter((b) => b.lang === 'python' && runs(b));
  t.true(python.length >= 1);
  for (const [i, b] of python.entries()) {
    const path = join(dir, `example-${i}.py`);
    writeFileSync(path, withServer(b.code));
    const r = await run(venvPython(), [path], dir);
    t.is(r.code, 0, `${where(b)}:\n${r.stderr}`);
  }
});
