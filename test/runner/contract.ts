/**
 * The runner contract: what `client.runner(name)` does, whether the runners run in this
 * process (`local()`) or behind a Flight server (`connect()`). local.test.ts and
 * remote.test.ts register this same suite; every assertion is an exact value or an exact
 * error (code and message), so passing both means both give identical results.
 *
 * Malformed inputs (missing or unknown columns, wrong types, nulls) are record batches
 * built here with apache-arrow and sent with the client's Caller, so the local and the
 * remote runner see the very same batch.
 */
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import {
  Field, FixedSizeList, Float32, Float64, Int32, Int64, RecordBatch, Schema, Struct, Utf8, makeData, tableFromArrays,
  vectorFromArray, type Data, type DataType,
} from 'apache-arrow';
import * as dfd from 'danfojs';
import { FlightError, Status, Tensor, local, type FlightChunk, type RunnerClient } from '../../src/index.js';
import { signatureToJSON } from '../../src/runner/signature.js';

/** The fix every refusal of nulls names (runner/conform.ts). */
const NULL_FIX = '(the method does not declare it nullable): send a value in every row, e.g. fill or drop the missing ones first '
  + '(pyarrow.compute.fill_null / drop_null, pandas fillna / dropna)';
import { bulkScore, loadTestRunners, testRunnerDefinitions } from '../helpers/runners.js';
import { cellName, reachRunners, type Scheduling, type Where } from '../helpers/contract-matrix.js';

/** A connected client and how to release it (and whatever serves it). */
export interface ContractClient {
  client: RunnerClient;
  close(): Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A record batch of the given fields and column data, exactly as given (no conforming). */
export function rawBatch(columns: [Field, Data][], metadata?: Map<string, string>): RecordBatch {
  const fields = columns.map(([f]) => f);
  const length = columns[0]?.[1].length ?? 0;
  return new RecordBatch(new Schema(fields, metadata), makeData({ type: new Struct(fields), length, nullCount: 0, children: columns.map(([, d]) => d) }));
}

/** A primitive column. */
export function primitive(name: string, type: DataType, values: ArrayLike<unknown>): [Field, Data] {
  const data = vectorFromArray(Array.from(values) as never, type).data[0]!;
  return [new Field(name, type, data.nullCount > 0), data];
}

/**
 * A FixedSizeList<T>[size] column from flat values; `shape` tags it as
 * `arrow.fixed_shape_tensor` with that shape. `valid` marks null rows (false).
 */
export function listColumn(name: string, type: DataType, size: number, values: ArrayLike<unknown>, options: { shape?: number[]; valid?: boolean[] } = {}): [Field, Data] {
  const child = vectorFromArray(Array.from(values) as never, type).data[0]!;
  const length = child.length / size;
  const valid = options.valid;
  const nullCount = valid ? valid.filter((v) => !v).length : 0;
  const nullBitmap = valid ? Uint8Array.from({ length: Math.ceil(length / 8) }, (_, byte) =>
    valid.slice(byte * 8, byte * 8 + 8).reduce((bits, v, i) => bits | (v ? 1 << i : 0), 0)) : undefined;
  const listType = new FixedSizeList(size, new Field('item', type, false));
  const data = makeData({ type: listType, length, nullCount, ...(nullBitmap ? { nullBitmap } : {}), child });
  const metadata = options.shape
    ? new Map([['ARROW:extension:name', 'arrow.fixed_shape_tensor'], ['ARROW:extension:metadata', JSON.stringify({ shape: options.shape })]])
    : undefined;
  return [new Field(name, listType, nullCount > 0, metadata), data];
}

/** Awaits a rejection and checks it is a FlightError with this code and exact message. */
export async function rejectsWith(
  t: ExecutionContext, promise: Promise<unknown> | (() => unknown), code: Status, message: string,
): Promise<FlightError | undefined> {
  const run = typeof promise === 'function' ? async () => promise() : () => promise;
  const err = await t.throwsAsync(run, { instanceOf: FlightError });
  if (!err) return undefined;
  t.is(err.codeName, Status[code], err.message);
  t.is(err.message, message);
  return err;
}

/** Collects an async iterable (bounded: streams here end when their input ends). */
async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

const numbers = (v: unknown) => Array.from(v as ArrayLike<number | bigint>, Number);

/** The test runners as a module (for `serve`, worker threads and the loader). */
const CONTRACT_RUNNERS = fileURLToPath(new URL('../helpers/contract-runners.ts', import.meta.url));

/**
 * Registers the runner contract for one cell of the matrix (contract-matrix.ts): the test
 * runners in process or behind a server, unscheduled, scheduled in process, or in worker threads.
 */
export function runnerContractIn(where: Where, scheduling: Scheduling): void {
  runnerContract(cellName(where, scheduling), async () => {
    const runners = await reachRunners(CONTRACT_RUNNERS, where, scheduling);
    return { client: await runners.client(), close: runners.close };
  });
}

/**
 * Registers the runner contract tests for one way of reaching the test runners
 * (test/helpers/runners.ts). `makeClient` is called once, before the tests.
 */
export function runnerContract(name: string, makeClient: () => Promise<ContractClient>): void {
  let env: ContractClient | undefined;
  const client = () => env!.client;
  const title = (what: string) => `${name}: ${what}`;

  test.before(async () => {
    env = await makeClient();
  });
  test.after.always(async () => {
    await env?.close();
  });

  // ---- discovery -------------------------------------------------------------------

  test(title('lists every runner, its methods and their signatures'), (t) => {
    t.deepEqual(client().runners, testRunnerDefinitions.map((d) => d.name));
    for (const definition of testRunnerDefinitions) {
      const handle = client().runner(definition.name);
      t.deepEqual(handle.methods, Object.keys(definition.methods));
      for (const [method, m] of Object.entries(definition.methods)) {
        // Compared in the wire form, which is what a remote client reads.
        const sig = signatureToJSON(definition.name, handle.method(method).signature);
        t.is(sig['batchable'], m.batchable ?? true, `${definition.name}.${method}`);
        t.is(sig['default'], Boolean(m.default), `${definition.name}.${method}`);
        t.deepEqual((sig['inputs'] as { name: string }[]).map((p) => p.name), Object.keys(m.inputs));
        t.deepEqual((sig['outputs'] as { name: string }[]).map((p) => p.name), Object.keys(m.outputs));
      }
    }
    const ragged = signatureToJSON('tensors', client().runner('tensors').method('ragged').signature);
    t.deepEqual(ragged['inputs'], [{ name: 'x', kind: 'tensor', dtype: 'float32', shape: [-1] }]);
    const summarize = signatureToJSON('tables', client().runner('tables').signature);
    t.deepEqual(summarize['inputs'], [{ name: 'rows', kind: 'table', columns: { a: 'float64', b: 'int64' } }]);
  });

  test(title('every signature reads the same as the runner\'s own, in process'), async (t) => {
    const reference = await local(await loadTestRunners());
    try {
      for (const definition of testRunnerDefinitions) {
        for (const method of Object.keys(definition.methods)) {
          t.deepEqual(client().runner(definition.name).method(method).signature, reference.runner(definition.name).method(method).signature,
            `${definition.name}.${method}`);
        }
      }
    } finally {
      reference.close();
    }
  });

  // ---- tensors -----------------------------------------------------------------------

  test(title('float32 [4]: one example in, one out; a batch in, a batch out'), async (t) => {
    const double = client().runner('tensors');
    const one = await double.run([1, 2, 3, 4.5]) as Tensor;
    t.true(one instanceof Tensor);
    t.is(one.dtype, 'float32');
    t.deepEqual(one.shape, [4]);
    t.deepEqual(one.toArray(), [2, 4, 6, 9]);
    const fromTyped = await double.run(Float32Array.from([1, 1, 1, 1])) as Tensor;
    t.deepEqual(fromTyped.toArray(), [2, 2, 2, 2]);
    const batch = await double.run([[1, 2, 3, 4], [5, 6, 7, 8], [0, 0, 0, -1]]) as Tensor;
    t.deepEqual(batch.shape, [3, 4]);
    t.deepEqual(batch.toArray(), [[2, 4, 6, 8], [10, 12, 14, 16], [0, 0, 0, -2]]);
    const explicit = await double.method('double').run(new Tensor('float32', new Float32Array(8).fill(0.25), [2, 4])) as Tensor;
    t.deepEqual(explicit.toArray(), [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]]);
  });

  test(title('float64 [2,3]: positional and named arguments give the same result'), async (t) => {
    const add = client().runner('tensors').method('add');
    const a = [[1, 2, 3], [4, 5, 6]];
    const b = [[0.5, 0.5, 0.5], [10, 20, 30]];
    const expected = [[1.5, 2.5, 3.5], [14, 25, 36]];
    const positional = await add.run(a, b) as Tensor;
    t.is(positional.dtype, 'float64');
    t.deepEqual(positional.shape, [2, 3]);
    t.deepEqual(positional.toArray(), expected);
    t.deepEqual((await add.run({ a, b }) as Tensor).toArray(), expected);
    t.deepEqual((await add.run({ b, a }) as Tensor).toArray(), expected);
    t.deepEqual((await add.run(a, { b }) as Tensor).toArray(), expected);
    const batch = await add.run([a, a], [b, a]) as Tensor;
    t.deepEqual(batch.shape, [2, 2, 3]);
    t.deepEqual(batch.toArray(), [expected, [[2, 4, 6], [8, 10, 12]]]);
    await t.throwsAsync(add.run(a), { instanceOf: TypeError, message: "add: missing argument(s) 'b'; the inputs are a: tensor<float64>[2,3], b: tensor<float64>[2,3]" });
    await t.throwsAsync(add.run(a, { a: b }), { instanceOf: TypeError, message: "add: 'a' given both by position and by name" });
  });

  test(title('int32 tensor of shape []: a number per example'), async (t) => {
    const increment = client().runner('tensors').method('increment');
    t.is(await increment.run(41), 42);
    const batch = await increment.run(Int32Array.from([1, -1, 2_147_483_646])) as Tensor;
    t.is(batch.dtype, 'int32');
    t.deepEqual(batch.shape, [3]);
    t.deepEqual(Array.from(batch.data as Int32Array), [2, 0, 2_147_483_647]);
  });

  test(title('int64 [4] in, int64 scalar out (numbers when safe)'), async (t) => {
    const sum = client().runner('tensors').method('sum');
    t.is(await sum.run([1, 2, 3, 4]), 10);
    const batch = await sum.run([[1, 2, 3, 4], [2 ** 40, 0, 0, 1]]);
    t.deepEqual(Array.from(batch as Float64Array), [10, 2 ** 40 + 1]);
  });

  test(title('bool [4], uint8 [2,3] and float16 [4] tensors'), async (t) => {
    const tensors = client().runner('tensors');
    const not = await tensors.method('negate').run([true, false, true, true]) as Tensor;
    t.is(not.dtype, 'bool');
    t.deepEqual(not.toArray(), [false, true, false, false]);
    const nots = await tensors.method('negate').run([[true, true, true, true], [false, false, false, false]]) as Tensor;
    t.deepEqual(nots.toArray(), [[false, false, false, false], [true, true, true, true]]);

    const inverted = await tensors.method('invert').run([[0, 1, 2], [3, 4, 255]]) as Tensor;
    t.is(inverted.dtype, 'uint8');
    t.deepEqual(inverted.shape, [2, 3]);
    t.deepEqual(inverted.toArray(), [[255, 254, 253], [252, 251, 0]]);
    const images = await tensors.method('invert').run(new Tensor('uint8', Uint8Array.from({ length: 12 }, (_, i) => i * 20), [2, 2, 3])) as Tensor;
    t.deepEqual(images.shape, [2, 2, 3]);
    t.deepEqual(Array.from(images.data as Uint8Array), Array.from({ length: 12 }, (_, i) => 255 - i * 20));

    const flipped = await tensors.method('flip').run([1, -2, 0.5, 65504]) as Tensor;
    t.is(flipped.dtype, 'float32'); // float16 results come back as their float32 values
    t.deepEqual(flipped.toArray(), [-1, 2, -0.5, -65504]);
  });

  test(title('a free dimension travels as a variable_shape_tensor'), async (t) => {
    const ragged = client().runner('tensors').method('ragged');
    const one = await ragged.run([1, 2, 3]) as { total: number; doubled: Tensor };
    t.is(one.total, 6);
    t.deepEqual(one.doubled.shape, [3]);
    t.deepEqual(one.doubled.toArray(), [2, 4, 6]);

    // Rows of one length come back stacked; rows of different lengths as a list.
    const same = await ragged.run([[1, 1], [2, 2]]) as { total: Float64Array; doubled: Tensor };
    t.deepEqual(Array.from(same.total), [2, 4]);
    t.deepEqual(same.doubled.toArray(), [[2, 2], [4, 4]]);
    const mixed = await ragged.run([Tensor.from([1, 2, 3], 'float32'), Tensor.from([10], 'float32')]) as { total: Float64Array; doubled: Tensor[] };
    t.deepEqual(Array.from(mixed.total), [6, 10]);
    t.true(Array.isArray(mixed.doubled));
    t.deepEqual(mixed.doubled.map((r) => r.toArray()), [[2, 4, 6], [20]]);
  });

  // ---- scalars, strings, bytes, JSON -----------------------------------------------------

  test(title('scalars, strings, bytes and JSON objects'), async (t) => {
    const values = client().runner('values');
    t.is(await values.run(3), 9);
    t.deepEqual(Array.from(await values.run([1, 2, 3]) as Float64Array), [1, 4, 9]);

    t.is(await values.method('upper').run('abc'), 'ABC');
    t.deepEqual(await values.method('upper').run(['a', 'é', '']), ['A', 'É', '']);

    // Several outputs: an object keyed by output name.
    const one = await values.method('reverse').run(Uint8Array.from([1, 2, 3])) as { reversed: Uint8Array; length: number };
    t.deepEqual(Object.keys(one).sort(), ['length', 'reversed']);
    t.deepEqual(Array.from(one.reversed), [3, 2, 1]);
    t.is(one.length, 3);
    const many = await values.method('reverse').run([Uint8Array.from([9]), new Uint8Array(0)]) as { reversed: Uint8Array[]; length: Int32Array };
    t.deepEqual(many.reversed.map((b) => Array.from(b)), [[9], []]);
    t.deepEqual(Array.from(many.length), [1, 0]);

    const annotate = values.method('annotate');
    t.deepEqual(await annotate.run({ b: 1, a: { nested: [1, 'x'] } }), { b: 1, a: { nested: [1, 'x'] }, keys: ['a', 'b'] });
    t.deepEqual(await annotate.run([{ x: 1 }, {}]), [{ x: 1, keys: ['x'] }, { keys: [] }]);
  });

  // ---- tables ----------------------------------------------------------------------------

  test(title('a table input: a DataFrame in, all its columns arrive'), async (t) => {
    const summarize = client().runner('tables');
    // Integral floats in `a`: the declared float64 type wins over danfo's int32.
    const df = new dfd.DataFrame({ a: [1, 2.5, -3], b: [10, 20, 30], extra: ['x', 'y', 'z'] });
    const out = await summarize.run(df) as { total: Float64Array; width: Int32Array; label: string[] };
    t.deepEqual(Array.from(out.total), [11, 22.5, 27]);
    t.deepEqual(Array.from(out.width), [3, 3, 3]);
    t.deepEqual(out.label, ['a=1', 'a=2.5', 'a=-3']);
  });

  test(title('a table input as an Arrow RecordBatch (tables: arrow), from a batch or a Table'), async (t) => {
    const arrowSum = client().runner('tables').method('arrow_sum');
    const table = tableFromArrays({ p: Float64Array.from([1, 2, 3]), q: Float64Array.from([0.5, 0.25, 0]), n: Int32Array.from([7, 8, 9]) });
    const fromTable = await arrowSum.run(table) as { total: Float64Array; columns: Int32Array };
    t.deepEqual(Array.from(fromTable.total), [1.5, 2.25, 3]);
    t.deepEqual(Array.from(fromTable.columns), [3, 3, 3]);
    const fromBatch = await arrowSum.run(table.batches[0]) as { total: Float64Array };
    t.deepEqual(Array.from(fromBatch.total), [1.5, 2.25, 3]);
  });

  // ---- params, non-batchable ------------------------------------------------------------------

  test(title('call params travel with withParams'), async (t) => {
    const misc = client().runner('misc');
    t.deepEqual(await misc.run([-1, 1, 2, 3]), [false, true, true, true]);
    t.deepEqual(await misc.withParams({ threshold: 2 }).run([-1, 1, 2, 3]), [false, false, false, true]);
    t.is(await misc.withParams({ threshold: 10 }).run(5), false);
    // Params are per handle: the plain handle still uses the default.
    t.is(await misc.run(5), true);
    // And they reach the method's params when sent as schema metadata by hand.
    const batch = rawBatch([primitive('x', new Float64(), [1, 5])], new Map([['flight-runner.params', '{"threshold": 3}']]));
    const result = await client().caller.call('misc', 'threshold', batch);
    t.deepEqual(Array.from(result.getChild('above')!), [false, true]);
  });

  test(title('a non-batchable method takes the whole batch as one call'), async (t) => {
    const concat = client().runner('misc').method('concat');
    t.deepEqual(await concat.run(['a', 'b', 'c']), ['a b c']);
    t.deepEqual(await concat.withParams({ separator: '-' }).run(['a', 'b', 'c']), ['a-b-c']);
    t.is(await concat.run('solo'), 'solo');
  });

  // ---- errors ---------------------------------------------------------------------------------

  test(title('unknown runner: NOT_FOUND listing the runners'), async (t) => {
    const message = "unknown runner 'nope'; runners: 'tensors', 'values', 'tables', 'misc', 'bulk'";
    await rejectsWith(t, () => client().runner('nope'), Status.NOT_FOUND, message);
    await rejectsWith(t, client().caller.call('nope', 'run', rawBatch([primitive('x', new Float64(), [1])])), Status.NOT_FOUND, message);
  });

  test(title('unknown method: NOT_FOUND listing the methods'), async (t) => {
    const message = "runner 'values' has no method 'cube'; methods: 'square', 'upper', 'reverse', 'annotate'";
    await rejectsWith(t, client().runner('values').method('cube').run(2), Status.NOT_FOUND, message);
    await rejectsWith(t, client().caller.call('values', 'cube', rawBatch([primitive('x', new Float64(), [1])])), Status.NOT_FOUND, message);
  });

  test(title('missing input column: INVALID_ARGUMENT naming it'), async (t) => {
    const a = listColumn('a', new Float64(), 6, [1, 2, 3, 4, 5, 6], { shape: [2, 3] });
    await rejectsWith(t, client().caller.call('tensors', 'add', rawBatch([a])), Status.INVALID_ARGUMENT,
      "runner 'tensors' method 'add': missing input column 'b' (tensor<float64>[2,3]); received 'a': send a column named 'b'");
    await rejectsWith(t, client().caller.call('tables', 'summarize', rawBatch([primitive('a', new Float64(), [1])])), Status.INVALID_ARGUMENT,
      "runner 'tables' method 'summarize': table 'rows' needs column 'b' (Int64); received 'a': add it");
  });

  test(title('unknown input column: INVALID_ARGUMENT naming it'), async (t) => {
    const x = listColumn('x', new Float32(), 4, [1, 2, 3, 4], { shape: [4] });
    await rejectsWith(t, client().caller.call('tensors', 'double', rawBatch([x, primitive('y', new Float32(), [1])])), Status.INVALID_ARGUMENT,
      "runner 'tensors' method 'double': unknown input column 'y'; inputs are 'x': drop the other columns");
  });

  test(title('wrong dtype: INVALID_ARGUMENT with the column, the expected and the received type'), async (t) => {
    await rejectsWith(t, client().caller.call('tensors', 'double', rawBatch([primitive('x', new Utf8(), ['1,2,3,4'])])), Status.INVALID_ARGUMENT,
      "runner 'tensors' method 'double': column 'x' expected tensor<float32>[4] (FixedSizeList[4]<Float32>), received Utf8; "
      + 'a tensor input is a fixed_shape_tensor column: pa.FixedShapeTensorArray.from_numpy_ndarray(np.asarray(rows, dtype=np.float32)) '
      + 'with rows of shape [4] (a list column such as pa.array([[...]]) is not a tensor)');
    // float64 into float32 would lose precision: not a safe widening.
    await rejectsWith(t, client().caller.call('tensors', 'double', rawBatch([listColumn('x', new Float64(), 4, [1, 2, 3, 4], { shape: [4] })])), Status.INVALID_ARGUMENT,
      "runner 'tensors' method 'double': column 'x' expected tensor<float32>[4] (FixedSizeList[4]<Float32>), received arrow.fixed_shape_tensor<float64>[4]; "
      + 'cast the values to float32 first, e.g. np.asarray(x, dtype=np.float32)');
    await rejectsWith(t, client().caller.call('values', 'upper', rawBatch([primitive('text', new Int32(), [1])])), Status.INVALID_ARGUMENT,
      "runner 'values' method 'upper': column 'text' expected string (Utf8), received Int32; cast it first: pa.array(values, pa.string()) or column.cast(pa.string())");
  });

  test(title('wrong tensor shape: INVALID_ARGUMENT'), async (t) => {
    await rejectsWith(t, client().caller.call('tensors', 'double', rawBatch([listColumn('x', new Float32(), 5, [1, 2, 3, 4, 5], { shape: [5] })])), Status.INVALID_ARGUMENT,
      "runner 'tensors' method 'double': column 'x' expected tensor<float32>[4] (FixedSizeList[4]<Float32>), received arrow.fixed_shape_tensor<float32>[5]");
    await rejectsWith(t, client().caller.call('tensors', 'add', rawBatch([
      listColumn('a', new Float64(), 6, [1, 2, 3, 4, 5, 6], { shape: [3, 2] }),
      listColumn('b', new Float64(), 6, [1, 2, 3, 4, 5, 6], { shape: [2, 3] }),
    ])), Status.INVALID_ARGUMENT,
    "runner 'tensors' method 'add': column 'a' expected tensor<float64>[2,3] (FixedSizeList[6]<Float64>), received arrow.fixed_shape_tensor<float64>[3,2]");
  });

  test(title('safe widenings are accepted and converted: int32 -> int64, float32 -> float64'), async (t) => {
    // A plain FixedSizeList<int32>[4] (no extension metadata) stands for an int64 [4] tensor.
    const ints = await client().caller.call('tensors', 'sum', rawBatch([listColumn('x', new Int32(), 4, [1, 2, 3, 4, -5, 6, 7, 2 ** 31 - 1])]));
    t.is(String(ints.getChild('total')!.type), 'Int64');
    t.deepEqual(Array.from(ints.getChild('total')!.toArray() as BigInt64Array), [10n, 2n ** 31n + 7n]);

    const floats = await client().caller.call('tensors', 'widen', rawBatch([listColumn('x', new Float32(), 4, [0.1, 1, 2, 3], { shape: [4] })]));
    const y = floats.getChild('y')!;
    t.is(String(y.type), 'FixedSizeList[4]<Float64>');
    t.deepEqual(Array.from(y.data[0]!.children[0]!.values as Float64Array), [Math.fround(0.1) + 0.5, 1.5, 2.5, 3.5]);

    const scalar = await client().caller.call('values', 'square', rawBatch([primitive('x', new Float32(), [1.5, -2])]));
    t.deepEqual(Array.from(scalar.getChild('y')!.toArray() as Float64Array), [2.25, 4]);
  });

  test(title('nulls in a tensor, scalar or string column: INVALID_ARGUMENT'), async (t) => {
    const x = listColumn('x', new Float32(), 4, [1, 2, 3, 4, 0, 0, 0, 0, 5, 6, 7, 8], { shape: [4], valid: [true, false, true] });
    await rejectsWith(t, client().caller.call('tensors', 'double', rawBatch([x])), Status.INVALID_ARGUMENT,
      `runner 'tensors' method 'double': column 'x' has 1 null row(s), the first at row 1 of the batch; tensor<float32>[4] input 'x' cannot be null ${NULL_FIX}`);
    await rejectsWith(t, client().caller.call('values', 'square', rawBatch([primitive('x', new Float64(), [1, null, null])])), Status.INVALID_ARGUMENT,
      `runner 'values' method 'square': column 'x' has 2 null row(s), the first at row 1 of the batch; scalar<float64> input 'x' cannot be null ${NULL_FIX}`);
    await rejectsWith(t, client().caller.call('values', 'upper', rawBatch([primitive('text', new Utf8(), ['a', null])])), Status.INVALID_ARGUMENT,
      `runner 'values' method 'upper': column 'text' has 1 null row(s), the first at row 1 of the batch; string input 'text' cannot be null ${NULL_FIX}`);
  });

  test(title('a runner that throws: INTERNAL with runner, method and its message; the next call succeeds'), async (t) => {
    const misc = client().runner('misc');
    await rejectsWith(t, misc.method('explode').run([1, 2]), Status.INTERNAL,
      "runner 'misc' method 'explode' failed: model exploded: bad weights");
    t.deepEqual(await misc.run([1, -1]), [true, false]);
    await rejectsWith(t, misc.method('explode').run(1), Status.INTERNAL,
      "runner 'misc' method 'explode' failed: model exploded: bad weights");
    t.is(await client().runner('values').run(4), 16);
  });

  test(title('a runner returning the wrong number of rows: INTERNAL'), async (t) => {
    await rejectsWith(t, client().runner('misc').method('short').run([1, 2, 3]), Status.INTERNAL,
      "runner 'misc' method 'short' returned 2 rows for 3 input rows");
    t.is(await client().runner('misc').method('echo').run(7n), 7);
  });

  test(title('an error inside a stream fails the stream with the same status'), async (t) => {
    const good = rawBatch([primitive('x', new Float64(), [1, 2])]);
    const bad = rawBatch([primitive('x', new Float64(), [1, null])]);
    const seen: number[] = [];
    const run = async () => {
      for await (const chunk of client().caller.stream('values', 'square', [{ batch: good }, { batch: bad }, { batch: good }])) {
        if (chunk.batch) seen.push(...numbers(chunk.batch.getChild('y')!.toArray()));
      }
    };
    await rejectsWith(t, run(), Status.INVALID_ARGUMENT, `runner 'values' method 'square': column 'x' has 1 null row(s), the first at row 1 of the batch; scalar<float64> input 'x' cannot be null ${NULL_FIX}`);
    // Results before the bad batch may or may not have arrived; none after it.
    t.true(seen.length === 0 || JSON.stringify(seen) === '[1,4]', JSON.stringify(seen));
  });

  test(title('a deadline that passes while the runner runs: DEADLINE_EXCEEDED'), async (t) => {
    const slow = client().runner('misc').method('slow');
    const err = await t.throwsAsync(slow.withParams({ ms: 1000 }).withOptions({ deadline: 100 }).run(1), { instanceOf: FlightError });
    t.is(err?.codeName, 'DEADLINE_EXCEEDED', err?.message);
    t.regex(err?.message ?? '', /deadline/i);
    // A deadline the call meets changes nothing.
    t.is(await slow.withOptions({ deadline: 60_000 }).run(2), 2);
  });

  test(title('a call cancelled while the runner runs: CANCELLED'), async (t) => {
    const abort = new AbortController();
    const call = client().runner('misc').method('slow').withParams({ ms: 1000 }).withOptions({ signal: abort.signal }).run(1);
    setTimeout(() => abort.abort(), 100);
    const err = await t.throwsAsync(call, { instanceOf: FlightError });
    t.is(err?.codeName, 'CANCELLED', err?.message);
    t.regex(err?.message ?? '', /cancel/i);
  });

  test(title('a batch whose schema differs from the stream\'s first: INVALID_ARGUMENT'), async (t) => {
    const f64 = rawBatch([primitive('x', new Float64(), [1, 2])]);
    const f32 = rawBatch([primitive('x', new Float32(), [3])]);
    await rejectsWith(t, collect(client().caller.stream('values', 'square', [{ batch: f64 }, { batch: f32 }])), Status.INVALID_ARGUMENT,
      'batch schema differs from the schema this stream began with');
  });

  // ---- streaming ----------------------------------------------------------------------------------

  test(title('stream() of a DataFrame: one result per batch, in order'), async (t) => {
    const a = Array.from({ length: 10 }, (_, i) => i);
    const df = new dfd.DataFrame({ a, b: a.map((v) => v * 100) });
    const results = await collect(client().runner('tables').stream(df, { batchRows: 3 })) as { total: Float64Array; label: string[] }[];
    t.deepEqual(results.map((r) => r.total.length), [3, 3, 3, 1]);
    t.deepEqual(results.flatMap((r) => Array.from(r.total)), a.map((v) => v * 101));
    t.deepEqual(results.flatMap((r) => r.label), a.map((v) => `a=${v}`));
  });

  test(title('stream() of an Arrow Table: one result per batch, in order'), async (t) => {
    const p = Float64Array.from({ length: 25 }, (_, i) => i);
    const table = tableFromArrays({ p, q: p.map((v) => v / 2) });
    const arrowSum = client().runner('tables').method('arrow_sum');
    const results = await collect(arrowSum.stream(table, { batchRows: 10 })) as { total: Float64Array }[];
    t.deepEqual(results.map((r) => r.total.length), [10, 10, 5]);
    t.deepEqual(results.flatMap((r) => Array.from(r.total)), Array.from(p, (v) => v * 1.5));
    // arrow: true yields the record batches themselves.
    const batches = await collect(arrowSum.stream(table, { batchRows: 20, arrow: true })) as RecordBatch[];
    t.deepEqual(batches.map((b) => b.numRows), [20, 5]);
    t.deepEqual(batches.map((b) => b.schema.fields.map((f) => f.name)), [['total', 'columns'], ['total', 'columns']]);
  });

  test(title('stream() of an iterable of record batches and of an async generator'), async (t) => {
    const echo = client().runner('misc').method('echo');
    const batches = [[1n, 2n], [3n], [4n, 5n, 6n]].map((ids) => rawBatch([primitive('i', new Int64(), ids)]));
    const fromIterable = await collect(echo.stream(batches)) as Float64Array[];
    t.deepEqual(fromIterable.map((r) => Array.from(r)), [[1, 2], [3], [4, 5, 6]]);

    // An async generator of argument objects, with params applied to each batch.
    async function* thresholds() {
      for (let i = 0; i < 5; i++) yield { x: Float64Array.from([i - 1, i, i + 1]) };
    }
    const above = await collect(client().runner('misc').withParams({ threshold: 2 }).stream(thresholds())) as boolean[][];
    t.deepEqual(above.map((r) => r.map(Number)), [[0, 0, 0], [0, 0, 0], [0, 0, 1], [0, 1, 1], [1, 1, 1]]);

    // An async generator of DataFrames for a table method.
    async function* frames() {
      for (let i = 0; i < 3; i++) yield new dfd.DataFrame({ a: [i, i + 0.5], b: [1, 2] });
    }
    const totals = await collect(client().runner('tables').stream(frames())) as { total: Float64Array }[];
    t.deepEqual(totals.map((r) => Array.from(r.total)), [[1, 2.5], [2, 3.5], [3, 4.5]]);
  });

  test(title('Caller.stream: app_metadata comes back on each batch, metadata-only messages pass through'), async (t) => {
    async function* input(): AsyncIterable<FlightChunk> {
      for (let i = 0; i < 6; i++) {
        yield { batch: rawBatch([primitive('i', new Int64(), [BigInt(i), BigInt(i * 10)])]), appMetadata: enc.encode(`req-${i}`) };
        if (i === 2) yield { appMetadata: enc.encode('marker') };
      }
    }
    const out = await collect(client().caller.stream('misc', 'echo', input()));
    t.deepEqual(out.map((c) => (c.appMetadata ? dec.decode(c.appMetadata) : null)),
      ['req-0', 'req-1', 'req-2', 'marker', 'req-3', 'req-4', 'req-5']);
    t.deepEqual(out.map((c) => (c.batch ? numbers(c.batch.getChild('i')!.toArray()) : null)),
      [[0, 0], [1, 10], [2, 20], null, [3, 30], [4, 40], [5, 50]]);
  });

  test(title('a stream of metadata-only messages and no batch: each message comes back, no batch'), async (t) => {
    const out = await collect(client().caller.stream('misc', 'echo', [{ appMetadata: enc.encode('first') }, { appMetadata: enc.encode('second') }]));
    t.deepEqual(out.map((c) => [c.batch?.numRows, c.appMetadata && dec.decode(c.appMetadata)]), [[undefined, 'first'], [undefined, 'second']]);
    t.deepEqual(await collect(client().caller.stream('misc', 'echo', [])), []);
  });

  test(title('a stream whose own batches fill the queue waits for them instead of failing (RESOURCE_EXHAUSTED is for other calls)'), async (t) => {
    // 6 batches of 100,000 rows, several in flight at once: more rows than a scheduled
    // method's queue holds (262,144 by default), all of them this one stream's.
    const rows = 100_000;
    const column = (k: number, f: (i: number) => number) => primitive('', new Float64(), Float64Array.from({ length: rows }, (_, i) => f(k * rows + i)))[1];
    const batches = Array.from({ length: 6 }, (_, k) => ({
      batch: rawBatch([
        [new Field('a', new Float64(), false), column(k, (i) => i)],
        [new Field('b', new Float64(), false), column(k, (i) => i % 7)],
        [new Field('c', new Float64(), false), column(k, () => 1)],
        [new Field('d', new Float64(), false), column(k, (i) => -i)],
      ]),
    }));
    let n = 0;
    let wrong = 0;
    for await (const chunk of client().caller.stream('bulk', 'score', batches)) {
      const y = chunk.batch!.getChild('y')!.toArray() as Float64Array;
      for (let i = 0; i < y.length; i++, n++) if (y[i] !== bulkScore(n, n % 7, 1, -n)) wrong++;
    }
    t.is(n, 6 * rows);
    t.is(wrong, 0);
  });

  test(title('a long stream (2,000 batches) stays in order'), async (t) => {
    const count = 2_000;
    async function* batches(): AsyncIterable<FlightChunk> {
      for (let i = 0; i < count; i++) {
        yield { batch: rawBatch([primitive('i', new Int64(), [BigInt(i * 3), BigInt(i * 3 + 1), BigInt(i * 3 + 2)])]), appMetadata: enc.encode(String(i)) };
      }
    }
    let n = 0;
    let outOfOrder = 0;
    for await (const chunk of client().caller.stream('misc', 'echo', batches())) {
      const ids = numbers(chunk.batch!.getChild('i')!.toArray());
      if (dec.decode(chunk.appMetadata) !== String(n) || ids.join() !== [n * 3, n * 3 + 1, n * 3 + 2].join()) outOfOrder++;
      n++;
    }
    t.is(n, count);
    t.is(outOfOrder, 0);

    // The same through RunnerHandle.stream with argument objects.
    async function* args() {
      for (let i = 0; i < count; i++) yield { i: BigInt64Array.from([BigInt(i)]) };
    }
    let m = 0;
    let wrong = 0;
    for await (const ids of client().runner('misc').method('echo').stream(args())) {
      if ((ids as Float64Array)[0] !== m) wrong++;
      m++;
    }
    t.is(m, count);
    t.is(wrong, 0);
  });

  test(title('stream() of record batches applies safe widenings too (float32 -> float64)'), async (t) => {
    // A float32 record batch to a float64 scalar method: widened on the way in.
    const batch = rawBatch([primitive('x', new Float32(), [0.5, 3])]);
    const results = await collect(client().runner('values').stream([batch, batch])) as Float64Array[];
    t.deepEqual(results.map((r) => Array.from(r)), [[0.25, 9], [0.25, 9]]);
  });
}
