/**
 * `flight-runner call --keep`: input columns copied onto the output rows, so results join
 * back by key. Against the example server in a real process; expected values computed
 * here (the loan formula, and iris.onnx through onnxruntime-node directly).
 */
import test from 'ava';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { parquetWriteFile } from 'hyparquet-writer';
import * as ort from 'onnxruntime-node';
import { ROOT } from '../helpers/serve-process.js';
import { runCli, startExampleServer, type ServerProcess } from './cli-process.js';

let server: ServerProcess;
const dir = mkdtempSync(join(tmpdir(), 'flight-runner-keep-'));

test.before(async () => {
  server = await startExampleServer();
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Applicant i, with an id that is not the row number (ids shuffled by a stride). */
function applicant(i: number): { id: string; income: number; debt: number; age: number } {
  return { id: `c-${(i * 7919) % 100_003}`, income: 18_000 + ((i * 37) % 150_000), debt: ((i * 13) % 50_000) + 0.25, age: 18 + (i % 60) };
}

/** examples/runners/loan-scorer.ts's formula, written out again. */
function loanScore(income: number, debt: number, age: number): number {
  const z = 1.5 * Math.log1p(income / 10_000) - 2.5 * (debt / Math.max(income, 1)) + 0.01 * (age - 40) - 2;
  return 1 / (1 + Math.exp(-z));
}

test('call --keep id: a CSV with an id column gives output rows whose id is their input row\'s', async (t) => {
  const rows = 1_000;
  const input = join(dir, 'applicants.csv');
  const lines = ['id,income,debt,age'];
  for (let i = 0; i < rows; i++) {
    const a = applicant(i);
    lines.push(`${a.id},${a.income},${a.debt},${a.age}`);
  }
  writeFileSync(input, `${lines.join('\n')}\n`);
  const output = join(dir, 'scores.csv');
  // Batches of 77 rows: ids must follow their rows across batch boundaries.
  const result = await runCli(['call', server.uri, 'loan_scorer', '--input', input, '--keep', 'id', '--batch-rows', '77', '--output', output]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stderr, /1,000 rows, 13 batches in/);
  const [header, ...out] = readFileSync(output, 'utf8').trim().split('\n');
  t.is(header, 'id,score,approved');
  t.is(out.length, rows);
  let wrong = 0;
  out.forEach((line, i) => {
    const [id, score, approved] = line.split(',');
    const a = applicant(i);
    const want = loanScore(a.income, a.debt, a.age);
    if (id !== a.id || Math.abs(Number(score) - want) > 1e-12 || approved !== String(want >= 0.5)) wrong++;
  });
  t.is(wrong, 0);
  t.true(out.some((l) => l.endsWith(',true')) && out.some((l) => l.endsWith(',false')), 'both outcomes occur');
});

test('call --keep id,region (and repeated --keep) from Parquet and JSON lines: kept columns first, with their types', async (t) => {
  const flowers = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [5.9, 3.0, 4.2, 1.5], [4.9, 3.1, 1.5, 0.1], [6.3, 3.3, 6.0, 2.5]];
  const ids = [101n, 7n, 55n, 3n, 42n];
  const regions = ['n', 's', 'e', 'w', 'n'];
  const session = await ort.InferenceSession.create(join(ROOT, 'examples/models/iris.onnx'));
  const direct = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', Float32Array.from(flowers.flat()), [5, 4]) });
  const labels = Array.from(direct['label']!.data as BigInt64Array, Number);
  t.true(new Set(labels).size > 1);

  const jsonl = join(dir, 'iris.jsonl');
  writeFileSync(jsonl, flowers.map((features, i) => JSON.stringify({ id: Number(ids[i]), region: regions[i], features })).join('\n'));
  const fromJsonl = await runCli(['call', server.uri, 'iris', '--input', jsonl, '--keep', 'id,region', '--batch-rows', '2']);
  t.is(fromJsonl.code, 0, fromJsonl.stderr);
  t.deepEqual(fromJsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as unknown),
    flowers.map((_, i) => ({ id: Number(ids[i]), region: regions[i], label: labels[i] })));

  const parquet = join(dir, 'iris.parquet');
  parquetWriteFile({
    filename: parquet,
    columnData: [
      { name: 'id', data: ids as never, type: 'INT64' },
      { name: 'region', data: regions as never, type: 'STRING' },
      ...[0, 1, 2, 3].map((j) => ({ name: `features_${j}`, data: flowers.map((f) => f[j]!) as never, type: 'DOUBLE' as const })),
    ],
  });
  const out = join(dir, 'labels.parquet');
  const fromParquet = await runCli(['call', server.uri, 'iris', '--input', parquet, '--keep', 'region', '--keep', 'id', '--output', out]);
  t.is(fromParquet.code, 0, fromParquet.stderr);
  const read = await parquetReadObjects({ file: await asyncBufferFromFile(out) });
  t.deepEqual(read, flowers.map((_, i) => ({ region: regions[i], id: ids[i], label: BigInt(labels[i]!) })));
});

test('call --keep mistakes are usage errors naming the fix', async (t) => {
  const csv = join(dir, 'few.csv');
  writeFileSync(csv, 'id,income,debt,age\nx,1000,10,30\n');
  const missing = await runCli(['call', server.uri, 'loan_scorer', '--input', csv, '--keep', 'key']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, new RegExp(`--keep: ${csv.replace(/[.]/g, '\\.')}: the input has no column 'key'; its columns are 'id', 'income', 'debt', 'age'`));

  const clash = await runCli(['call', server.uri, 'loan_scorer', '--input', csv, '--keep', 'score']);
  t.is(clash.code, 2);
  t.regex(clash.stderr, /--keep 'score' for runner 'loan_scorer' method 'score': 'score' is also an output of the method/);

  const texts = join(dir, 'texts.jsonl');
  writeFileSync(texts, '{"id": 1, "text": "a"}\n');
  const nonBatchable = await runCli(['call', server.uri, 'text_tools/concat', '--input', texts, '--keep', 'id']);
  t.is(nonBatchable.code, 2);
  t.regex(nonBatchable.stderr, /the method is not batchable/);

  const named = join(dir, 'named.json');
  writeFileSync(named, JSON.stringify({ features: [5.1, 3.5, 1.4, 0.2] }));
  const oneCall = await runCli(['call', server.uri, 'iris', '--input', named, '--keep', 'id']);
  t.is(oneCall.code, 2);
  t.regex(oneCall.stderr, /--keep needs rows, and .*named\.json holds one object of named arguments/);

  const empty = await runCli(['call', server.uri, 'iris', '--input', csv, '--keep', 'id,']);
  t.is(empty.code, 2);
  t.regex(empty.stderr, /--keep takes column names/);
});
