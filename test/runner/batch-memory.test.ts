/**
 * Batch scoring keeps memory bounded: 10 million rows of four float64 columns (320 MB of
 * input) stream through a remote JS runner in 100,000-row batches. The rows are
 * generated lazily as the stream pulls them and every result is checked and dropped, so
 * what this process holds (client and server both live here) must stay far below the
 * input's size. Bytes are counted; time is not.
 */
import test from 'ava';
import { Field, Float64, RecordBatch, Schema, Struct, makeData } from 'apache-arrow';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { connect, loadJsRunner, startRunnerServer } from '../../src/index.js';
import { bulkRunner, bulkScore } from '../helpers/runners.js';

const TOTAL_ROWS = 10_000_000;
const BATCH_ROWS = 100_000;
const INPUT_BYTES = TOTAL_ROWS * 4 * 8;
const MB = 1024 * 1024;
/**
 * Allowed growth of live memory over the baseline: a third of the input. What is in
 * flight is bounded by flow control (HTTP/2 windows, stream buffers of a few messages,
 * the server's pipeline of 4 batches), some tens of MB whatever the row count; holding
 * the whole input or output would exceed it.
 */
const BOUND_BYTES = INPUT_BYTES / 3;

// A full collection before each sample, so samples measure what is live, not garbage
// V8 has not got round to (which depends on timing).
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const live = () => {
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
};

/** Row r's inputs: deterministic, so the expected output of any row is known. */
const inputs = (r: number) => [(r % 1000) * 0.5, (r % 997) * 0.25, (r % 113) - 56, r * 1e-6] as const;

const schema = new Schema(['a', 'b', 'c', 'd'].map((name) => new Field(name, new Float64(), false)));

/** The input table, one batch at a time, made only when the stream asks for it. */
async function* generate(): AsyncIterable<RecordBatch> {
  for (let start = 0; start < TOTAL_ROWS; start += BATCH_ROWS) {
    const n = Math.min(BATCH_ROWS, TOTAL_ROWS - start);
    const columns = [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)];
    for (let i = 0; i < n; i++) {
      const row = inputs(start + i);
      for (let c = 0; c < 4; c++) columns[c]![i] = row[c]!;
    }
    const children = columns.map((values) => makeData({ type: new Float64(), length: n, nullCount: 0, data: values }));
    yield new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: n, nullCount: 0, children }));
  }
}

test('10 million rows stream through a remote runner in order, with memory bounded', async (t) => {
  const server = await startRunnerServer({ runners: [await loadJsRunner(bulkRunner)] });
  const client = await connect(server.location);
  try {
    const scorer = client.runner('bulk');
    // Warm up (first-call allocations, code caches) before taking the baseline.
    t.deepEqual(Array.from(await scorer.run({ a: [1], b: [1], c: [1], d: [1] }) as Float64Array), [10]);
    const baseline = live();

    let rows = 0;
    let batches = 0;
    let wrongRows = 0;
    let wrongSizes = 0;
    let peakHeap = 0;
    let peakRss = 0;
    for await (const result of scorer.stream(generate())) {
      const y = result as Float64Array;
      if (y.length !== BATCH_ROWS) wrongSizes++;
      // Row order: each output must be the score of the input row at that position.
      for (let i = 0; i < y.length; i++) {
        const [a, b, c, d] = inputs(rows + i);
        if (y[i] !== bulkScore(a, b, c, d)) wrongRows++;
      }
      rows += y.length;
      batches++;
      if (batches % 2 === 0) {
        const now = live();
        peakHeap = Math.max(peakHeap, now.heap - baseline.heap);
        peakRss = Math.max(peakRss, now.rss - baseline.rss);
      }
    }

    t.is(rows, TOTAL_ROWS);
    t.is(batches, TOTAL_ROWS / BATCH_ROWS);
    t.is(wrongSizes, 0);
    t.is(wrongRows, 0);
    t.log(`input ${INPUT_BYTES / MB} MB; live heap+arrayBuffers growth peak ${(peakHeap / MB).toFixed(1)} MB, rss growth peak ${(peakRss / MB).toFixed(1)} MB`);
    t.true(peakHeap < BOUND_BYTES, `heapUsed+arrayBuffers grew ${(peakHeap / MB).toFixed(1)} MB, bound ${(BOUND_BYTES / MB).toFixed(1)} MB`);
    // rss also counts pages the allocator keeps after frees, so it is only held below the input's size.
    t.true(peakRss < INPUT_BYTES, `rss grew ${(peakRss / MB).toFixed(1)} MB, bound ${(INPUT_BYTES / MB).toFixed(1)} MB`);
  } finally {
    client.close();
    await server.close(1000);
  }
});
