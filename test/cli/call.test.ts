import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromArrays, tableFromIPC } from 'apache-arrow';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import { connect, type RunnerClient } from '../../src/client/index.js';
import type { Tensor } from '../../src/codecs/tensor.js';
import { venvPython } from '../helpers/python.js';
import { run } from '../helpers/serve-process.js';
import { runCli, startExampleServer, type ServerProcess } from './cli-process.js';

let server: ServerProcess;
let client: RunnerClient;
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-cli-'));

test.before(async () => {
  server = await startExampleServer();
  client = await connect(server.uri);
});

test.after.always(async () => {
  client?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const irisRows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [4.9, 3.1, 1.5, 0.1], [6.3, 3.3, 6.0, 2.5]];

/** One applicant per row; values vary so that scores and approvals differ. */
function applicant(i: number): { income: number; debt: number; age: number } {
  return { income: 20_000 + ((i * 37) % 150_000), debt: ((i * 13) % 50_000) + 0.5, age: 18 + (i % 60) };
}

const jsonLines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

test('iris with a JSON input (and the same rows as CSV columns) gives the labels the SDK gives', async (t) => {
  const json = join(dir, 'iris.json');
  writeFileSync(json, JSON.stringify(irisRows.map((features) => ({ features }))));
  const csv = join(dir, 'iris.csv');
  writeFileSync(csv, `features_0,features_1,features_2,features_3\n${irisRows.map((r) => r.join(',')).join('\n')}\n`);
  const [fromJson, fromCsv] = await Promise.all([
    runCli(['call', server.uri, 'iris', '--input', json]),
    runCli(['call', server.uri, 'iris/predict', '--input', csv]),
  ]);
  const expected = Array.from((await client.runner('iris').run(irisRows) as Tensor).data, Number);
  t.is(fromJson.code, 0, fromJson.stderr);
  t.deepEqual(jsonLines(fromJson.stdout), expected.map((label) => ({ label })));
  t.is(fromCsv.code, 0, fromCsv.stderr);
  t.deepEqual(jsonLines(fromCsv.stdout), expected.map((label) => ({ label })));
  t.regex(fromJson.stderr, /5 rows, 1 batch in [\d.]+ s/);
  t.true(new Set(expected).size > 1, 'the rows cover more than one class');
});

test('predict_proba from a Parquet list column writes CSV tensor columns matching the SDK', async (t) => {
  const input = join(dir, 'iris.parquet');
  // A list<double> column, as pyarrow writes a column of lists.
  parquetWriteFile({
    filename: input,
    columnData: [{ name: 'features', data: irisRows as never }],
    schema: [
      { name: 'root', num_children: 1 },
      { name: 'features', repetition_type: 'OPTIONAL', converted_type: 'LIST', num_children: 1 },
      { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
      { name: 'element', type: 'DOUBLE', repetition_type: 'REQUIRED' },
    ],
  });
  const output = join(dir, 'probs.csv');
  const result = await runCli(['call', server.uri, 'iris/predict_proba', '--input', input, '--output', output]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, '');
  const [header, ...lines] = readFileSync(output, 'utf8').trim().split('\n');
  t.is(header, 'probabilities_0,probabilities_1,probabilities_2');
  const expected = (await client.runner('iris').method('predict_proba').run(irisRows) as Tensor).toArray() as number[][];
  t.is(lines.length, irisRows.length);
  lines.forEach((line, i) => line.split(',').map(Number).forEach((p, j) => t.true(Math.abs(p - expected[i]![j]!) < 1e-6)));
});

test('tensor outputs written to Parquet read back in pyarrow as fixed_shape_tensor with their shape and values', async (t) => {
  const input = join(dir, 'iris-rows.json');
  writeFileSync(input, JSON.stringify(irisRows.map((features) => ({ features }))));
  const output = join(dir, 'probs.parquet');
  const result = await runCli(['call', server.uri, 'iris/predict_proba', '--input', input, '--output', output]);
  t.is(result.code, 0, result.stderr);
  const read = await run(venvPython(), ['-c', [
    'import json, sys, pyarrow.parquet as pq',
    'column = pq.read_table(sys.argv[1]).column("probabilities")',
    'print(json.dumps({"type": str(column.type), "shape": list(column.type.shape), "values": column.combine_chunks().to_numpy_ndarray().tolist()}))',
  ].join('\n'), output]);
  t.is(read.code, 0, read.stderr);
  const got = JSON.parse(read.stdout) as { type: string; shape: number[]; values: number[][] };
  t.regex(got.type, /^extension<arrow\.fixed_shape_tensor\[value_type=float, shape=\[3\]/);
  t.deepEqual(got.shape, [3]);
  const expected = (await client.runner('iris').method('predict_proba').run(irisRows) as Tensor).toArray() as number[][];
  t.is(got.values.length, irisRows.length);
  got.values.forEach((row, i) => row.forEach((p, j) => t.true(Math.abs(p - expected[i]![j]!) < 1e-6)));
});

test('loan_scorer streams a 200,000-row CSV to .arrow and .parquet, in order, as the SDK scores it', async (t) => {
  const rows = 200_000;
  const csv = join(dir, 'applicants.csv');
  const lines = ['income,debt,age'];
  for (let i = 0; i < rows; i++) {
    const a = applicant(i);
    lines.push(`${a.income},${a.debt},${a.age}`);
  }
  writeFileSync(csv, `${lines.join('\n')}\n`);
  const arrowOut = join(dir, 'scores.arrow');
  const parquetOut = join(dir, 'scores.parquet');
  const [arrow, parquet] = await Promise.all([
    runCli(['call', server.uri, 'loan_scorer', '--input', csv, '--output', arrowOut]),
    runCli(['call', server.uri, 'loan_scorer/score', '--input', csv, '--output', parquetOut, '--batch-rows', '30000']),
  ]);
  t.is(arrow.code, 0, arrow.stderr);
  t.is(parquet.code, 0, parquet.stderr);
  t.is(arrow.stdout, '');
  t.regex(arrow.stderr, /200,000 rows, 4 batches in [\d.]+ s/);
  t.regex(parquet.stderr, /200,000 rows, 7 batches in [\d.]+ s/);

  // Rows on both sides of batch boundaries (65,536 and 30,000), and the ends.
  const picks = [0, 1, 29_999, 30_000, 65_535, 65_536, 123_457, 199_998, 199_999];
  const sample = tableFromArrays({
    income: Float64Array.from(picks, (i) => applicant(i).income),
    debt: Float64Array.from(picks, (i) => applicant(i).debt),
    age: BigInt64Array.from(picks, (i) => BigInt(applicant(i).age)),
  });
  const expected = await client.runner('loan_scorer').run(sample) as { score: Float64Array; approved: boolean[] };
  t.true(new Set(expected.approved).size === 2 || new Set(Array.from(expected.score).map((s) => s.toFixed(3))).size > 3);

  const table = tableFromIPC(readFileSync(arrowOut));
  t.is(table.numRows, rows);
  t.deepEqual(table.schema.fields.map((f) => f.name), ['score', 'approved']);
  const score = table.getChild('score')!;
  const approved = table.getChild('approved')!;
  picks.forEach((row, k) => {
    t.is(score.get(row), expected.score[k]);
    t.is(approved.get(row), expected.approved[k]);
  });

  const fromParquet = await parquetReadObjects({ file: await asyncBufferFromFile(parquetOut) });
  t.is(fromParquet.length, rows);
  picks.forEach((row, k) => t.deepEqual(fromParquet[row], { score: expected.score[k], approved: expected.approved[k] }));
});

test('--progress draws a bar on stderr and leaves stdout to the results', async (t) => {
  const rows = 20_000;
  const input = join(dir, 'progress.jsonl');
  writeFileSync(input, `${Array.from({ length: rows }, (_, i) => JSON.stringify(applicant(i))).join('\n')}\n`);
  const result = await runCli(['call', server.uri, 'loan_scorer', '--input', input, '--batch-rows', '2000', '--progress']);
  t.is(result.code, 0, result.stderr);
  const out = jsonLines(result.stdout);
  t.is(out.length, rows);
  t.true(out.every((r) => Object.keys(r).join() === 'score,approved' && typeof r['score'] === 'number'));
  t.regex(result.stderr, /\[#{24}\] 100% {2}20,000\/20,000 rows {2}[\d,]+ rows\/s {2}ETA 0s/);
  t.regex(result.stderr, /20,000 rows, 10 batches in [\d.]+ s/);
  t.notRegex(result.stdout, /rows\/s/);
});

test('call parameters reach the runner (--params)', async (t) => {
  const input = join(dir, 'texts.jsonl');
  writeFileSync(input, '{"text": "alpha"}\n{"text": "beta"}\n{"text": "gamma"}\n');
  const result = await runCli(['call', server.uri, 'text_tools/concat', '--input', input, '--params', '{"separator": " | "}']);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(jsonLines(result.stdout), [{ joined: 'alpha | beta | gamma' }]);
});

test('server errors exit 1 naming the gRPC status; usage errors exit 2', async (t) => {
  const input = join(dir, 'one.json');
  writeFileSync(input, JSON.stringify({ features: irisRows[0] }));
  const [badRunner, badMethod, badColumns, noInput, badBatch] = await Promise.all([
    runCli(['call', server.uri, 'no_such_runner', '--input', input]),
    runCli(['call', server.uri, 'iris/no_such_method', '--input', input]),
    runCli(['call', server.uri, 'text_tools', '--input', input]),
    runCli(['call', server.uri, 'iris']),
    runCli(['call', server.uri, 'iris', '--input', input, '--batch-rows', '0']),
  ]);
  t.is(badRunner.code, 1);
  t.regex(badRunner.stderr, /NOT_FOUND: unknown runner 'no_such_runner'; runners: 'iris'/);
  t.is(badRunner.stdout, '');
  t.is(badMethod.code, 1);
  t.regex(badMethod.stderr, /NOT_FOUND: runner 'iris' has no method 'no_such_method'/);
  t.is(badColumns.code, 1);
  t.regex(badColumns.stderr, /INVALID_ARGUMENT/);
  t.is(noInput.code, 2);
  t.regex(noInput.stderr, /--input FILE is required/);
  t.is(badBatch.code, 2);
  t.regex(badBatch.stderr, /--batch-rows must be a positive integer/);
});

test('call --help and the top-level help exit 0 and show usage', async (t) => {
  const [call, top] = await Promise.all([runCli(['call', '--help']), runCli(['--help'])]);
  t.is(call.code, 0);
  t.regex(call.stdout, /^Usage: flight-runner call <uri> <runner>\[\/<method>\] --input FILE/);
  t.regex(call.stdout, /features_0,features_1,features_2,features_3/);
  t.regex(call.stdout, /Examples:/);
  t.is(top.code, 0);
  t.regex(top.stdout, /\n {2}list {2,}/);
  t.regex(top.stdout, /\n {2}call {2,}/);
});
