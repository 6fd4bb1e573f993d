/**
 * What SDK users get back and may pass in, the same in process (local()) and through a
 * real server on loopback (connect()): sdk-local.test.ts and sdk-remote.test.ts register
 * this suite. Expected values are computed here (sdk-runners.ts expectedScore, literal
 * numbers), not by the SDK.
 */
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { tableFromArrays, type RecordBatch } from 'apache-arrow';
import * as dfd from 'danfojs';
import { Tensor, type RunnerClient } from '../../src/index.js';
import { cellName, reachRunners, type Scheduling, type Where } from '../helpers/contract-matrix.js';
import { HUGE_LABEL, expectedScore } from './sdk-runners.js';

/** Two clients of the same runners: default options, and `{ int64: 'bigint' }`. */
export interface SdkClients {
  client: RunnerClient;
  bigint: RunnerClient;
  close(): Promise<void>;
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Applicant i: values that differ per row, ages whole. */
function applicant(i: number): { id: string; income: number; debt: number; age: number } {
  return { id: `a-${i}`, income: 30_000 + i * 1_250.5, debt: (i * 977) % 9_000, age: 20 + (i % 45) };
}

const scoreOf = (i: number) => {
  const a = applicant(i);
  return expectedScore(a.income, a.debt, a.age);
};

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * Registers the SDK contract for one cell of the matrix (contract-matrix.ts): the SDK
 * runner in process or behind a server, unscheduled, scheduled in process, or in worker threads.
 */
export function sdkContractIn(where: Where, scheduling: Scheduling): void {
  sdkContract(cellName(where, scheduling), async () => {
    const runners = await reachRunners(fileURLToPath(new URL('./sdk-runners.ts', import.meta.url)), where, scheduling);
    return { client: await runners.client(), bigint: await runners.client({ int64: 'bigint' }), close: runners.close };
  });
}

export function sdkContract(name: string, make: () => Promise<SdkClients>): void {
  let env: SdkClients | undefined;
  const client = () => env!.client;
  const title = (what: string) => `${name}: ${what}`;

  test.before(async () => {
    env = await make();
  });
  test.after.always(async () => {
    await env?.close();
  });

  // ---- values ------------------------------------------------------------------------

  test(title('int64 outputs are numbers when every value is a safe integer, so JSON.stringify works'), async (t) => {
    const sdk = client().runner('sdk');
    const one = await sdk.run([3, 0]) as { label: number; pair: Tensor };
    t.is(one.label, 3);
    t.is(JSON.stringify(one), '{"label":3,"pair":{"dtype":"float64","data":{"0":3,"1":-3},"shape":[2]}}');
    t.is(one.pair.dtype, 'float64');
    t.deepEqual(one.pair.toArray(), [3, -3]);

    const batch = await sdk.run([[1, 0], [2, 0], [0, 0]]) as { label: Float64Array; pair: Tensor };
    t.true(batch.label instanceof Float64Array);
    t.deepEqual(Array.from(batch.label), [1, 2, 0]);
    t.deepEqual(batch.pair.toArray(), [[1, -1], [2, -2], [0, 0]]);
  });

  test(title('an int64 column with a value past 2^53 stays bigint, exact'), async (t) => {
    const huge = await client().runner('sdk').run([[1, 0], [-1, 0]]) as { label: BigInt64Array; pair: Tensor };
    t.true(huge.label instanceof BigInt64Array);
    t.deepEqual(Array.from(huge.label), [1n, HUGE_LABEL]);
    t.is(huge.pair.dtype, 'int64');
    t.deepEqual(huge.pair.toArray(), [[1n, -1n], [HUGE_LABEL, -HUGE_LABEL]]);
    t.is(await client().runner('sdk').run([-1, 0]).then((r) => (r as { label: bigint }).label), HUGE_LABEL);
  });

  test(title("{ int64: 'bigint' } keeps bigint: on the client, per handle, and per stream"), async (t) => {
    const fromClient = await env!.bigint.runner('sdk').run([3, 0]) as { label: bigint; pair: Tensor };
    t.is(fromClient.label, 3n);
    t.is(fromClient.pair.dtype, 'int64');
    t.deepEqual(fromClient.pair.toArray(), [3n, -3n]);
    const perHandle = await client().runner('sdk').withOptions({ int64: 'bigint' }).run([[3, 0], [4, 0]]) as { label: BigInt64Array };
    t.deepEqual(Array.from(perHandle.label), [3n, 4n]);
    const streamed = await collect(client().runner('sdk').stream([{ features: [5, 0] }], { int64: 'bigint' })) as { label: BigInt64Array }[];
    t.deepEqual(streamed.map((r) => Array.from(r.label)), [[5n]]);
    // And a handle can opt back into numbers.
    const back = await env!.bigint.runner('sdk').withOptions({ int64: 'number' }).run([3, 0]) as { label: number };
    t.is(back.label, 3);
    // A typo is an error, not the default.
    t.throws(() => client().runner('sdk').withOptions({ int64: 'BigInt' as never }), {
      instanceOf: TypeError, message: "int64 must be 'number' or 'bigint', got \"BigInt\"",
    });
  });

  test(title('float16 outputs are their numeric values (float32), not half bits'), async (t) => {
    const half = client().runner('sdk').method('half');
    const one = await half.run(3) as { h: number; pair: Tensor };
    t.is(one.h, 3);
    t.is(one.pair.dtype, 'float32');
    t.deepEqual(Array.from(one.pair.data as Float32Array), [3, -3]);
    const batch = await half.run([0.5, 65504, -2.25]) as { h: Float32Array; pair: Tensor };
    t.true(batch.h instanceof Float32Array);
    t.deepEqual(Array.from(batch.h), [0.5, 65504, -2.25]);
    t.deepEqual(batch.pair.toArray(), [[0.5, -0.5], [65504, -65504], [-2.25, 2.25]]);
  });

  test(title('bool outputs are booleans; a bool tensor reads as booleans'), async (t) => {
    const flags = client().runner('sdk').method('flags');
    const one = await flags.run(2) as { positive: boolean; signs: Tensor };
    t.is(one.positive, true);
    t.deepEqual(one.signs.toArray(), [true, false]);
    t.deepEqual(Array.from(one.signs), [true, false]);
    const batch = await flags.run([2, -1, 0]) as { positive: boolean[]; signs: Tensor };
    t.deepEqual(batch.positive, [true, false, false]);
    t.is(JSON.stringify(batch.positive), '[true,false,false]');
    t.is(batch.signs.dtype, 'bool');
    t.deepEqual(batch.signs.toArray(), [[true, false], [false, true], [false, false]]);
  });

  // ---- argument errors ------------------------------------------------------------------

  test(title('an unknown argument name is named, with the inputs and their types'), async (t) => {
    const sdk = client().runner('sdk');
    await t.throwsAsync(sdk.run({ feats: [1, 2] }), {
      instanceOf: TypeError, message: "classify: unknown input 'feats'; the inputs are features: tensor<float32>[2]",
    });
    await t.throwsAsync(sdk.run({ features: [1, 2], extra: 1, more: 2 }), {
      instanceOf: TypeError, message: "classify: unknown inputs 'extra', 'more'; the inputs are features: tensor<float32>[2]",
    });
    await t.throwsAsync(sdk.run({ features: { a: 1 } }), {
      instanceOf: TypeError, message: "classify: input 'features' (tensor<float32>[2]): cannot make a tensor from a Object",
    });
    // Row objects: an unknown key or a missing value names the row.
    await t.throwsAsync(sdk.run([{ features: [1, 2] }, { feats: [1, 2] }]), {
      instanceOf: TypeError, message: "classify: row 1 has unknown input 'feats'; the inputs are features: tensor<float32>[2]",
    });
    await t.throwsAsync(collect(sdk.method('half').stream([{ x: 1 }, { x: null }])), {
      instanceOf: TypeError, message: "half: row 1 has no value for 'x'; the inputs are x: scalar<float32>",
    });
    await t.throwsAsync(sdk.method('half').run([1, null, 3]), {
      instanceOf: TypeError, message: "half: input 'x' (scalar<float32>) has a missing value (null or undefined) at [1]; numbers cannot be missing",
    });
    await t.throwsAsync(sdk.run([1, null]), {
      instanceOf: TypeError, message: "classify: input 'features' (tensor<float32>[2]) has a missing value (null or undefined) at [1]; numbers cannot be missing",
    });
    await t.throwsAsync(sdk.run({ features: [[1, 2], [3, undefined]] }), {
      instanceOf: TypeError, message: "classify: input 'features' (tensor<float32>[2]) has a missing value (null or undefined) at [1][1]; numbers cannot be missing",
    });
    await t.throwsAsync(collect(sdk.stream([{ id: 1, features: [1, 2] }, { id: 2, features: null }], { keep: ['id'] })), {
      instanceOf: TypeError, message: "classify: row 1 has no value for 'features'; the inputs are features: tensor<float32>[2]",
    });
    await t.throwsAsync(sdk.method('half').run(), {
      instanceOf: TypeError, message: "half: missing argument(s) 'x'; the inputs are x: scalar<float32>",
    });
  });

  // ---- what run() and stream() take -------------------------------------------------------

  test(title('a table method takes row objects, one row object and column objects in run()'), async (t) => {
    const score = client().runner('sdk').method('score');
    const rows = range(5).map((i) => { const { id: _, ...a } = applicant(i); return a; });
    const fromRows = await score.run(rows) as { score: Float64Array; width: Int32Array };
    t.deepEqual(Array.from(fromRows.score), range(5).map(scoreOf));
    const one = await score.run(rows[2]!) as { score: number };
    t.is(one.score, scoreOf(2));
    const columns = { income: rows.map((r) => r.income), debt: rows.map((r) => r.debt), age: rows.map((r) => r.age) };
    t.deepEqual(Array.from((await score.run(columns) as { score: Float64Array }).score), range(5).map(scoreOf));
    // A fraction for the int64 age column is refused, naming the column and row.
    await t.throwsAsync(score.run([{ income: 1, debt: 1, age: 30.5 }]), {
      instanceOf: TypeError, message: "column 'age' row 0: a number (30.5) is not an integer (column type Int64)",
    });
  });

  test(title('stream() takes arrays of row objects, column objects, Arrow tables, DataFrames and async iterables of them'), async (t) => {
    const score = client().runner('sdk').method('score');
    const n = 10;
    const rows = range(n).map((i) => { const { id: _, ...a } = applicant(i); return a; });
    const want = range(n).map(scoreOf);
    const scores = (results: unknown[]) => results.flatMap((r) => Array.from((r as { score: Float64Array }).score));
    const sizes = (results: unknown[]) => results.map((r) => (r as { score: Float64Array }).score.length);

    const fromRows = await collect(score.stream(rows, { batchRows: 4 }));
    t.deepEqual(sizes(fromRows), [4, 4, 2]);
    t.deepEqual(scores(fromRows), want);

    const columns = { income: rows.map((r) => r.income), debt: rows.map((r) => r.debt), age: rows.map((r) => r.age) };
    t.deepEqual(scores(await collect(score.stream(columns, { batchRows: 6 }))), want);

    const table = tableFromArrays({
      income: Float64Array.from(rows, (r) => r.income), debt: Float64Array.from(rows, (r) => r.debt), age: BigInt64Array.from(rows, (r) => BigInt(r.age)),
    });
    const fromTable = await collect(score.stream(table, { batchRows: 5 }));
    t.deepEqual(sizes(fromTable), [5, 5]);
    t.deepEqual(scores(fromTable), want);

    const df = new dfd.DataFrame(columns);
    t.deepEqual(scores(await collect(score.stream(df, { batchRows: 3 }))), want);

    async function* mixed(): AsyncIterable<unknown> {
      yield rows.slice(0, 3); // an array of rows
      yield new dfd.DataFrame({ income: [rows[3]!.income], debt: [rows[3]!.debt], age: [rows[3]!.age] });
      yield table.slice(4, 7); // an Arrow table
      yield { income: [rows[7]!.income, rows[8]!.income, rows[9]!.income], debt: [rows[7]!.debt, rows[8]!.debt, rows[9]!.debt], age: [rows[7]!.age, rows[8]!.age, rows[9]!.age] };
    }
    const fromMixed = await collect(score.stream(mixed()));
    t.deepEqual(sizes(fromMixed), [3, 1, 3, 3]);
    t.deepEqual(scores(fromMixed), want);

    // A method with tensor inputs takes row objects keyed by its input names.
    const labels = await collect(client().runner('sdk').stream([{ features: [1, 0] }, { features: [2, 0] }, { features: [7, 0] }], { batchRows: 2 })) as { label: Float64Array }[];
    t.deepEqual(labels.map((r) => Array.from(r.label)), [[1, 2], [7]]);

    await t.throwsAsync(collect(score.stream(42)), {
      instanceOf: TypeError,
      message: 'stream() takes an Arrow Table or RecordBatch, a DataFrame, an array of row objects, a column object, or an (async) iterable of these; got a number',
    });
  });

  // ---- pass-through columns ----------------------------------------------------------------

  test(title("stream(input, { keep: ['id'] }): each result carries the ids of its rows; the runner does not see them"), async (t) => {
    const score = client().runner('sdk').method('score');
    const n = 11;
    const rows = range(n).map(applicant);
    const results = await collect(score.stream(rows, { keep: ['id'], batchRows: 4 })) as { id: string[]; score: Float64Array; width: Int32Array }[];
    t.deepEqual(results.map((r) => Object.keys(r)), Array(3).fill(['id', 'score', 'width']));
    const byId = new Map<string, number>();
    for (const r of results) r.id.forEach((id, i) => byId.set(id, r.score[i]!));
    t.is(byId.size, n);
    for (let i = 0; i < n; i++) t.is(byId.get(`a-${i}`), scoreOf(i), `a-${i}`);
    // The runner saw income, debt and age only.
    t.deepEqual([...new Set(results.flatMap((r) => Array.from(r.width)))], [3]);

    // arrow: true: the kept columns first, then the outputs.
    const table = tableFromArrays({
      key: BigInt64Array.from(range(n), (i) => BigInt(1000 + i)),
      income: Float64Array.from(rows, (r) => r.income), debt: Float64Array.from(rows, (r) => r.debt), age: BigInt64Array.from(rows, (r) => BigInt(r.age)),
    });
    const batches = await collect(score.stream(table, { keep: ['key'], arrow: true, batchRows: 6 })) as RecordBatch[];
    t.deepEqual(batches.map((b) => b.schema.fields.map((f) => f.name)), [['key', 'score', 'width'], ['key', 'score', 'width']]);
    const keys = batches.flatMap((b) => Array.from(b.getChild('key')!.toArray() as BigInt64Array));
    const got = batches.flatMap((b) => Array.from(b.getChild('score')!.toArray() as Float64Array));
    t.deepEqual(keys, range(n).map((i) => BigInt(1000 + i)));
    t.deepEqual(got, range(n).map(scoreOf));
    // Decoded, int64 keys are numbers (as results are).
    const decoded = await collect(score.stream(table, { keep: ['key'], batchRows: 20 })) as { key: number[] }[];
    t.deepEqual(decoded[0]!.key, range(n).map((i) => 1000 + i));

    // A column the method reads is kept and still sent.
    const withIncome = await collect(score.stream(rows.slice(0, 3), { keep: ['income'] })) as { income: number[]; score: Float64Array; width: Int32Array }[];
    t.deepEqual(withIncome[0]!.income, rows.slice(0, 3).map((r) => r.income));
    t.deepEqual(Array.from(withIncome[0]!.score), [0, 1, 2].map(scoreOf));
    t.deepEqual(Array.from(withIncome[0]!.width), [4, 4, 4]); // id, income, debt, age: nothing stripped

    // A tensor method: row objects with an id besides the inputs.
    const labelled = await collect(client().runner('sdk').stream([{ id: 'x', features: [4, 0] }, { id: 'y', features: [9, 0] }], { keep: ['id'] })) as { id: string[]; label: Float64Array }[];
    t.deepEqual(labelled.map((r) => [r.id, Array.from(r.label)]), [[['x', 'y'], [4, 9]]]);
    // Argument objects (a batch each) with the kept column beside the inputs.
    async function* args(): AsyncIterable<unknown> {
      yield { id: BigInt64Array.from([70n, 71n]), features: new Tensor('float32', Float32Array.from([4, 0, 9, 0]), [2, 2]) };
      yield { id: BigInt64Array.from([72n]), features: new Tensor('float32', Float32Array.from([5, 0]), [1, 2]) };
    }
    const fromArgs = await collect(client().runner('sdk').stream(args(), { keep: ['id'] })) as { id: number[]; label: Float64Array }[];
    t.deepEqual(fromArgs.map((r) => [r.id, Array.from(r.label)]), [[[70, 71], [4, 9]], [[72], [5]]]);
  });

  test(title('keep: a missing column, an output name or a non-batchable method is a TypeError saying so'), async (t) => {
    const sdk = client().runner('sdk');
    await t.throwsAsync(collect(sdk.method('score').stream([applicant(0)], { keep: ['nope'] })), {
      instanceOf: TypeError, message: "keep: the input has no column 'nope'; its columns are 'id', 'income', 'debt', 'age'",
    });
    await t.throwsAsync(collect(sdk.method('score').stream([applicant(0)], { keep: ['score'] })), {
      instanceOf: TypeError,
      message: "keep 'score' for runner 'sdk' method 'score': 'score' is also an output of the method (outputs: score: scalar<float64>, width: scalar<int32>); rename the input column",
    });
    await t.throwsAsync(collect(sdk.method('count').stream([{ id: 1, x: 2 }], { keep: ['id'] })), {
      instanceOf: TypeError,
      message: "keep 'id' for runner 'sdk' method 'count': the method is not batchable (its answers need not have one row per input row), so kept columns cannot be matched to its rows",
    });
  });
}
