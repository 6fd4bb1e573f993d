/**
 * `flight-runner serve` on nonsense configs (issue #9): each is refused before the server
 * listens, with exit status 2 and one message naming the file, the key's path and what
 * to change; no stack trace. Before the schema, every one of these started a server.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CLI_ARGS, ROOT, writeServeConfig } from '../helpers/serve-process.js';

const IRIS = join(ROOT, 'examples/models/iris.onnx');
const TEXT_TOOLS = join(ROOT, 'examples/runners/text-tools.ts');

/**
 * Runs `serve <config> --port 0` until it exits; if it prints its listening line instead
 * (the config was accepted), kills it and reports `listened`.
 */
function serveUntilExit(config: string, extra: string[] = []): Promise<{ code: number | null; listened: boolean; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...CLI_ARGS, 'serve', config, '--port', '0', ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let listened = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!listened && /flight-runner listening on/.test(stdout)) { listened = true; child.kill('SIGKILL'); }
    });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, listened, stdout, stderr }); });
  });
}

/** The runner entry of each bad config, and the exact line serve must print for it. */
const cases: { title: string; entry: string[]; line: string }[] = [
  {
    title: 'maxBatchRows: 0',
    entry: ['    scheduling: { batching: { maxBatchRows: 0 } }'],
    line: 'runners[0].scheduling.batching.maxBatchRows: must be an integer >= 1 (got 0)',
  },
  {
    title: 'a negative instance count',
    entry: ['    scheduling: { instances: { count: -2 } }'],
    line: 'runners[0].scheduling.instances.count: must be an integer >= 1 or "auto" (got -2)',
  },
  {
    title: 'a negative maxQueueRows',
    entry: ['    scheduling: { batching: { maxQueueRows: -1 } }'],
    line: 'runners[0].scheduling.batching.maxQueueRows: must be an integer >= 1 (got -1)',
  },
  {
    title: 'a misspelled key (batchng)',
    entry: ['    scheduling:', '      batchng: { maxBatchRows: 64 }'],
    line: 'runners[0].scheduling.batchng: unknown key; did you mean "batching"?',
  },
  {
    title: 'instances: auto (count: auto is the valid spelling)',
    entry: ['    scheduling: { instances: auto }'],
    line: 'runners[0].scheduling.instances: expected a mapping such as { count: auto } or { count: 2 } (got "auto")',
  },
  {
    title: 'a method override naming no method of the ONNX model (predcit)',
    entry: ['    scheduling: { batching: { methods: { predcit: { maxBatchRows: 8 } } } }'],
    line: 'runners[0].scheduling.batching.methods.predcit: no method "predcit" in runner \'iris\'; did you mean "predict"?',
  },
  {
    title: 'hangTimeoutMs: -5',
    entry: ['    scheduling: { hangTimeoutMs: -5 }'],
    line: 'runners[0].scheduling.hangTimeoutMs: must be an integer >= 1 (got -5)',
  },
  {
    title: 'a misspelled ONNX option',
    entry: ['    options: { intraOpNumThread: 1 }'],
    line: 'runners[0].options.intraOpNumThread: unknown key; did you mean "intraOpNumThreads"?',
  },
  {
    title: 'a model path that does not exist',
    entry: ['  - path: no-such-model.onnx'],
    line: 'runners[1].path: no such file: ${dir}/no-such-model.onnx',
  },
  {
    title: 'a wrong type',
    entry: ['    scheduling: { batching: { maxQueueDelayMs: soon } }'],
    line: 'runners[0].scheduling.batching.maxQueueDelayMs: expected a number >= 0 (got "soon")',
  },
];

for (const c of cases) {
  test.serial(`serve refuses ${c.title}: exit 2 naming the file and the key's path`, async (t) => {
    const config = writeServeConfig(t, ['runners:', `  - path: ${JSON.stringify(IRIS)}`, ...c.entry]);
    const result = await serveUntilExit(config);
    t.false(result.listened, `the server started instead of refusing the config:\n${result.stderr}`);
    t.is(result.code, 2, result.stderr);
    t.is(result.stderr, `flight-runner serve: invalid configuration:\n${config}: ${c.line.replace('${dir}', dirname(config))}\n`);
    t.is(result.stdout, '');
  });
}

test('serve refuses a method override naming no method of a JS runner, and a runner name the module does not export', async (t) => {
  const override = writeServeConfig(t, [
    'runners:',
    `  - path: ${JSON.stringify(TEXT_TOOLS)}`,
    '    scheduling: { batching: { methods: { tokenise: { maxBatchRows: 8 } } } }',
  ]);
  const result = await serveUntilExit(override);
  t.false(result.listened, result.stderr);
  t.is(result.code, 2, result.stderr);
  t.is(result.stderr, `flight-runner serve: invalid configuration:\n${override}: runners[0].scheduling.batching.methods.tokenise: no method "tokenise" in runner 'text_tools'; valid: "stats", "concat"\n`);

  const name = writeServeConfig(t, ['runners:', `  - path: ${JSON.stringify(TEXT_TOOLS)}`, '    name: text-tools']);
  const named = await serveUntilExit(name);
  t.false(named.listened, named.stderr);
  t.is(named.code, 2, named.stderr);
  t.is(named.stderr, `flight-runner serve: invalid configuration:\n${name}: runners[0].name: ${TEXT_TOOLS} exports no runner "text-tools"; did you mean "text_tools"?\n`);
});

test('serve reports every problem of a config at once, one line each', async (t) => {
  const config = writeServeConfig(t, [
    'server: { prot: 8815 }',
    'runners:',
    `  - path: ${JSON.stringify(IRIS)}`,
    '    scheduling: { instances: { count: 0 }, batching: { maxBatchRows: 0 } }',
  ]);
  const result = await serveUntilExit(config);
  t.is(result.code, 2, result.stderr);
  t.deepEqual(result.stderr.trim().split('\n'), [
    'flight-runner serve: invalid configuration:',
    `${config}: server.prot: unknown key; did you mean "port"?`,
    `${config}: runners[0].scheduling.instances.count: must be an integer >= 1 or "auto" (got 0)`,
    `${config}: runners[0].scheduling.batching.maxBatchRows: must be an integer >= 1 (got 0)`,
  ]);
});

test('serve refuses an unknown --log-level with exit 2 instead of logging at no known level', async (t) => {
  const result = await serveUntilExit(IRIS, ['--log-level', 'verbose']);
  t.false(result.listened, result.stderr);
  t.is(result.code, 2, result.stderr);
  t.true(result.stderr.startsWith('flight-runner serve: --log-level must be one of debug, info, warn, error, got "verbose"\n'), result.stderr);
});
