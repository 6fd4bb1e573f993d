/**
 * `npx tsx bench/oip/codec-ab.ts --base DIR`: the V2 gRPC codec steps of a one-row
 * ModelInfer, in process, for this tree against another checkout (DIR, e.g.
 * `git archive <rev> | tar -x -C DIR` with node_modules linked): the request decoded
 * (protobuf), made a protocol-neutral request, its tensor made the Arrow batch of
 * mlp_small's signature (x float32 [32]), an answer batch (y float32 [8]) made V2 outputs
 * and the answer encoded. No transport, no runner: what src/oip adds around a call. The
 * two trees alternate round by round, so outside load falls on both alike; CPU time
 * (process.cpuUsage) per request, medians of the rounds.
 *
 * Flags: --base DIR (required), --calls N per round (20000), --rounds N (8).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { base: { type: 'string' }, calls: { type: 'string', default: '20000' }, rounds: { type: 'string', default: '8' } } });
if (!values.base) throw new Error('give --base DIR: another checkout of the project to compare with');
const trees = { base: resolve(values.base), this: resolve(import.meta.dirname, '../..') };
const calls = Number(values.calls);
const rounds = Number(values.rounds);

/** One tree's codec steps for one request, as a function. */
async function setup(root: string): Promise<() => void> {
  const { messages } = await import(`${root}/src/oip/messages.ts`);
  const { decode, inferRequest, rawOutput } = await import(`${root}/src/oip/grpc-service.ts`);
  const { requestBatch, responseOutputs } = await import(`${root}/src/oip/tensors.ts`);
  const { types } = await import(`${root}/src/codecs/payload.ts`);
  const sig = { name: 'predict', batchable: true, inputs: [{ name: 'x', type: types.tensor('float32', [32]) }], outputs: [{ name: 'y', type: types.tensor('float32', [8]) }] };
  // The answer batch, made with the same tree's codec from a one-row y.
  const answerSig = { name: 'answer', batchable: true, inputs: [{ name: 'y', type: types.tensor('float32', [8]) }], outputs: [] };
  const answer = requestBatch('m', answerSig, [{ name: 'y', datatype: 'FP32', shape: [1, 8], data: { raw: new Uint8Array(new Float32Array(8).fill(1).buffer) } }]);
  const request = Buffer.from(messages.ModelInferRequest.encode({
    model_name: 'mlp_small', model_version: '', id: '', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 32] }], outputs: [],
    raw_input_contents: [new Uint8Array(new Float32Array(32).fill(0.5).buffer)],
  }));
  return () => {
    const req = inferRequest(decode(messages.ModelInferRequest, request, '/inference.GRPCInferenceService/ModelInfer'));
    if (requestBatch(req.model, sig, req.inputs).numRows !== 1) throw new Error('expected a one-row batch');
    const outputs = responseOutputs(req.model, answer, req.outputs) as { name: string; datatype: string; shape: number[] }[];
    const bytes = messages.ModelInferResponse.encode({
      model_name: req.model, model_version: '', id: req.id,
      outputs: outputs.map((o) => ({ name: o.name, datatype: o.datatype, shape: o.shape })), raw_output_contents: outputs.map(rawOutput),
    });
    if (!bytes.length) throw new Error('empty answer');
  };
}

const runs = { base: await setup(trees.base), this: await setup(trees.this) };
const results: Record<string, number[]> = { base: [], this: [] };
for (let round = 0; round < rounds; round++) {
  for (const [name, once] of Object.entries(runs)) {
    for (let i = 0; i < calls / 10; i++) once();
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) once();
    const used = process.cpuUsage(before);
    results[name]!.push((used.user + used.system) / calls);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const [name, us] of Object.entries(results)) {
  process.stdout.write(`${name.padEnd(5)} ${median(us).toFixed(2)} us CPU per one-row request (rounds: ${us.map((u) => u.toFixed(1)).join(' ')})\n`);
}
