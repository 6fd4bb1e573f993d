import test from 'ava';
import { connect } from '../../src/client/index.js';
import { runCli, startExampleServer, type ServerProcess } from './cli-process.js';

let server: ServerProcess;

test.before(async () => {
  server = await startExampleServer();
});

test.after.always(async () => {
  await server?.stop();
});

test('list prints every runner and method, marks defaults and shows payload types', async (t) => {
  const [result, client] = await Promise.all([runCli(['list', server.uri]), connect(server.uri)]);
  try {
    t.is(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n');
    t.regex(lines[0]!, /^RUNNER\s+METHOD\s+BATCHABLE\s+INPUTS\s+OUTPUTS$/);
    const rows = lines.slice(1, -1).map((l) => l.split(/\s{2,}/));
    const expected = client.runners.flatMap((r) => client.runner(r).methods.map((m) => `${r}/${m}`));
    t.deepEqual(rows.map(([runner, method]) => `${runner}/${method!.replace(/\*$/, '')}`), expected);
    t.true(expected.includes('iris/predict_proba') && expected.includes('text_tools/concat'));

    const row = (runner: string, method: string) => rows.find((r) => r[0] === runner && r[1]!.replace(/\*$/, '') === method)!;
    t.deepEqual(row('iris', 'predict'), ['iris', 'predict*', 'yes', 'features: tensor<float32>[4]', 'label: tensor<int64>[]']);
    t.is(row('iris', 'predict_proba')[1], 'predict_proba');
    t.is(row('iris', 'predict_proba')[4], 'probabilities: tensor<float32>[3]');
    t.is(row('loan_scorer', 'score')[3], 'applicants: table{income: float64, debt: float64, age: int64}');
    t.is(row('loan_scorer', 'score')[4], 'score: scalar<float64>, approved: scalar<bool>');
    t.is(row('text_tools', 'concat')[2], 'no');
    t.is(lines.at(-1), '* default method');
  } finally {
    client.close();
  }
});

test('list --json prints the signatures as the server sends them', async (t) => {
  const result = await runCli(['list', server.uri, '--json']);
  t.is(result.code, 0, result.stderr);
  const signatures = JSON.parse(result.stdout) as { runner: string; method: string; default: boolean; inputs: { name: string }[] }[];
  t.is(signatures.length, 8);
  const iris = signatures.find((s) => s.runner === 'iris' && s.method === 'predict')!;
  t.true(iris.default);
  t.deepEqual(iris.inputs.map((i) => i.name), ['features']);
});

test('list --help exits 0 with usage; a missing uri is a usage error (exit 2)', async (t) => {
  const [help, missing] = await Promise.all([runCli(['list', '--help']), runCli(['list'])]);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: flight-runner list <uri>/);
  t.regex(help.stdout, /--json/);
  t.regex(help.stdout, /Examples:/);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /Usage: flight-runner list/);
});
