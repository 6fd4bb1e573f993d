/**
 * Test helper: a column of every Arrow type apache-arrow JS builds, four rows each with a
 * null, for the codec suites (ours round trip, and against apache-arrow's own IPC).
 */
import {
  Binary, BinaryView, Bool, DateDay, DateMillisecond, Decimal, DenseUnion, Dictionary, DurationMicrosecond,
  DurationMillisecond, DurationNanosecond, DurationSecond, Field, FixedSizeBinary, FixedSizeList, Float16,
  Float32, Float64, Int16, Int32, Int64, Int8, IntervalDayTime, IntervalMonthDayNano, IntervalYearMonth,
  LargeBinary, LargeList, LargeUtf8, List, Map_, Null, SparseUnion, Struct, TimeMicrosecond, TimeMillisecond,
  TimeNanosecond, TimeSecond, TimestampMicrosecond, TimestampMillisecond, TimestampNanosecond, TimestampSecond,
  Uint16, Uint32, Uint64, Uint8, Utf8, Utf8View, Vector, makeBuilder, vectorFromArray, type DataType, type Union,
} from 'apache-arrow';

const field = <T extends DataType>(name: string, type: T, nullable = true) => new Field(name, type, nullable);
const bytes = (...b: number[]) => Uint8Array.from(b);

/** A union vector; numbers go to child 0, anything else to child 1. */
function unionVector(type: Union, values: unknown[]): Vector {
  const builder = makeBuilder({
    type,
    nullValues: [null],
    valueToChildTypeId: (_b: unknown, value: unknown) => (typeof value === 'number' ? 0 : 1),
  } as Parameters<typeof makeBuilder>[0]);
  for (const value of values) builder.append(value);
  return new Vector([builder.finish().flush()]);
}

/** Four rows per type, each with a null in it (Null is all nulls by definition). */
export const typeCases: { name: string; column: () => Vector }[] = [
  { name: 'int8', column: () => vectorFromArray([-128, null, 0, 127], new Int8()) },
  { name: 'int16', column: () => vectorFromArray([-32768, null, 1, 32767], new Int16()) },
  { name: 'int32', column: () => vectorFromArray([-(2 ** 31), null, 7, 2 ** 31 - 1], new Int32()) },
  { name: 'int64', column: () => vectorFromArray([-(2n ** 63n), null, 0n, 2n ** 63n - 1n], new Int64()) },
  { name: 'uint8', column: () => vectorFromArray([0, null, 1, 255], new Uint8()) },
  { name: 'uint16', column: () => vectorFromArray([0, null, 1, 65535], new Uint16()) },
  { name: 'uint32', column: () => vectorFromArray([0, null, 1, 2 ** 32 - 1], new Uint32()) },
  { name: 'uint64', column: () => vectorFromArray([0n, null, 1n, 2n ** 64n - 1n], new Uint64()) },
  { name: 'float16', column: () => vectorFromArray([1.5, null, -2.25, 65504], new Float16()) },
  { name: 'float32', column: () => vectorFromArray([1.5, null, -Infinity, Number.NaN], new Float32()) },
  { name: 'float64', column: () => vectorFromArray([Math.PI, null, -0.1, Number.MAX_VALUE], new Float64()) },
  { name: 'bool', column: () => vectorFromArray([true, null, false, true], new Bool()) },
  { name: 'utf8', column: () => vectorFromArray(['a', null, '', 'ünïcödé ✓'], new Utf8()) },
  { name: 'large utf8', column: () => vectorFromArray(['a', null, '', 'ünïcödé ✓'], new LargeUtf8()) },
  { name: 'utf8 view', column: () => vectorFromArray(['short', null, 'a string longer than twelve bytes', ''], new Utf8View()) },
  { name: 'binary', column: () => vectorFromArray([bytes(1, 2), null, bytes(), bytes(255)], new Binary()) },
  { name: 'large binary', column: () => vectorFromArray([bytes(1, 2), null, bytes(), bytes(255)], new LargeBinary()) },
  { name: 'binary view', column: () => vectorFromArray([bytes(1), null, new Uint8Array(40).fill(9), bytes()], new BinaryView()) },
  { name: 'fixed-size binary', column: () => vectorFromArray([bytes(1, 2, 3), null, bytes(4, 5, 6), bytes(0, 0, 0)], new FixedSizeBinary(3)) },
  { name: 'date day', column: () => vectorFromArray([new Date(Date.UTC(2024, 1, 29)), null, new Date(0), new Date(Date.UTC(1969, 6, 20))], new DateDay()) },
  { name: 'date millisecond', column: () => vectorFromArray([new Date(Date.UTC(2024, 1, 29, 12, 30)), null, new Date(0), new Date(-1)], new DateMillisecond()) },
  { name: 'time second', column: () => vectorFromArray([0, null, 3600, 86399], new TimeSecond()) },
  { name: 'time millisecond', column: () => vectorFromArray([0, null, 3_600_000, 86_399_999], new TimeMillisecond()) },
  { name: 'time microsecond', column: () => vectorFromArray([0n, null, 3_600_000_000n, 86_399_999_999n], new TimeMicrosecond()) },
  { name: 'time nanosecond', column: () => vectorFromArray([0n, null, 1n, 86_399_999_999_999n], new TimeNanosecond()) },
  { name: 'timestamp second', column: () => vectorFromArray([0, null, 1_700_000_000_000, -1000], new TimestampSecond()) },
  { name: 'timestamp millisecond UTC', column: () => vectorFromArray([0, null, 1_700_000_000_000, -1], new TimestampMillisecond('UTC')) },
  { name: 'timestamp microsecond Europe/Paris', column: () => vectorFromArray([0, null, 1_700_000_000_000_000, 5], new TimestampMicrosecond('Europe/Paris')) },
  { name: 'timestamp nanosecond +05:30', column: () => vectorFromArray([0, null, 1_700_000_000_000_000_000, 5], new TimestampNanosecond('+05:30')) },
  { name: 'duration second', column: () => vectorFromArray([0n, null, -1n, 86_400n], new DurationSecond()) },
  { name: 'duration millisecond', column: () => vectorFromArray([0n, null, -1n, 86_400_000n], new DurationMillisecond()) },
  { name: 'duration microsecond', column: () => vectorFromArray([0n, null, -1n, 2n ** 62n], new DurationMicrosecond()) },
  { name: 'duration nanosecond', column: () => vectorFromArray([0n, null, -1n, 2n ** 63n - 1n], new DurationNanosecond()) },
  {
    name: 'decimal128(18, 2)',
    // Little-endian 32-bit words of the 128-bit unscaled value: 1, null, 123456789, -5.
    column: () => vectorFromArray([
      Uint32Array.from([1, 0, 0, 0]), null, Uint32Array.from([123456789, 0, 0, 0]),
      Uint32Array.from([0xfffffffb, 0xffffffff, 0xffffffff, 0xffffffff]),
    ], new Decimal(2, 18, 128)),
  },
  { name: 'interval day-time', column: () => vectorFromArray([Int32Array.from([1, 2]), null, Int32Array.from([-3, 4]), Int32Array.from([0, 0])], new IntervalDayTime()) },
  // [years, months]; stored as a total month count.
  { name: 'interval year-month', column: () => vectorFromArray([Int32Array.from([1, 1]), null, Int32Array.from([0, 5]), Int32Array.from([-2, 0])], new IntervalYearMonth()) },
  // [months, days, nanoseconds low word, nanoseconds high word].
  { name: 'interval month-day-nano', column: () => vectorFromArray([Int32Array.from([1, 2, 3, 0]), null, Int32Array.from([0, 0, 0, 0]), Int32Array.from([-1, 5, 7, 1])], new IntervalMonthDayNano()) },
  { name: 'list<int32>', column: () => vectorFromArray([[1, 2], null, [], [3, null]], new List(field('item', new Int32()))) },
  { name: 'large list<utf8>', column: () => vectorFromArray([['a', 'b'], null, [], [null, 'c']], new LargeList(field('item', new Utf8()))) },
  { name: 'fixed-size list<int16>[2]', column: () => vectorFromArray([[1, 2], null, [3, null], [5, 6]], new FixedSizeList(2, field('item', new Int16()))) },
  {
    name: 'struct<int32, utf8>',
    column: () => vectorFromArray([{ a: 1, b: 'x' }, null, { a: null, b: 'y' }, { a: 4, b: null }],
      new Struct([field('a', new Int32()), field('b', new Utf8())])),
  },
  {
    name: 'map<utf8, int32>',
    column: () => vectorFromArray([new Map([['a', 1]]), null, new Map(), new Map([['b', 2], ['c', null]])],
      new Map_(field('entries', new Struct<{ key: Utf8; value: Int32 }>([field('key', new Utf8(), false), field('value', new Int32())]), false))),
  },
  {
    name: 'list<struct<float64, list<bool>>>',
    column: () => vectorFromArray([[{ x: 1.5, flags: [true, null] }], null, [], [{ x: null, flags: null }, { x: 2, flags: [] }]],
      new List(field('item', new Struct([field('x', new Float64()), field('flags', new List(field('item', new Bool())))])))),
  },
  { name: 'dense union<int32, utf8>', column: () => unionVector(new DenseUnion([0, 1], [field('i', new Int32()), field('s', new Utf8())]), [1, 'x', null, 2]) },
  { name: 'sparse union<int32, utf8>', column: () => unionVector(new SparseUnion([0, 1], [field('i', new Int32()), field('s', new Utf8())]), [1, 'x', null, 'yz']) },
  { name: 'dictionary<utf8, int32>', column: () => vectorFromArray(['red', null, 'green', 'red'], new Dictionary(new Utf8(), new Int32())) },
  { name: 'dictionary<int64, int8>', column: () => vectorFromArray([5n, 5n, null, -1n], new Dictionary(new Int64(), new Int8())) },
  { name: 'null', column: () => vectorFromArray([null, null, null, null], new Null()) },
];

