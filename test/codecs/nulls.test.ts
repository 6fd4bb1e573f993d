/**
 * Nulls are never silently changed (issue #10, item 3): an input that is not nullable
 * refuses them, naming the column and the first null row; a nullable one (scalar, string,
 * tensor, table column) carries them through conformance to the runner as null (JS
 * arrays) or NaN (DataFrame numbers), and through the SDK's encoding as Arrow nulls.
 */
import test from 'ava';
import { Field, Float64, Int32, Int64, Utf8, vectorFromArray, type RecordBatch, type Vector } from 'apache-arrow';
import { batchFromColumns } from '../../src/codecs/batch.js';
import { batchToValues, columnToValue, valueToColumn } from '../../src/codecs/columns.js';
import { batchToDataFrame } from '../../src/codecs/dataframe.js';
import type { Tensor } from '../../src/codecs/tensor.js';
import { FlightError, Status } from '../../src/flight/index.js';
import { planConform } from '../../src/runner/conform.js';
import { fieldFor, payloadFromJSON, payloadToJSON, types } from '../../src/codecs/payload.js';
import { inputSchema, type MethodSignature, type ParamSpec } from '../../src/runner/signature.js';
import { defineRunner, loadJsRunner } from '../../src/index.js';
import { methodsTable } from '../../src/cli/list-command.js';

const sig = (inputs: ParamSpec[]): MethodSignature => ({ name: 'm', inputs, outputs: [], batchable: true });

function batchOf(columns: Record<string, Vector>): RecordBatch {
  const names = Object.keys(columns);
  return batchFromColumns(names.map((n) => new Field(n, columns[n]!.type, true)), names.map((n) => columns[n]!), columns[names[0]!]!.length);
}

function invalid(t: import('ava').ExecutionContext, fn: () => unknown, ...fragments: string[]): string {
  const err = t.throws(fn);
  t.true(err instanceof FlightError && err.code === Status.INVALID_ARGUMENT, String(err));
  for (const f of fragments) t.true(err!.message.includes(f), `${JSON.stringify(f)} not in ${err!.message}`);
  return err!.message;
}

test('a null in a scalar input that is not nullable is INVALID_ARGUMENT naming the column and the first null row', (t) => {
  const s = sig([{ name: 'x', type: types.scalar('float64') }]);
  const batch = batchOf({ x: vectorFromArray([1, 2, null, 4, null], new Float64()) });
  const conform = planConform('r', s, batch.schema);
  invalid(t, () => conform(batch), "runner 'r' method 'm'", "column 'x'", '2 null row(s), the first at row 2', 'cannot be null', 'fill_null');
});

test('a null in a table column that is not nullable is refused; a nullable one passes, and undeclared columns pass as they are', (t) => {
  const strict = sig([{ name: 'rows', type: types.table({ income: new Float64(), debt: new Float64() }) }]);
  const batch = batchOf({
    income: vectorFromArray([1, 2, 3], new Float64()),
    debt: vectorFromArray([5, null, 7], new Float64()),
    note: vectorFromArray([null, 'b', null], new Utf8()),
  });
  invalid(t, () => planConform('loan', strict, batch.schema)(batch), "column 'debt'", 'the first at row 1', 'cannot be null');
  const lenient = sig([{ name: 'rows', type: types.table({ income: new Float64(), debt: new Float64() }, { nullable: ['debt'] }) }]);
  t.is(planConform('loan', lenient, batch.schema)(batch).getChild('debt')!.nullCount, 1);
  const all = sig([{ name: 'rows', type: types.table({ income: new Float64(), debt: new Float64() }, { nullable: true }) }]);
  t.is(planConform('loan', all, batch.schema)(batch).numRows, 3);
});

test('a nullable scalar keeps its nulls through a widening (int32 -> float64) and reaches a JS runner as null', (t) => {
  const s = sig([{ name: 'x', type: types.scalar('float64', { nullable: true }) }]);
  const batch = batchOf({ x: vectorFromArray([1, null, 3], new Int32()) });
  const conformed = planConform('r', s, batch.schema)(batch);
  t.is(String(conformed.getChild('x')!.type), 'Float64');
  t.deepEqual(columnToValue(conformed.getChild('x')!, s.inputs[0]!.type as never), [1, null, 3]);
  // Nullable inputs are plain arrays even with no null in the batch: one type per signature.
  const full = planConform('r', s, batchOf({ x: vectorFromArray([1, 2], new Float64()) }).schema)(batchOf({ x: vectorFromArray([1, 2], new Float64()) }));
  t.deepEqual(columnToValue(full.getChild('x')!, s.inputs[0]!.type as never), [1, 2]);
});

test('nullable strings, int64 scalars and tensors read as arrays with null rows', (t) => {
  t.deepEqual(columnToValue(vectorFromArray(['a', null, 'c'], new Utf8()), types.string({ nullable: true })), ['a', null, 'c']);
  t.deepEqual(columnToValue(vectorFromArray([1n, null], new Int64()), types.scalar('int64', { nullable: true })), [1n, null]);
  const spec = { name: 'v', type: types.tensor('float32', [2], { nullable: true }) };
  const { vector } = valueToColumn([[1, 2], null, [5, 6]], spec);
  t.is(vector.nullCount, 1);
  const rows = columnToValue(vector, spec.type) as (Tensor | null)[];
  t.deepEqual(rows.map((r) => (r ? Array.from(r.data as Float32Array) : null)), [[1, 2], null, [5, 6]]);
});

test('a DataFrame gets NaN for a null number and null for a null string, not the zero under it', (t) => {
  const batch = batchOf({ income: vectorFromArray([1.5, null], new Float64()), age: vectorFromArray([null, 40n], new Int64()), name: vectorFromArray(['a', null], new Utf8()) });
  const df = batchToDataFrame(batch);
  const income = df.column('income').values as number[];
  t.is(income[0], 1.5);
  t.true(Number.isNaN(income[1]));
  t.true(Number.isNaN((df.column('age').values as number[])[0]));
  t.is((df.column('age').values as number[])[1], 40);
  t.deepEqual(df.column('name').values, ['a', null]);
});

test('the SDK encoding refuses a null for an input that is not nullable instead of sending 0, and sends a null for a nullable one', (t) => {
  const err = t.throws(() => valueToColumn([1, null, 3], { name: 'x', type: types.scalar('float64') }));
  t.regex(err!.message, /'x' has a null at row 1, and the input is not nullable/);
  t.throws(() => valueToColumn([[1, 2], [3, null]], { name: 'v', type: types.tensor('float32', [2]) }), { message: /'v' has a null at row 1/ });
  t.throws(() => valueToColumn(['a', null], { name: 's', type: types.string() }), { message: /'s' has a null at row 1/ });
  const { vector } = valueToColumn([1, null, 3], { name: 'x', type: types.scalar('int64', { nullable: true }) });
  t.deepEqual(Array.from(vector as Iterable<unknown>), [1n, null, 3n]);
  t.deepEqual(Array.from(valueToColumn(['a', null], { name: 's', type: types.string({ nullable: true }) }).vector as Iterable<unknown>), ['a', null]);
});

test('nullability is in the signature JSON, the input schema fields and the payload description', (t) => {
  for (const type of [types.scalar('float32', { nullable: true }), types.string({ nullable: true }), types.bytes({ nullable: true }), types.tensor('float32', [3], { nullable: true })]) {
    t.deepEqual(payloadFromJSON(payloadToJSON(type)), type);
    t.true(fieldFor('x', type as never).nullable);
  }
  t.false(fieldFor('x', types.scalar('float32')).nullable);
  t.false('nullable' in payloadToJSON(types.scalar('float32')));
  const table = types.table({ a: new Float64(), b: new Float64() }, { nullable: ['b'] });
  t.deepEqual(payloadToJSON(table), { kind: 'table', columns: { a: 'float64', b: 'float64' }, nullable: ['b'] });
  t.deepEqual(inputSchema(sig([{ name: 't', type: table }])).fields.map((f) => [f.name, f.nullable]), [['a', false], ['b', true]]);
  t.throws(() => types.table({ a: new Float64() }, { nullable: ['z'] }), { message: /'z'/ });
});

test('a JS runner with a nullable input sees null for a missing value', async (t) => {
  const runner = await loadJsRunner(defineRunner({
    name: 'seen',
    methods: {
      m: {
        inputs: { x: types.scalar('float64', { nullable: true }) },
        outputs: { y: types.string() },
        run: ({ x }) => (x as (number | null)[]).map((v) => (v === null ? 'missing' : String(v))),
      },
    },
  }));
  const method = runner.methods[0]!;
  const input = batchOf({ x: vectorFromArray([2.5, null], new Float64()) });
  const out = await method.invoke(planConform('seen', method.signature, input.schema)(input), {}, {});
  t.deepEqual(batchToValues(method.signature.outputs, out)['y'], ['2.5', 'missing']);
});

test('mistyped and misnamed inputs say the fix', (t) => {
  const s = sig([{ name: 'income', type: types.scalar('float64') }]);
  const ints = batchOf({ income: vectorFromArray([1n, 2n], new Int64()) });
  invalid(t, () => planConform('r', s, ints.schema), "column 'income'", 'received Int64', 'pa.array(values, pa.float64())', "column.cast(pa.float64())", ".astype('float64')");
  const renamed = batchOf({ incme: vectorFromArray([1, 2], new Float64()) });
  invalid(t, () => planConform('r', s, renamed.schema), "missing input column 'income'", "rename column 'incme' to 'income'");
  const tensor = sig([{ name: 'features', type: types.tensor('float32', [4]) }]);
  invalid(t, () => planConform('r', tensor, ints.schema), "missing input column 'features'");
  const listed = batchOf({ features: vectorFromArray([[1, 2, 3, 4]]) as never });
  invalid(t, () => planConform('r', tensor, listed.schema), "column 'features'", 'pa.FixedShapeTensorArray.from_numpy_ndarray', 'np.float32');
});

test('`list` marks nullable inputs and table columns with ?', (t) => {
  const signature: MethodSignature = {
    name: 'score',
    inputs: [{ name: 'rows', type: types.table({ income: new Float64(), debt: new Float64() }, { nullable: ['debt'] }) }],
    outputs: [{ name: 'note', type: types.string({ nullable: true }) }],
    batchable: true,
  };
  const table = methodsTable([{ json: {}, signature, runner: 'loan', inputSchema: inputSchema(signature) }]);
  t.regex(table, /rows: table\{income: float64, debt: float64\?\}/);
  t.regex(table, /note: string\?/);
});
