/**
 * Calling runners from TypeScript with the SDK: one example, a batch, another method,
 * a tensor model, a DataFrame runner. Run against `npm start`:
 *
 *   npx tsx examples/ts/client.ts [grpc://127.0.0.1:8815]
 */
import * as dfd from 'danfojs';
import { connect, Tensor } from 'flight-runner';

const uri = process.argv[2] ?? process.env['FLIGHT_RUNNER_URI'] ?? 'grpc://127.0.0.1:8815';
const client = await connect(uri);
console.log('runners:', client.runners.join(', '));

const iris = client.runner('iris');
console.log('iris signature:', JSON.stringify(iris.signature.inputs), '->', JSON.stringify(iris.signature.outputs));

// One example in, one label out.
const label = await iris.run([5.1, 3.5, 1.4, 0.2]);
console.log('one flower ->', label);

// A batch in, a batch out; another method of the same runner.
const flowers = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.5, 1.4], [7.2, 3.2, 6.0, 2.2]];
console.log('labels ->', Array.from((await iris.run(flowers)) as Tensor, Number));
const probabilities = (await iris.method('predict_proba').run(flowers)) as Tensor;
console.log('probabilities ->', probabilities.toArray());

// A tensor model with two outputs: an object keyed by output name.
const images = new Tensor('float32', new Float32Array(2 * 3 * 8 * 8).map((_, i) => (i % 7) / 7), [2, 3, 8, 8]);
const { embedding, feature_map: featureMap } = (await client.runner('tensor_model').run(images)) as Record<string, Tensor>;
console.log('embedding', embedding!.shape, 'feature_map', featureMap!.shape);

// A JS runner that takes a DataFrame, with a call-level parameter on another.
const applicants = new dfd.DataFrame({ income: [52_000, 18_000], debt: [4_000, 15_000], age: [34, 58] });
const scored = (await client.runner('loan_scorer').run(applicants)) as { score: Float64Array; approved: boolean[] };
console.log('loan scores ->', Array.from(scored.score, (s) => s.toFixed(3)), 'approved ->', scored.approved);
console.log('text stats ->', await client.runner('text_tools').withParams({ lowercase: true }).run('The cat and THE hat'));

client.close();
