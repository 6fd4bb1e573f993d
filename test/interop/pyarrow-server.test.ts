/**
 * Our FlightClient against a real pyarrow Flight server
 * (test/interop/python/flight_servers/store_server.py): every RPC, every type
 * apache-arrow JS can build, and the gRPC statuses pyarrow sends for its exceptions.
 *
 * The server validates every batch it receives with pyarrow and describes what it
 * stored in pyarrow's own terms, so a type that only round-trips because both of our
 * codec directions share a mistake still fails here.
 */
import test, { type ExecutionContext } from 'ava';
import {
  Binary, BinaryView, Bool, DataType, DateDay, DateMillisecond, Decimal, DenseUnion, Dictionary, DurationMicrosecond,
  DurationMillisecond, DurationNanosecond, DurationSecond, Field, FixedSizeBinary, FixedSizeList, Float16, Float32,
  Float64, Int16, Int32, Int64, Int8, IntervalDayTime, IntervalMonthDayNano, IntervalYearMonth, LargeBinary, LargeList,
  LargeUtf8, List, Map_, Null, RecordBatch, Schema, SparseUnion, Struct, TimeMicrosecond, TimeMillisecond,
  TimeNanosecond, TimeSecond, TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond,
  Uint16, Uint32, Uint64, Uint8, Utf8, Utf8View, Vector, makeData, vectorFromArray, type Data,
} from 'apache-arrow';
import {
  FlightClient, FlightDataDecoder, FlightDataEncoder, FlightDescriptor, FlightError, Status, type FlightChunk,
} from '../../src/flight/index.js';
import { startPythonServer, type PythonServer } from '../helpers/python.js';

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

let server: PythonServer;
let client: FlightClient;
let port: number;

test.before(async () => {
  // No skip: without the venv this throws, naming how to create it, and the file fails.
  server = await startPythonServer('test/interop/python/flight_servers/store_server.py', {
    listening: /^pyarrow flight server listening on (grpc:\/\/127\.0\.0\.1:\d+)$/,
  });
  port = Number(/:(\d+)$/.exec(server.location)![1]);
  client = await FlightClient.connect(server.location);
});

test.after.always(async (t) => {
  client?.close();
  if (server) t.is(await server.stop(), 0, `pyarrow server stderr:\n${server.stderr()}`);
});

let flightCounter = 0;
/** A path no other test uses; tests in this file run concurrently against one server. */
const uniquePath = (name: string) => FlightDescriptor.path('ts', name, String(flightCounter++));

/** One type of the matrix: its column (5 rows, nulls where allowed) and pyarrow's name for the type. */
interface TypeCase {
  name: string;
  column: () => Vector;
  pyType: string;
  /** The column as pyarrow's `to_pylist()`, JSON with `default=str`, where it pins down units and scales. */
  pyValues?: string;
}

const field = (name: string, type: DataType, nullable = true) => new Field(name, type, nullable);
const from = (values: unknown[], type: DataType) => vectorFromArray(values as never[], type as never) as Vector;
const item = (type: DataType) => field('item', type);

const denseUnion = (): Vector => {
  const type = new DenseUnion([0, 1], [field('i', new Int32()), field('s', new Utf8())]);
  const children = [from([1, null, 3], new Int32()).data[0]!, from(['x', null], new Utf8()).data[0]!];
  return new Vector([makeData({
    type, length: 5, nullCount: 0, children,
    typeIds: Int8Array.from([0, 1, 0, 1, 0]), valueOffsets: Int32Array.from([0, 0, 1, 1, 2]),
  } as never) as Data]);
};

const sparseUnion = (): Vector => {
  const type = new SparseUnion([0, 1], [field('n', new Int64()), field('s', new Utf8())]);
  const children = [from([1n, 2n, 3n, null, 5n], new Int64()).data[0]!, from(['a', 'b', null, 'd', 'e'], new Utf8()).data[0]!];
  return new Vector([makeData({ type, length: 5, nullCount: 0, children, typeIds: Int8Array.from([0, 1, 1, 0, 1]) } as never) as Data]);
};

/** A decimal128 value as the four little-endian 32-bit words apache-arrow takes. */
const decimal = (n: bigint) => {
  const words = new Uint32Array(4);
  let v = BigInt.asUintN(128, n);
  for (let i = 0; i < 4; i++, v >>= 32n) words[i] = Number(v & 0xffffffffn);
  return words;
};

const CASES: TypeCase[] = [
  { name: 'int8', column: () => from([-128, null, 0, 127, 1], new Int8()), pyType: 'int8', pyValues: '[-128, null, 0, 127, 1]' },
  { name: 'int16', column: () => from([-32768, null, 0, 32767, 1], new Int16()), pyType: 'int16' },
  { name: 'int32', column: () => from([-(2 ** 31), null, 0, 2 ** 31 - 1, 1], new Int32()), pyType: 'int32' },
  { name: 'int64', column: () => from([-(2n ** 63n), null, 0n, 2n ** 63n - 1n, 1n], new Int64()), pyType: 'int64', pyValues: '[-9223372036854775808, null, 0, 9223372036854775807, 1]' },
  { name: 'uint8', column: () => from([0, null, 255, 7, 1], new Uint8()), pyType: 'uint8' },
  { name: 'uint16', column: () => from([0, null, 65535, 7, 1], new Uint16()), pyType: 'uint16' },
  { name: 'uint32', column: () => from([0, null, 2 ** 32 - 1, 7, 1], new Uint32()), pyType: 'uint32' },
  { name: 'uint64', column: () => from([0n, null, 2n ** 64n - 1n, 7n, 1n], new Uint64()), pyType: 'uint64', pyValues: '[0, null, 18446744073709551615, 7, 1]' },
  { name: 'float16', column: () => from([1.5, null, -2.25, 65504, 0], new Float16()), pyType: 'halffloat', pyValues: '[1.5, null, -2.25, 65504.0, 0.0]' },
  { name: 'float32', column: () => from([1.5, null, -Infinity, 3.5e38, 0], new Float32()), pyType: 'float' },
  { name: 'float64', column: () => from([1.5, null, Infinity, 1.7e308, 5e-324], new Float64()), pyType: 'double' },
  { name: 'bool', column: () => from([true, null, false, true, false], new Bool()), pyType: 'bool', pyValues: '[true, null, false, true, false]' },
  { name: 'null', column: () => from([null, null, null, null, null], new Null()), pyType: 'null' },
  { name: 'utf8', column: () => from(['a', null, 'héllo ✓', '', 'z'.repeat(100)], new Utf8()), pyType: 'string' },
  { name: 'large_utf8', column: () => from(['a', null, 'héllo ✓', '', 'z'.repeat(100)], new LargeUtf8()), pyType: 'large_string' },
  { name: 'utf8_view', column: () => from(['a', null, 'a string longer than twelve bytes', '', 'short'], new Utf8View()), pyType: 'string_view', pyValues: '["a", null, "a string longer than twelve bytes", "", "short"]' },
  { name: 'binary', column: () => from([Uint8Array.of(0, 255), null, new Uint8Array(0), utf8('abc'), new Uint8Array(50).fill(1)], new Binary()), pyType: 'binary' },
  { name: 'large_binary', column: () => from([Uint8Array.of(0, 255), null, new Uint8Array(0), utf8('abc'), new Uint8Array(50).fill(1)], new LargeBinary()), pyType: 'large_binary' },
  { name: 'binary_view', column: () => from([Uint8Array.of(0, 255), null, new Uint8Array(0), utf8('more than twelve bytes here'), utf8('x')], new BinaryView()), pyType: 'binary_view' },
  { name: 'fixed_size_binary', column: () => from([utf8('abc'), null, Uint8Array.of(0, 0, 0), utf8('xyz'), Uint8Array.of(255, 254, 253)], new FixedSizeBinary(3)), pyType: 'fixed_size_binary[3]' },
  { name: 'date32', column: () => from([new Date(Date.UTC(2024, 1, 29)), null, new Date(0), new Date(Date.UTC(1900, 0, 1)), new Date(Date.UTC(2100, 11, 31))], new DateDay()), pyType: 'date32[day]', pyValues: '["2024-02-29", null, "1970-01-01", "1900-01-01", "2100-12-31"]' },
  { name: 'date64', column: () => from([new Date(Date.UTC(2024, 1, 29)), null, new Date(0), new Date(Date.UTC(1900, 0, 1)), new Date(Date.UTC(2100, 11, 31))], new DateMillisecond()), pyType: 'date64[ms]', pyValues: '["2024-02-29", null, "1970-01-01", "1900-01-01", "2100-12-31"]' },
  { name: 'time32_s', column: () => from([0, null, 86399, 3600, 1], new TimeSecond()), pyType: 'time32[s]', pyValues: '["00:00:00", null, "23:59:59", "01:00:00", "00:00:01"]' },
  { name: 'time32_ms', column: () => from([0, null, 86_399_999, 3_600_000, 1], new TimeMillisecond()), pyType: 'time32[ms]' },
  { name: 'time64_us', column: () => from([0n, null, 86_399_999_999n, 3_600_000_000n, 1n], new TimeMicrosecond()), pyType: 'time64[us]', pyValues: '["00:00:00", null, "23:59:59.999999", "01:00:00", "00:00:00.000001"]' },
  { name: 'time64_ns', column: () => from([0n, null, 86_399_999_999_999n, 3_600_000_000_000n, 1n], new TimeNanosecond()), pyType: 'time64[ns]' },
  ...(['UTC', 'America/New_York', '+05:30', null] as const).flatMap((tz): TypeCase[] => {
    const suffix = tz ? `, tz=${tz}` : '';
    // apache-arrow takes timestamps as epoch milliseconds whatever the unit.
    const ms = [1_700_000_000_123, null, 0, -86_400_000, 1];
    return [
      { name: `timestamp_s_${tz ?? 'naive'}`, column: () => from([1_700_000_000_000, null, 0, -86_400_000, 1000], new TimestampSecond(tz)), pyType: `timestamp[s${suffix}]` },
      { name: `timestamp_ms_${tz ?? 'naive'}`, column: () => from(ms, new TimestampMillisecond(tz)), pyType: `timestamp[ms${suffix}]` },
      { name: `timestamp_us_${tz ?? 'naive'}`, column: () => from(ms, new TimestampMicrosecond(tz)), pyType: `timestamp[us${suffix}]` },
      { name: `timestamp_ns_${tz ?? 'naive'}`, column: () => from(ms, new TimestampNanosecond(tz)), pyType: `timestamp[ns${suffix}]` },
    ];
  }),
  { name: 'timestamp_ms_utc_values', column: () => from([1_700_000_000_123, null, 0, -86_400_000, 1], new TimestampMillisecond('UTC')), pyType: 'timestamp[ms, tz=UTC]', pyValues: '["2023-11-14 22:13:20.123000+00:00", null, "1970-01-01 00:00:00+00:00", "1969-12-31 00:00:00+00:00", "1970-01-01 00:00:00.001000+00:00"]' },
  { name: 'duration_s', column: () => from([0n, null, -5n, 2n ** 40n, 1n], new DurationSecond()), pyType: 'duration[s]', pyValues: '["0:00:00", null, "-1 day, 23:59:55", "12725829 days, 0:36:16", "0:00:01"]' },
  { name: 'duration_ms', column: () => from([0n, null, -5n, 2n ** 40n, 1n], new DurationMillisecond()), pyType: 'duration[ms]' },
  { name: 'duration_us', column: () => from([0n, null, -5n, 2n ** 40n, 1n], new DurationMicrosecond()), pyType: 'duration[us]' },
  { name: 'duration_ns', column: () => from([0n, null, -5n, 2n ** 40n, 1n], new DurationNanosecond()), pyType: 'duration[ns]' },
  { name: 'interval_year_month', column: () => from([Int32Array.of(1, 2), null, Int32Array.of(0, 0), Int32Array.of(-1, -3), Int32Array.of(0, 11)], new IntervalYearMonth()), pyType: 'month_interval' },
  { name: 'interval_day_time', column: () => from([Int32Array.of(1, 2), null, Int32Array.of(0, 0), Int32Array.of(-1, -3), Int32Array.of(30, 1000)], new IntervalDayTime()), pyType: 'day_time_interval' },
  { name: 'interval_month_day_nano', column: () => from([Int32Array.of(1, 2, 3, 0), null, Int32Array.of(0, 0, 0, 0), Int32Array.of(-1, -2, -3, -1), Int32Array.of(12, 30, 1000, 0)], new IntervalMonthDayNano()), pyType: 'month_day_nano_interval', pyValues: '[[1, 2, 3], null, [0, 0, 0], [-1, -2, -3], [12, 30, 1000]]' },
  { name: 'decimal128_10_2', column: () => from([decimal(123n), null, decimal(-9_999_999_999n), decimal(0n), decimal(1250n)], new Decimal(2, 10, 128)), pyType: 'decimal128(10, 2)', pyValues: '["1.23", null, "-99999999.99", "0.00", "12.50"]' },
  { name: 'list', column: () => from([[1, 2], null, [], [null, 3], [4]], new List(item(new Int32()))), pyType: 'list<item: int32>', pyValues: '[[1, 2], null, [], [null, 3], [4]]' },
  { name: 'large_list', column: () => from([[1, 2], null, [], [null, 3], [4]], new LargeList(item(new Int32()))), pyType: 'large_list<item: int32>' },
  { name: 'fixed_size_list', column: () => from([[1, 2], null, [null, 3], [4, 5], [0, -1]], new FixedSizeList(2, item(new Float32()))), pyType: 'fixed_size_list<item: float>[2]', pyValues: '[[1.0, 2.0], null, [null, 3.0], [4.0, 5.0], [0.0, -1.0]]' },
  { name: 'struct', column: () => from([{ a: 1, b: 'x' }, null, { a: null, b: null }, { a: 3, b: '' }, { a: 4, b: 'y' }], new Struct([field('a', new Int32()), field('b', new Utf8())])), pyType: 'struct<a: int32, b: string>', pyValues: '[{"a": 1, "b": "x"}, null, {"a": null, "b": null}, {"a": 3, "b": ""}, {"a": 4, "b": "y"}]' },
  { name: 'list_of_struct', column: () => from([[{ a: 1 }], null, [], [{ a: null }, null], [{ a: 2 }]], new List(item(new Struct([field('a', new Int16())])))), pyType: 'list<item: struct<a: int16>>' },
  {
    name: 'map',
    column: () => from([new Map([['a', 1n], ['b', null]]), null, new Map(), new Map([['c', 3n]]), new Map([['d', 4n], ['e', 5n]])],
      new Map_(new Field('entries', new Struct([field('key', new Utf8(), false), field('value', new Int64())]), false) as never)),
    pyType: 'map<string, int64>',
    pyValues: '[[["a", 1], ["b", null]], null, [], [["c", 3]], [["d", 4], ["e", 5]]]',
  },
  { name: 'dense_union', column: denseUnion, pyType: 'dense_union<i: int32=0, s: string=1>', pyValues: '[1, "x", null, null, 3]' },
  { name: 'sparse_union', column: sparseUnion, pyType: 'sparse_union<n: int64=0, s: string=1>', pyValues: '[1, "b", null, null, "e"]' },
  { name: 'dictionary_utf8_int32', column: () => from(['a', null, 'b', 'a', 'c'], new Dictionary(new Utf8(), new Int32())), pyType: 'dictionary<values=string, indices=int32, ordered=0>', pyValues: '["a", null, "b", "a", "c"]' },
  { name: 'dictionary_int64_int8', column: () => from([10n, 20n, null, 20n, 10n], new Dictionary(new Int64(), new Int8())), pyType: 'dictionary<values=int64, indices=int8, ordered=0>' },
  { name: 'dictionary_ordered', column: () => from(['hi', 'lo', null, 'hi', 'hi'], new Dictionary(new Utf8(), new Int16(), null, true)), pyType: 'dictionary<values=string, indices=int16, ordered=1>' },
];

/** The case's column beside a non-null row number, with field and schema metadata. */
function caseBatch(c: TypeCase): RecordBatch {
  const column = c.column();
  const rows = from([0, 1, 2, 3, 4], new Int32());
  const schema = new Schema(
    [new Field('value', column.type, true, new Map([['case', c.name]])), new Field('row', new Int32(), false)],
    new Map([['suite', 'ts-interop']]),
  );
  return new RecordBatch(schema, makeData({
    type: new Struct(schema.fields), length: column.length, nullCount: 0, children: [column.data[0]!, rows.data[0]!],
  }));
}

/** Values in a form ava compares structurally (rows, maps, vectors and typed arrays unwrapped). */
function plain(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (value instanceof Vector) return [...value].map(plain);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>);
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'object') {
    const json = 'toJSON' in value && typeof value.toJSON === 'function' ? value.toJSON() : value;
    if (Array.isArray(json)) return json.map(plain);
    return Object.fromEntries(Object.entries(json as object).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

const describeSchema = (schema: Schema) => ({
  fields: schema.fields.map((f) => ({ name: f.name, type: String(f.type), nullable: f.nullable, metadata: [...f.metadata] })),
  metadata: [...schema.metadata],
});

const rowsOf = (batch: RecordBatch) => batch.schema.fields.map((_f, i) => plain(batch.getChildAt(i)));

/** Same batch boundaries, schemas, values and app_metadata, in order. */
function assertSameChunks(t: ExecutionContext, got: FlightChunk[], sent: FlightChunk[]): void {
  t.is(got.length, sent.length, 'message count');
  got.forEach((chunk, i) => {
    t.is(text(chunk.appMetadata), text(sent[i]!.appMetadata), `app_metadata of message ${i}`);
    if (!sent[i]!.batch) {
      t.is(chunk.batch, undefined, `message ${i} is metadata only`);
      return;
    }
    t.truthy(chunk.batch, `message ${i} has a batch`);
    t.deepEqual(describeSchema(chunk.batch!.schema), describeSchema(sent[i]!.batch!.schema), `schema of message ${i}`);
    t.is(chunk.batch!.numRows, sent[i]!.batch!.numRows, `rows of message ${i}`);
    t.deepEqual(rowsOf(chunk.batch!), rowsOf(sent[i]!.batch!), `values of message ${i}`);
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}

async function put(descriptor: FlightDescriptor, schema: Schema, chunks: FlightChunk[]): Promise<string[]> {
  const stream = client.doPut(descriptor, { deadline: 120_000 });
  await stream.writer.begin(schema);
  for (const { batch, appMetadata } of chunks) {
    if (batch) await stream.writer.write(batch, appMetadata);
    else await stream.writer.writeMetadata(appMetadata!);
  }
  return (await stream.finish()).map((m) => text(m)!);
}

async function getBack(descriptor: FlightDescriptor): Promise<FlightChunk[]> {
  const info = await client.getFlightInfo(descriptor, { deadline: 30_000 });
  return collect(client.doGet(info.endpoints[0]!.ticket, { deadline: 120_000 }));
}

async function action(type: string, body: string | Uint8Array = ''): Promise<string[]> {
  return (await collect(client.doAction(type, body, { deadline: 30_000 }))).map((b) => text(b)!);
}

/**
 * What DoGet returns for `sent`: the same, except that for flights with dictionary
 * columns the server has to use pyarrow's RecordBatchStream (see store_server.py),
 * which sends no app_metadata.
 */
function viaDoGet(sent: FlightChunk[]): FlightChunk[] {
  const hasDictionary = sent.some((c) => c.batch?.schema.fields.some((f) => DataType.isDictionary(f.type)));
  return hasDictionary ? sent.map(({ batch }) => ({ batch })) : sent;
}

interface Described { fields: { name: string; type: string; nullable: boolean; metadata: Record<string, string> }[];
  metadata: Record<string, string>; rows: number; batches: number[]; nullCounts: number[]; pylist: (string | null)[] }

async function describe(descriptor: FlightDescriptor): Promise<Described> {
  const info = await client.getFlightInfo(descriptor, { deadline: 30_000 });
  return JSON.parse((await action('describe', info.endpoints[0]!.ticket))[0]!) as Described;
}

for (const c of CASES) {
  test(`${c.name}: DoPut stores what pyarrow validates and describes as ${c.pyType}; DoGet returns it`, async (t) => {
    const batch = caseBatch(c);
    // Row slices keep offsets into the parent buffers, which the encoder must honour.
    const sent: FlightChunk[] = [{ batch: batch.slice(0, 2), appMetadata: utf8('first') }, { batch: batch.slice(2), appMetadata: utf8('second') }];
    const descriptor = uniquePath(c.name);
    t.deepEqual(await put(descriptor, batch.schema, sent), ['first', 'second'], 'PutResult metadata');

    const seen = await describe(descriptor);
    t.deepEqual(seen.fields, [
      { name: 'value', type: c.pyType, nullable: true, metadata: { case: c.name } },
      { name: 'row', type: 'int32', nullable: false, metadata: {} },
    ]);
    t.deepEqual(seen.metadata, { suite: 'ts-interop' });
    t.deepEqual(seen.batches, [2, 3]);
    // Unions have no validity bitmap: pyarrow counts 0 nulls where apache-arrow counts the children's.
    const nulls = DataType.isUnion(batch.schema.fields[0]!.type) ? 0 : batch.getChildAt(0)!.nullCount;
    t.deepEqual(seen.nullCounts, [nulls, 0]);
    if (c.pyValues) t.is(seen.pylist[0], c.pyValues, 'the values as pyarrow reads them');

    assertSameChunks(t, await getBack(descriptor), viaDoGet(sent));
  });

  test(`${c.name}: ListFlights, GetFlightInfo and GetSchema describe the upload; DoExchange echoes it`, async (t) => {
    const batch = caseBatch(c);
    const descriptor = uniquePath(`${c.name}-info`);
    await put(descriptor, batch.schema, [{ batch }]);

    const info = await client.getFlightInfo(descriptor);
    t.deepEqual(info.descriptor, descriptor);
    t.is(info.totalRecords, 5);
    t.deepEqual(describeSchema(info.schema!), describeSchema(batch.schema));
    t.deepEqual(info.endpoints[0]!.locations, [`grpc+tcp://127.0.0.1:${port}`]);
    t.deepEqual(describeSchema((await client.getSchema(descriptor))!), describeSchema(batch.schema));
    const listed = (await collect(client.listFlights(utf8('ts')))).filter((i) => FlightDescriptor.key(i.descriptor!) === FlightDescriptor.key(descriptor));
    t.is(listed.length, 1);
    t.deepEqual(describeSchema(listed[0]!.schema!), describeSchema(batch.schema));

    const sent: FlightChunk[] = [{ batch, appMetadata: utf8('echo me') }, { batch: batch.slice(1, 3) }];
    assertSameChunks(t, await collect(client.exchange(uniquePath('exchange'), sent, { deadline: 60_000 })), sent);
  });
}

test('a dictionary replaced mid-stream survives DoPut, DoGet and DoExchange', async (t) => {
  const type = new Dictionary(new Utf8(), new Int32());
  const schema = new Schema([new Field('d', type, true)]);
  const batchOf = (values: (string | null)[]) =>
    new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: values.length, nullCount: 0, children: [from(values, type).data[0]!] }));
  const sent: FlightChunk[] = [
    { batch: batchOf(['a', 'b', null, 'a']), appMetadata: utf8('0') },
    { batch: batchOf(['x', 'y', 'x']), appMetadata: utf8('1') },
    { batch: batchOf(['q']), appMetadata: utf8('2') },
  ];
  const descriptor = uniquePath('dictionary-replacement');
  await put(descriptor, schema, sent);
  const seen = await describe(descriptor);
  t.is(seen.pylist[0], '["a", "b", null, "a", "x", "y", "x", "q"]', 'pyarrow applied each replacement');
  assertSameChunks(t, await getBack(descriptor), viaDoGet(sent));
  assertSameChunks(t, await collect(client.exchange(uniquePath('dictionary-exchange'), sent)), sent);
});

test('a delta dictionary from our encoder is applied by pyarrow', async (t) => {
  const type = new Dictionary(new Utf8(), new Int32(), 0);
  const schema = new Schema([new Field('d', type, true)]);
  const first = from(['a', 'b'], new Utf8());
  const extended = first.concat(from(['c'], new Utf8()));
  const batchOf = (indices: number[], dictionary: Vector) => new RecordBatch(schema, makeData({
    type: new Struct(schema.fields), length: indices.length, nullCount: 0,
    children: [makeData({ type, length: indices.length, nullCount: 0, data: Int32Array.from(indices), dictionary })],
  }));
  const sent: FlightChunk[] = [{ batch: batchOf([0, 1, 0], first) }, { batch: batchOf([2, 0], extended) }];
  // The encoder must really send the second dictionary as a delta, or this proves nothing.
  const encoder = new FlightDataEncoder();
  const decoder = new FlightDataDecoder();
  decoder.decode(encoder.encodeSchema(schema) as never);
  const kinds = sent.flatMap(({ batch }) => encoder.encodeBatch(batch!).map((m) => decoder.decode({ ...m, dataBody: Buffer.concat(m.dataBody as Uint8Array[]) })))
    .map((m) => (m.kind === 'dictionary' ? `dictionary delta=${m.isDelta}` : m.kind));
  t.deepEqual(kinds, ['dictionary delta=false', 'batch', 'dictionary delta=true', 'batch']);

  const descriptor = uniquePath('dictionary-delta');
  await put(descriptor, schema, sent);
  t.is((await describe(descriptor)).pylist[0], '["a", "b", "a", "c", "a"]');
  assertSameChunks(t, await getBack(descriptor), sent);
});

test('zero-row batches and a schema-only stream round trip', async (t) => {
  const batch = caseBatch(CASES.find((c) => c.name === 'struct')!);
  const empty = batch.slice(0, 0);
  const sent: FlightChunk[] = [{ batch: empty, appMetadata: utf8('empty first') }, { batch }, { batch: empty }, { batch: empty, appMetadata: utf8('empty last') }];
  const descriptor = uniquePath('zero-rows');
  await put(descriptor, batch.schema, sent);
  t.deepEqual((await describe(descriptor)).batches, [0, 5, 0, 0]);
  assertSameChunks(t, await getBack(descriptor), sent);
  assertSameChunks(t, await collect(client.exchange(uniquePath('zero-rows-exchange'), sent)), sent);

  const schemaOnly = uniquePath('schema-only');
  t.deepEqual(await put(schemaOnly, batch.schema, []), []);
  t.is((await client.getFlightInfo(schemaOnly)).totalRecords, 0);
  const reader = client.doGet((await client.getFlightInfo(schemaOnly)).endpoints[0]!.ticket);
  t.deepEqual(await collect(reader), []);
  t.deepEqual(describeSchema((await reader.schema())!), describeSchema(batch.schema));
});

test('a 72 MiB batch round trips through DoPut and DoGet', async (t) => {
  const values = new Float64Array(9 * 1024 * 1024);
  for (let i = 0; i < values.length; i++) values[i] = i * 0.5 - 1e6;
  const batch = new RecordBatch(
    new Schema([new Field('big', new Float64(), false)]),
    makeData({ type: new Struct([new Field('big', new Float64(), false)]), length: values.length, nullCount: 0,
      children: [makeData({ type: new Float64(), length: values.length, nullCount: 0, data: values })] }),
  );
  const descriptor = uniquePath('large');
  await put(descriptor, batch.schema, [{ batch, appMetadata: utf8('big') }]);
  t.deepEqual((await describe(descriptor)).batches, [values.length]);
  const [chunk, ...rest] = await getBack(descriptor);
  t.is(rest.length, 0);
  t.is(text(chunk!.appMetadata), 'big');
  const got = chunk!.batch!.getChildAt(0)!.toArray() as Float64Array;
  t.is(got.length, values.length);
  t.true(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(values.buffer)), 'every byte of the column');
  // Free the server's copy; other tests' flights stay.
  await action('clear', (await client.getFlightInfo(descriptor)).endpoints[0]!.ticket);
  await t.throwsAsync(client.getFlightInfo(descriptor), { instanceOf: FlightError });
});

test('1,000 small batches keep their order and app_metadata through DoPut, DoGet and DoExchange', async (t) => {
  const schema = new Schema([new Field('i', new Int32(), false), new Field('s', new Utf8(), true)]);
  const sent: FlightChunk[] = Array.from({ length: 1000 }, (_, i) => ({
    batch: new RecordBatch(schema, makeData({ type: new Struct(schema.fields), length: 2, nullCount: 0,
      children: [from([i, -i], new Int32()).data[0]!, from([String(i), null], new Utf8()).data[0]!] })),
    appMetadata: utf8(`m${i}`),
  }));
  const descriptor = uniquePath('thousand');
  t.deepEqual(await put(descriptor, schema, sent), sent.map((c) => text(c.appMetadata)));
  assertSameChunks(t, await getBack(descriptor), sent);
  assertSameChunks(t, await collect(client.exchange(uniquePath('thousand-exchange'), sent, { deadline: 120_000 })), sent);
});

test('DoExchange echoes app_metadata-only messages in place', async (t) => {
  const batch = caseBatch(CASES.find((c) => c.name === 'float64')!);
  const sent: FlightChunk[] = [
    { appMetadata: utf8('before the first batch') }, { batch, appMetadata: utf8('with batch') },
    { appMetadata: Uint8Array.of(0, 1, 255) }, { batch }, { appMetadata: utf8('bye') },
  ];
  assertSameChunks(t, await collect(client.exchange(uniquePath('metadata-only'), sent, { schema: batch.schema })), sent);
});

test('ListActions and DoAction answer as the pyarrow server defines them', async (t) => {
  const actions = await collect(client.listActions());
  t.deepEqual(actions.map((a) => a.type), ['healthcheck', 'clear', 'echo', 'describe', 'raise']);
  t.true(actions.every((a) => a.description.length > 0));
  const body = Uint8Array.from({ length: 256 }, (_, i) => i);
  t.deepEqual(await collect(client.doAction('echo', body)), [body]);
  t.is(JSON.parse((await action('healthcheck'))[0]!).status, 'ok');
});

test('ListFlights sends its criteria: the server filters by them', async (t) => {
  const batch = caseBatch(CASES[0]!);
  const mine = FlightDescriptor.path('criteria-test', 'one');
  await put(mine, batch.schema, [{ batch }]);
  const listed = await collect(client.listFlights(utf8('criteria-test')));
  t.deepEqual(listed.map((i) => i.descriptor), [mine]);
  t.deepEqual(await collect(client.listFlights(utf8('no-such-prefix'))), []);
});

/** What pyarrow 26 sends for each exception a handler raises. */
const RAISED: [string, Status][] = [
  ['ArrowKeyError', Status.NOT_FOUND],
  ['KeyError', Status.NOT_FOUND],
  ['ArrowInvalid', Status.INVALID_ARGUMENT],
  ['ValueError', Status.INVALID_ARGUMENT],
  ['ArrowNotImplementedError', Status.UNIMPLEMENTED],
  ['NotImplementedError', Status.UNIMPLEMENTED],
  ['FlightUnauthenticatedError', Status.UNAUTHENTICATED],
  ['FlightUnauthorizedError', Status.PERMISSION_DENIED],
  ['FlightUnavailableError', Status.UNAVAILABLE],
  ['FlightCancelledError', Status.CANCELLED],
  ['FlightTimedOutError', Status.DEADLINE_EXCEEDED],
  ['FlightInternalError', Status.INTERNAL],
  ['FlightServerError', Status.UNKNOWN],
  ['ArrowTypeError', Status.UNKNOWN],
  ['ArrowIndexError', Status.UNKNOWN],
  ['ArrowCapacityError', Status.UNKNOWN],
  ['ArrowException', Status.UNKNOWN],
  ['RuntimeError', Status.UNKNOWN],
];

for (const [error, code] of RAISED) {
  test(`a pyarrow ${error} arrives as FlightError ${Status[code]} with its message; the server serves on`, async (t) => {
    const message = `asked to raise ${error} ✓`;
    const err = await t.throwsAsync(action('raise', JSON.stringify({ error, message })), { instanceOf: FlightError });
    t.is(err!.codeName, Status[code]);
    t.true(err!.message.includes(message), err!.message);
    t.is(JSON.parse((await action('healthcheck'))[0]!).status, 'ok');
  });
}

test('unknown flights and tickets are NOT_FOUND with the server\'s message', async (t) => {
  const missing = FlightDescriptor.path('ts', 'never stored');
  for (const call of [() => client.getFlightInfo(missing), () => client.getSchema(missing), () => collect(client.doGet('{"path": ["nope"]}'))]) {
    const err = await t.throwsAsync(call(), { instanceOf: FlightError });
    t.is(err!.code, Status.NOT_FOUND);
    t.regex(err!.message, /^no flight for ticket \{"path": \[/);
  }
  t.is(JSON.parse((await action('healthcheck'))[0]!).status, 'ok');
});

test('RPCs pyarrow does not implement are UNIMPLEMENTED: PollFlightInfo, Handshake without auth, unknown actions', async (t) => {
  const poll = await t.throwsAsync(client.pollFlightInfo(FlightDescriptor.path('ts', 'x')), { instanceOf: FlightError });
  t.is(poll!.code, Status.UNIMPLEMENTED);
  const handshake = await t.throwsAsync(client.handshake([utf8('hello')]), { instanceOf: FlightError });
  t.is(handshake!.code, Status.UNIMPLEMENTED);
  t.regex(handshake!.message, /does not have an authentication mechanism/);
  const unknown = await t.throwsAsync(action('no-such-action'), { instanceOf: FlightError });
  t.is(unknown!.code, Status.UNIMPLEMENTED);
  t.regex(unknown!.message, /unknown action 'no-such-action'/);
  t.is(JSON.parse((await action('healthcheck'))[0]!).status, 'ok');
});
