/**
 * An empty CSV cell is a missing value (issue #10, item 3): `flight-runner call` sends it
 * as a null, and loan_scorer (whose columns are not nullable) answers INVALID_ARGUMENT
 * naming the column and the row instead of scoring a debt of 0. A real server process.
 */
import test from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlightClient } from '../../src/flight/index.js';
import { runCli } from '../cli/cli-process.js';
import { startServerProcess, type ServerProcess } from '../helpers/serve-process.js';

let server: ServerProcess;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flight-runner-csv-nulls-'));
  server = await startServerProcess(['serve', 'examples/runners/loan-scorer.ts', '--port', '0']);
  const client = await FlightClient.connect(server.uri);
  try {
    for (;;) {
      let health: { ready?: boolean } = {};
      for await (const r of client.doAction('health')) health = JSON.parse(new TextDecoder().decode(r)) as typeof health;
      if (health.ready) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
});

test.after.always(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('an empty debt cell is INVALID_ARGUMENT naming the column and row, not the score for a debt of 0', async (t) => {
  const csv = join(dir, 'applicants.csv');
  writeFileSync(csv, 'income,debt,age\n85000,5000,35\n20000,,52\n52000,12000,61\n');
  const result = await runCli(['call', server.uri, 'loan_scorer', '--input', csv]);
  t.is(result.code, 1, result.stdout);
  t.regex(result.stderr, /INVALID_ARGUMENT: runner 'loan_scorer' method 'score': column 'debt' has 1 null row\(s\), the first at row 1 of the batch; float64 table column 'debt' cannot be null/);

  // The same file with the cell filled scores every row.
  const filled = join(dir, 'filled.csv');
  writeFileSync(filled, 'income,debt,age\n85000,5000,35\n20000,0,52\n52000,12000,61\n');
  const out = join(dir, 'scores.json');
  const ok = await runCli(['call', server.uri, 'loan_scorer', '--input', filled, '--output', out]);
  t.is(ok.code, 0, ok.stderr);
});
