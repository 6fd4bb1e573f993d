/**
 * The SDK way to score a file, for the scoring benchmark: read the file's batches, make
 * the `features` tensor of each from features_0..features_3, stream them through
 * iris/predict_proba in one call with `keep: ['id']`, and write the answers (id first) to
 * an Arrow IPC file. Prints one JSON line like python_score.py.
 *
 *   npx tsx bench/scoring/sdk_score.ts URI INPUT OUTPUT
 *
 * Reading uses src/io (the readers `flight-runner call` uses): the SDK itself takes
 * values and Arrow data, not files.
 */
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RecordBatchFileWriter, type RecordBatch } from 'apache-arrow';
import { connect, Tensor } from '../../src/index.js';
import { openInput } from '../../src/io/input-source.js';

const [uri, input, output] = process.argv.slice(2) as [string, string, string];
const BATCH_ROWS = 65_536;

const client = await connect(uri);
const iris = client.runner('iris').method('predict_proba');
const source = await openInput(input);
// Timed from here, as `flight-runner call` times its stream (after connecting and the
// reader's first pass over the file).
const started = performance.now();

/** One argument object per file batch: the features tensor, and the id to keep. */
async function* args(): AsyncIterable<unknown> {
  for await (const batch of source.batches(BATCH_ROWS)) {
    const n = batch.numRows;
    const features = new Float32Array(n * 4);
    for (let j = 0; j < 4; j++) {
      const column = batch.getChild(`features_${j}`)!.toArray() as Float64Array;
      for (let i = 0; i < n; i++) features[i * 4 + j] = column[i]!;
    }
    yield { id: batch.getChild('id')!.toArray(), features: new Tensor('float32', features, [n, 4]) };
  }
}

const writer = new RecordBatchFileWriter();
const written = pipeline(Readable.from(writer as AsyncIterable<Uint8Array>), createWriteStream(output));
let rows = 0;
let ids = 0n;
let p0 = 0;
let joined = 0;
for await (const out of iris.stream(args(), { keep: ['id'], arrow: true })) {
  const batch = out as RecordBatch;
  writer.write(batch);
  rows += batch.numRows;
  const idColumn = batch.getChild('id')!.toArray() as BigInt64Array;
  const probabilities = batch.getChild('probabilities')!.data[0]!.children[0]!.values as Float32Array;
  for (let i = 0; i < batch.numRows; i++) {
    ids += idColumn[i]!;
    p0 += probabilities[i * 3]!;
    joined += Number(idColumn[i]! % 1009n) * probabilities[i * 3]!;
  }
}
writer.finish();
await written;
client.close();
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ rows, seconds, checksum: { ids: Number(ids), p0, joined } }));
