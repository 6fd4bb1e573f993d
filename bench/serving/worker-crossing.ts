/**
 * `npx tsx bench/serving/worker-crossing.ts [--baseline DIR]`: the codec work of calls to a
 * worker-isolated JS runner, without threads or network, so that it can be compared
 * between two checkouts on a busy machine (call-overhead.ts's (w) server measures the
 * whole call, but its noise is larger than this work). Per request, in one thread: the
 * request decoded off the wire and conformed; the batch sent to the instance
 * (batchToBytes), read there, run (an echo JS runner), the answer encoded as the instance
 * does (instance-host.ts's encodeAnswer, or batchToBytes before it) and read back; the
 * answer checked and encoded for the wire. With `--rows-per-batch N` (default 1, 64)
 * N such requests are merged into one backend call and the answer is sliced back, as the
 * batcher does under load.
 *
 * CPU time per request (process.cpuUsage), medians of rounds; with --baseline DIR (a
 * checkout, e.g. `git archive BASE | tar -x -C DIR` plus a node_modules symlink) each
 * repetition runs this checkout and the baseline in turn, in fresh processes.
 *
 * Flags: --reps N (5), --requests N (30000 per round), --rows-per-batch 1,64, --baseline DIR.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median, root } from './harness.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    requests: { type: 'string', default: '30000' },
    'rows-per-batch': { type: 'string', default: '1,64' },
    baseline: { type: 'string' },
    // Internal: measure in this process, for this checkout and batch size.
    measure: { type: 'string' },
    n: { type: 'string' },
  },
});

if (values.measure) {
  process.stdout.write(`${await measureCheckout(values.measure, Number(values.n), Number(values.requests))}\n`);
} else {
  const checkouts = [['this', root], ...(values.baseline ? [['baseline', resolve(values.baseline)]] : [])] as const;
  const sizes = values['rows-per-batch'].split(',').map(Number);
  const results = new Map<string, number[]>();
  for (let rep = 0; rep < Number(values.reps); rep++) {
    for (const n of sizes) {
      for (const [name, dir] of rep % 2 ? [...checkouts].reverse() : checkouts) {
        const run = spawnSync(process.execPath, ['--import', 'tsx', import.meta.filename, '--measure', dir, '--n', String(n), '--requests', values.requests],
          { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
        if (run.status !== 0) throw new Error(`measuring ${dir} failed`);
        const us = Number(run.stdout.trim());
        process.stderr.write(`rep ${rep + 1} rows/batch ${n} ${name}: ${us.toFixed(2)} cpu us/request\n`);
        results.set(`${name}:${n}`, [...(results.get(`${name}:${n}`) ?? []), us]);
      }
    }
  }
  const lines = ['codec work of a call to a worker-isolated JS echo runner, cpu us per request (one thread, medians)', ''];
  for (const n of sizes) {
    const ours = results.get(`this:${n}`)!;
    const base = results.get(`baseline:${n}`);
    lines.push(`rows/batch ${String(n).padStart(3)}: this ${median(ours).toFixed(2)}`
      + (base ? `, baseline ${median(base).toFixed(2)}, this/baseline (median of per-repetition ratios) ${median(ours.map((v, i) => v / base[i]!)).toFixed(2)}` : ''));
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** CPU us per request of the path above in checkout `dir`, `n` requests per backend call. */
async function measureCheckout(dir: string, n: number, requests: number): Promise<number> {
  const load = (path: string) => import(resolve(dir, 'src', path));
  const { batchFromColumns } = await load('codecs/batch.ts');
  const { concatBatches } = await load('codecs/concat.ts');
  const { Tensor, fixedShapeColumn } = await load('codecs/tensor.ts');
  const { fieldFor, types } = await load('codecs/payload.ts');
  const { batchFromBytes, batchToBytes } = await load('scheduling/batch-transfer.ts');
  // How the instance encodes its answer: instance-host's encodeAnswer where the checkout has it.
  const host = await load('scheduling/instance-host.ts');
  const encodeAnswer = host.encodeAnswer ?? ((_sig: unknown, batch: unknown) => batchToBytes(batch));
  const { FlightDataEncoder } = await load('flight/encode.ts');
  const { FlightDataDecoder } = await load('flight/decode.ts');
  const { sliceBatch } = await load('flight/record-batch.ts');
  const { encodeFlightData, encodeFlightDataFrame, deserializeFlightData } = await load('flight/flight-data.ts');
  const { planConform } = await load('runner/conform.ts');
  const { loadJsRunner } = await load('backends/js/index.ts');
  const { invokeChecked } = await load('runner/call.ts');
  const { outputSchema } = await load('runner/signature.ts');

  // What the Go loadgen sends: x, a float32 [32] fixed_shape_tensor, one row.
  const x = types.tensor('float32', [32]);
  const runner = await loadJsRunner({ name: 'echo', methods: { echo: { inputs: { x }, outputs: { y: x }, run: ({ x }: { x: unknown }) => x } } });
  const method = runner.methods[0];
  const sig = method.signature;
  const column = fixedShapeColumn(new Tensor('float32', new Float32Array(32).map((_, i) => Math.sin(i)), [1, 32]));
  const request = batchFromColumns([fieldFor('x', x)], [column], 1);
  const encoder = new FlightDataEncoder();
  const wire = [encoder.encodeSchema(request.schema), ...encoder.encodeBatch(request)].map(encodeFlightData);

  const receive = () => {
    const decoder = new FlightDataDecoder();
    let batch: unknown;
    // Each request owns its receive buffer, as off the wire.
    for (const bytes of wire) {
      const message = decoder.decode(deserializeFlightData(Buffer.from(bytes as Uint8Array)));
      if (message.kind === 'batch') batch = message.batch;
    }
    return planConform('echo', sig, decoder.schema)(batch);
  };
  let written = 0;
  const round = async () => {
    const inputs = Array.from({ length: n }, receive);
    const toInstance = batchToBytes(concatBatches(inputs));
    const answer = encodeAnswer(sig, await method.invoke(batchFromBytes(toInstance), {}, {}));
    const back = batchFromBytes(answer);
    for (let i = 0; i < n; i++) {
      const piece = n === 1 ? back : sliceBatch(back, i, i + 1);
      const checked = await invokeChecked('echo', method, async () => piece, inputs[i], {}, {});
      const out = new FlightDataEncoder();
      written += encodeFlightDataFrame(out.encodeSchema(outputSchema(sig))).length;
      for (const data of out.encodeBatch(checked)) written += encodeFlightDataFrame(data).length;
    }
  };
  const calls = Math.max(1, Math.ceil(requests / n));
  for (let i = 0; i < calls; i++) await round(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) await round();
    const used = process.cpuUsage(before);
    rounds.push((used.user + used.system) / (calls * n));
  }
  if (!written) throw new Error('nothing was encoded');
  return median(rounds);
}
