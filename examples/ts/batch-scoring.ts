/**
 * Batch scoring: streams a large generated DataFrame (an Arrow table of loan applicants)
 * through the `loan_scorer` runner in one DoExchange, in batches, with progress. Memory
 * stays bounded: batches are generated as they are sent and results are folded as they
 * arrive. Run against `npm start`:
 *
 *   npx tsx examples/ts/batch-scoring.ts [grpc://127.0.0.1:8815] [rows]
 */
import { Float64, Int64, RecordBatch, Schema, Field, makeData, Struct, vectorFromArray } from 'apache-arrow';
import { connect } from 'flight-runner';

const uri = process.argv[2] ?? process.env['FLIGHT_RUNNER_URI'] ?? 'grpc://127.0.0.1:8815';
const totalRows = Number(process.argv[3] ?? 1_000_000);
const batchRows = 50_000;

const schema = new Schema([new Field('income', new Float64()), new Field('debt', new Float64()), new Field('age', new Int64())]);

/** Deterministic applicants: row i always has the same values. */
function* applicants(): Iterable<RecordBatch> {
  for (let start = 0; start < totalRows; start += batchRows) {
    const n = Math.min(batchRows, totalRows - start);
    const income = new Float64Array(n);
    const debt = new Float64Array(n);
    const age = new BigInt64Array(n);
    for (let i = 0; i < n; i++) {
      const r = start + i;
      income[i] = 15_000 + ((r * 7919) % 90_000);
      debt[i] = (r * 104_729) % 30_000;
      age[i] = BigInt(18 + (r % 60));
    }
    const columns = [vectorFromArray(income), vectorFromArray(debt), vectorFromArray(Array.from(age), new Int64())];
    yield new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children: columns.map((c) => c.data[0]!) }));
  }
}

const client = await connect(uri);
const scorer = client.runner('loan_scorer');
const started = performance.now();
let rows = 0;
let approved = 0;
let scoreSum = 0;
for await (const result of scorer.stream(applicants())) {
  const { score, approved: ok } = result as { score: Float64Array; approved: boolean[] };
  rows += score.length;
  for (let i = 0; i < score.length; i++) {
    scoreSum += score[i]!;
    if (ok[i]) approved++;
  }
  const seconds = (performance.now() - started) / 1000;
  process.stderr.write(`\r${rows.toLocaleString()} / ${totalRows.toLocaleString()} rows  ${Math.round(rows / seconds).toLocaleString()} rows/s`);
}
process.stderr.write('\n');
console.log(JSON.stringify({ rows, approved, meanScore: Number((scoreSum / rows).toFixed(6)) }));
client.close();
