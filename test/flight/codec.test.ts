/**
 * The FlightData codec without gRPC: every Arrow type apache-arrow JS builds survives
 * encode -> protobuf bytes -> decode, and every protocol violation is refused with an
 * INVALID_ARGUMENT that says what was wrong.
 */
import test from 'ava';
import {Bool, Dictionary, Field, Float64, Int32, List, Message, MessageHeader, MetadataVersion, RecordBatch,
  Schema, Struct, Table, Utf8, makeBuilder, vectorFromArray, type DataType, 
} from 'apache-arrow';
import * as ipc from 'apache-arrow/ipc/metadata/message';
import {
  FlightDataDecoder, FlightDataEncoder, FlightDescriptor, FlightError, Status, decodeFlightData, decodeSchemaBytes,
  encodeFlightData, encodeSchemaBytes, type FlightData,
} from '../../src/flight/index.js';
import { columns, decodeStream, describeSchema, encodeStream, roundtrip } from '../helpers/roundtrip.js';
import { typeCases } from '../helpers/type-matrix.js';

const field = <T extends DataType>(name: string, type: T, nullable = true) => new Field(name, type, nullable);
const bytes = (...b: number[]) => Uint8Array.from(b);

for (const { name, column } of typeCases) {
  test(`${name} round-trips with its nulls`, (t) => {
    const table = new Table({ c: column() });
    const back = roundtrip(table).table;
    t.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
    t.is(back.numRows, 4);
    t.is(back.getChild('c')!.nullCount, table.getChild('c')!.nullCount);
    t.deepEqual(columns(back), columns(table));
  });
}

/** One table with a column of every type, from the cases above. */
function wideTable(): Table {
  return new Table(Object.fromEntries(typeCases.map(({ name, column }) => [name, column()])));
}

test('a table with every type at once round-trips', (t) => {
  const table = wideTable();
  const back = roundtrip(table).table;
  t.deepEqual(describeSchema(back.schema), describeSchema(table.schema));
  t.deepEqual(columns(back), columns(table));
});

test('sliced batches round-trip at every offset, bit-packed validity included', (t) => {
  const table = wideTable();
  const batch = table.batches[0]!;
  for (let start = 0; start < batch.numRows; start++) {
    for (let end = start; end <= batch.numRows; end++) {
      const slice = new Table(batch.slice(start, end));
      const back = roundtrip(slice).table;
      t.is(back.numRows, end - start, `slice ${start}..${end}`);
      t.deepEqual(columns(back), columns(slice), `slice ${start}..${end}`);
    }
  }
});

test('zero-row batches stay in the stream as zero-row batches', (t) => {
  const table = wideTable();
  const full = table.batches[0]!;
  const empty = full.slice(0, 0);
  const result = roundtrip(new Table([empty, full, empty]));
  t.deepEqual(result.batches.map((b) => b.numRows), [0, 4, 0]);
  t.deepEqual(columns(result.table), columns(table));
});

test('a stream with a schema and no batches decodes to an empty table with that schema', (t) => {
  const table = wideTable();
  const result = roundtrip(new Table(table.schema));
  t.is(result.batches.length, 0);
  t.is(result.table.numRows, 0);
  t.deepEqual(describeSchema(result.table.schema), describeSchema(table.schema));
});

test('field and schema metadata survive, nested fields and nullability included', (t) => {
  const point = new Struct([
    new Field('x', new Float64(), false, new Map([['unit', 'm']])),
    new Field('y', new Float64(), true, new Map([['unit', 'm'], ['note', 'ünï']])),
  ]);
  const schema = new Schema(
    [new Field('id', new Int32(), false, new Map([['role', 'key']])), new Field('p', point, true)],
    new Map([['pandas', '{"index":[]}'], ['empty', '']]),
  );
  const ids = vectorFromArray([1, 2], new Int32());
  const points = vectorFromArray([{ x: 1, y: null }, null], point);
  const table = new Table(schema, [new RecordBatch(schema, ids.data[0]!.clone(new Struct(schema.fields), 0, 2, 0, undefined, [ids.data[0]!, points.data[0]!]))]);
  const back = roundtrip(table).table;
  t.deepEqual(describeSchema(back.schema), describeSchema(schema));
  t.is(back.schema.metadata.get('pandas'), '{"index":[]}');
  t.is(back.schema.fields[1]!.type.children[1]!.metadata.get('note'), 'ünï');
  t.false(back.schema.fields[0]!.nullable);
  t.deepEqual(columns(back), columns(table));
});

test('descriptor and app_metadata ride on the messages they were given to', (t) => {
  const encoder = new FlightDataEncoder();
  const table = new Table({ a: vectorFromArray([1, 2, 3], new Int32()) });
  const descriptor = FlightDescriptor.cmd('run');
  const wire = [
    encoder.encodeSchema(table.schema, descriptor, bytes(1)),
    ...encoder.encodeBatch(table.batches[0]!, bytes(2, 2)),
    encoder.encodeMetadata(bytes(3, 3, 3)),
  ].map(encodeFlightData);
  const { messages } = decodeStream(wire);
  t.deepEqual(messages.map((m) => m.kind), ['schema', 'batch', 'metadata']);
  t.is(FlightDescriptor.key(messages[0]!.descriptor!), FlightDescriptor.key(descriptor));
  t.deepEqual(messages.map((m) => [...(m.appMetadata ?? [])]), [[1], [2, 2], [3, 3, 3]]);
  t.is(messages[1]!.descriptor, undefined);
});

// --- dictionaries ---

const dictType = () => new Dictionary(new Utf8(), new Int32());

test('a dictionary shared by several batches is sent once', (t) => {
  const table = new Table({ d: vectorFromArray(['a', 'b', 'a', 'c', null, 'b'], dictType()) });
  const batch = table.batches[0]!;
  // Slices of one batch share its dictionary.
  const result = roundtrip(new Table([batch.slice(0, 2), batch.slice(2, 4), batch.slice(4)]));
  t.deepEqual(result.messages.map((m) => m.kind), ['schema', 'dictionary', 'batch', 'batch', 'batch']);
  t.deepEqual(result.table.getChild('d')!.toArray(), ['a', 'b', 'a', 'c', null, 'b']);
});

test('a different dictionary for a later batch is sent as a replacement', (t) => {
  const type = dictType();
  const first = new Table({ d: vectorFromArray(['a', 'b', 'a'], type) }).batches[0]!;
  const second = new Table({ d: vectorFromArray(['x', 'y', 'y', null], type) }).batches[0]!;
  const result = roundtrip(new Table([first, second]));
  t.deepEqual(result.messages.map((m) => (m.kind === 'dictionary' ? `dictionary delta=${m.isDelta}` : m.kind)),
    ['schema', 'dictionary delta=false', 'batch', 'dictionary delta=false', 'batch']);
  t.deepEqual(result.batches.map((b) => b.getChild('d')!.toArray()), [['a', 'b', 'a'], ['x', 'y', 'y', null]]);
  // The first batch keeps the dictionary it was decoded with.
  t.deepEqual(result.batches[0]!.getChild('d')!.data[0]!.dictionary!.toArray(), ['a', 'b']);
});

test('a dictionary that grows between batches is sent as a delta', (t) => {
  const builder = makeBuilder({ type: dictType(), nullValues: [null] });
  for (const v of ['a', 'b', 'a']) builder.append(v);
  const first = builder.flush();
  for (const v of ['c', 'a', null, 'd']) builder.append(v);
  const second = builder.flush();
  const schema = new Schema([field('d', first.type)]);
  const batchOf = (data: typeof first) => new RecordBatch(schema, data.clone(new Struct(schema.fields), 0, data.length, 0, undefined, [data]));
  const result = roundtrip(new Table(schema, [batchOf(first), batchOf(second)]));
  t.deepEqual(result.messages.map((m) => (m.kind === 'dictionary' ? `dictionary delta=${m.isDelta}` : m.kind)),
    ['schema', 'dictionary delta=false', 'batch', 'dictionary delta=true', 'batch']);
  t.deepEqual(result.batches.map((b) => b.getChild('d')!.toArray()), [['a', 'b', 'a'], ['c', 'a', null, 'd']]);
  t.deepEqual(result.batches[1]!.getChild('d')!.data[0]!.dictionary!.toArray(), ['a', 'b', 'c', 'd']);
});

test('two dictionary columns keep their own dictionaries', (t) => {
  const table = new Table({
    colour: vectorFromArray(['red', 'blue', 'red'], dictType()),
    size: vectorFromArray(['S', 'M', null], dictType()),
  });
  const result = roundtrip(table);
  t.is(result.messages.filter((m) => m.kind === 'dictionary').length, 2);
  t.deepEqual(columns(result.table), { colour: ['red', 'blue', 'red'], size: ['S', 'M', null] });
});

// --- splitting by maxMessageBytes ---

function bigTable(rows: number): Table {
  return new Table({
    i: vectorFromArray(Array.from({ length: rows }, (_, r) => (r % 7 === 0 ? null : r)), new Int32()),
    s: vectorFromArray(Array.from({ length: rows }, (_, r) => `row ${r} ${'x'.repeat(r % 13)}`), new Utf8()),
    b: vectorFromArray(Array.from({ length: rows }, (_, r) => r % 3 === 0), new Bool()),
    l: vectorFromArray(Array.from({ length: rows }, (_, r) => (r % 5 === 0 ? null : [r, -r])), new List(field('item', new Int32()))),
    d: vectorFromArray(Array.from({ length: rows }, (_, r) => ['lo', 'mid', 'hi'][r % 3]!), dictType()),
  });
}

test('batches over maxMessageBytes are split into slices with every row and value kept', (t) => {
  const table = bigTable(5_000);
  const maxMessageBytes = 16 * 1024;
  const result = roundtrip(table, { maxMessageBytes });
  t.true(result.batches.length > 5, `expected many slices, got ${result.batches.length}`);
  t.is(result.batches.reduce((n, b) => n + b.numRows, 0), 5_000);
  t.deepEqual(columns(result.table), columns(table));
  // One dictionary message, however many slices.
  t.is(result.messages.filter((m) => m.kind === 'dictionary').length, 1);
  // Each slice's body stays near the target: rows are cut in proportion to the bytes.
  const bodies = result.wire.slice(1).map((w) => decodeFlightData(w).dataBody?.byteLength ?? 0);
  t.true(Math.max(...bodies) <= 2 * maxMessageBytes, `largest body ${Math.max(...bodies)}`);
});

test('splitting puts app_metadata on the first slice only', (t) => {
  const batch = bigTable(2_000).batches[0]!;
  const encoder = new FlightDataEncoder({ maxMessageBytes: 4 * 1024 });
  const messages = encoder.encodeBatch(batch, bytes(42));
  const records = messages.filter((m) => m.dataBody !== undefined && (m.dataHeader?.byteLength ?? 0) > 0).slice(1);
  t.true(records.length > 2);
  t.deepEqual([...(records[0]!.appMetadata ?? [])], [42]);
  t.true(records.slice(1).every((m) => m.appMetadata === undefined));
});

test('a batch under maxMessageBytes, or of one row, is not split', (t) => {
  const small = roundtrip(bigTable(10), { maxMessageBytes: 1 << 20 });
  t.is(small.batches.length, 1);
  const oneRow = roundtrip(bigTable(1), { maxMessageBytes: 1 });
  t.is(oneRow.batches.length, 1);
  t.deepEqual(columns(oneRow.table), columns(bigTable(1)));
});

// --- alignment ---

/** A copy of `b` whose first byte sits `offset` bytes past an 8-byte boundary. */
function misaligned(b: Uint8Array, offset: number): Uint8Array {
  const backing = new Uint8Array(b.byteLength + offset);
  backing.set(b, offset);
  return backing.subarray(offset);
}

test('FlightData at any byte offset decodes (header and body copied to alignment)', (t) => {
  const table = bigTable(100);
  const wire = encodeStream(table).map(encodeFlightData);
  for (let offset = 1; offset < 8; offset++) {
    const { messages } = decodeStream(wire.map((w) => misaligned(w, offset)));
    const batches = messages.flatMap((m) => (m.kind === 'batch' ? [m.batch] : []));
    t.deepEqual(columns(new Table(batches)), columns(table), `offset ${offset}`);
  }
});

test('misaligned data_header and data_body views decode', (t) => {
  const table = wideTable();
  const decoder = new FlightDataDecoder();
  const batches: RecordBatch[] = [];
  for (const [i, data] of encodeStream(table).entries()) {
    const parsed = decodeFlightData(encodeFlightData(data));
    const msg = decoder.decode({
      ...(parsed.dataHeader ? { dataHeader: misaligned(parsed.dataHeader, 1 + (i % 7)) } : {}),
      ...(parsed.dataBody ? { dataBody: misaligned(parsed.dataBody, 7 - (i % 7)) } : {}),
    });
    if (msg.kind === 'batch') batches.push(msg.batch);
  }
  t.deepEqual(columns(new Table(batches)), columns(table));
});

// --- protocol errors ---

/** The stream of a small dictionary-encoded table: [schema, dictionary, batch]. */
function smallStream(): FlightData[] {
  return encodeStream(new Table({ d: vectorFromArray(['a', 'b', 'a'], dictType()), n: vectorFromArray([1, 2, 3], new Int32()) }));
}

/** Decodes messages in order with one decoder and returns the error the last one raised. */
function decodeError(t: import('ava').ExecutionContext, messages: FlightData[], message: RegExp): void {
  const decoder = new FlightDataDecoder();
  const err = t.throws(() => {
    for (const m of messages) decoder.decode(decodeFlightData(encodeFlightData(m)));
  }, { instanceOf: FlightError });
  t.is(err?.code, Status.INVALID_ARGUMENT);
  t.regex(err?.message ?? '', message);
}

/** A record-batch message whose header is rewritten by `edit` (body left as it was). */
function withHeader(data: FlightData, edit: (header: ipc.RecordBatch, bodyLength: number) => [ipc.RecordBatch, number]): FlightData {
  const message = Message.decode(data.dataHeader!);
  const [header, bodyLength] = edit(message.header() as ipc.RecordBatch, Number(message.bodyLength));
  return { ...data, dataHeader: Message.encode(Message.from(header, bodyLength)) };
}

test('a record batch before the schema is refused', (t) => {
  const [, dictionary, batch] = smallStream();
  decodeError(t, [batch!], /^record batch before schema$/);
  decodeError(t, [dictionary!], /^dictionary batch before schema$/);
});

test('a second schema message is refused', (t) => {
  const [schema] = smallStream();
  decodeError(t, [schema!, schema!], /schema message received after the stream already had a schema/);
});

test('a body shorter than the header declares is refused, naming both sizes', (t) => {
  const [schema, dictionary, batch] = smallStream();
  const body = Buffer.concat((batch!.dataBody as Uint8Array[]).map((p) => Buffer.from(p)));
  const short = { ...batch!, dataBody: body.subarray(0, body.byteLength - 8) };
  decodeError(t, [schema!, dictionary!, short], new RegExp(`^data_body is ${body.byteLength - 8} bytes but the message header declares ${body.byteLength}$`));
});

test('a buffer region outside the body is refused, naming the buffer', (t) => {
  const [schema, dictionary, batch] = smallStream();
  const past = withHeader(batch!, (h, bodyLength) => {
    const buffers = h.buffers.map((b, i) => (i === h.buffers.length - 1 ? new ipc.BufferRegion(bodyLength - 4, 64) : b));
    return [new ipc.RecordBatch(h.length, h.nodes, buffers, null), bodyLength];
  });
  decodeError(t, [schema!, dictionary!, past], /^record batch buffer \d+ spans bytes \d+\.\.\d+ of a \d+-byte body$/);
});

test('a field node with more nulls than values is refused', (t) => {
  const [schema, dictionary, batch] = smallStream();
  const bad = withHeader(batch!, (h, bodyLength) => {
    const nodes = h.nodes.map((n, i) => (i === 0 ? new ipc.FieldNode(n.length, n.length + 1) : n));
    return [new ipc.RecordBatch(h.length, nodes, h.buffers, null), bodyLength];
  });
  decodeError(t, [schema!, dictionary!, bad], /field node 0 has length 3 and null count 4/);
});

test('unknown IPC message types are refused by name or number', (t) => {
  const [schema] = smallStream();
  const tensor = { dataHeader: Message.encode(new Message(0, MetadataVersion.V5, MessageHeader.Tensor)) };
  decodeError(t, [schema!, tensor], /^unsupported IPC message type Tensor$/);
  const unknown = { dataHeader: Message.encode(new Message(0, MetadataVersion.V5, 42 as MessageHeader)) };
  decodeError(t, [unknown], /^unsupported IPC message type 42$/);
});

test('a dictionary for an id no field uses, or a batch before its dictionary, is refused', (t) => {
  const [schema, dictionary, batch] = smallStream();
  decodeError(t, [schema!, batch!], /record batch uses dictionary id \d+ before its dictionary batch/);
  const other = new Table({ e: vectorFromArray(['z'], new Dictionary(new Utf8(), new Int32(), 987)) });
  const [, foreign] = encodeStream(other);
  decodeError(t, [schema!, foreign!], /dictionary batch for id 987, which no field of the schema uses/);
  t.truthy(dictionary);
});

test('a delta dictionary before any dictionary for its id is refused', (t) => {
  const [schema, dictionary] = smallStream();
  const message = Message.decode(dictionary!.dataHeader!);
  const dict = message.header() as ipc.DictionaryBatch;
  const delta = new ipc.DictionaryBatch(dict.data, dict.id, true);
  const deltaFirst = { ...dictionary!, dataHeader: Message.encode(Message.from(delta, Number(message.bodyLength))) };
  decodeError(t, [schema!, deltaFirst], /delta dictionary batch for id \d+ before any dictionary for it/);
});

test('a body without a data_header, or a header that is not a flatbuffer Message, is refused', (t) => {
  decodeError(t, [{ dataBody: bytes(1, 2, 3) }], /FlightData has a 3-byte body but no data_header/);
  decodeError(t, [{ dataHeader: bytes(1, 2, 3) }], /^malformed data_header: offset 0 is outside the 3-byte header$/);
});

test('malformed protobuf is refused naming the FlightData field problem', (t) => {
  const cases: [Uint8Array, RegExp][] = [
    [bytes(0x12), /malformed FlightData: truncated varint/],
    [bytes(0x12, 0x05, 1, 2), /malformed FlightData: field length 5 runs past the end/],
    [bytes(0x10, 0x01), /malformed FlightData: field 2 has wire type 0, expected length-delimited/],
    [bytes(0x0a, 0x02, 0x08, 0x07), /malformed FlightDescriptor: descriptor type must be PATH \(1\) or CMD \(2\), got 7/],
    [bytes(0x3f), /malformed FlightData: field 7 has wire type 7, which Flight messages do not use/],
    [bytes(0x00, 0x00), /malformed FlightData: field number 0 at byte 0/],
  ];
  for (const [wire, message] of cases) {
    const err = t.throws(() => decodeFlightData(wire), { instanceOf: FlightError });
    t.is(err?.code, Status.INVALID_ARGUMENT);
    t.regex(err?.message ?? '', message);
  }
});

test('unknown protobuf fields are skipped', (t) => {
  const [schema] = smallStream();
  const wire = encodeFlightData(schema!);
  // Field 7 varint, field 8 fixed64, field 9 fixed32, field 10 bytes: none are FlightData's.
  const extra = Buffer.concat([bytes(0x38, 0x01), bytes(0x41, ...new Array(8).fill(0)), bytes(0x4d, 0, 0, 0, 0), bytes(0x52, 0x01, 0xff), wire]);
  const msg = new FlightDataDecoder().decode(decodeFlightData(extra));
  t.is(msg.kind, 'schema');
});

/** Every copy of `header` with one aligned 32-bit word set to `value`. */
function withWordOverwritten(header: Uint8Array, value: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 4 <= header.byteLength; at += 4) {
    const copy = new Uint8Array(header);
    new DataView(copy.buffer).setUint32(at, value, true);
    out.push(copy);
  }
  return out;
}

test('flatbuffer vector lengths past the header are refused before anything is built from them', (t) => {
  // A 2-billion entry field list in a few hundred bytes once made apache-arrow build
  // 2 billion Field objects and run out of memory.
  const [schema, dictionary, batch] = smallStream();
  const messages = new Set<string>();
  for (const [i, target] of [schema!, dictionary!, batch!].entries()) {
    for (const header of withWordOverwritten(target.dataHeader as Uint8Array, 0x7fffffff)) {
      const decoder = new FlightDataDecoder();
      try {
        for (const m of [schema!, dictionary!, batch!].slice(0, i)) decoder.decode(decodeFlightData(encodeFlightData(m)));
        decoder.decode(decodeFlightData(encodeFlightData({ ...target, dataHeader: header })));
      } catch (err) {
        t.true(err instanceof FlightError, String(err));
        t.is((err as FlightError).code, Status.INVALID_ARGUMENT);
        messages.add((err as FlightError).message.replace(/\d+/g, 'N'));
      }
    }
  }
  t.true(messages.has('malformed data_header: schema field list declares N entries, more than the N-byte header holds'), [...messages].join('\n'));
  t.true(messages.has('malformed data_header: field node list declares N entries, more than the N-byte header holds'), [...messages].join('\n'));
  t.true(messages.has('malformed data_header: buffer list declares N entries, more than the N-byte header holds'), [...messages].join('\n'));
});

test('a field node longer than an apache-arrow array can be, or a column shorter than its batch, is refused', (t) => {
  const [schema, dictionary, batch] = smallStream();
  const huge = withHeader(batch!, (h, bodyLength) => {
    const nodes = h.nodes.map((n, i) => (i === 1 ? new ipc.FieldNode(2 ** 40, 0) : n));
    return [new ipc.RecordBatch(h.length, nodes, h.buffers, null), bodyLength];
  });
  decodeError(t, [schema!, dictionary!, huge], /^record batch field node 1 has length 1099511627776, over the 2147483647 values an array may hold$/);
  const short = withHeader(batch!, (h, bodyLength) => {
    const nodes = h.nodes.map((n, i) => (i === 1 ? new ipc.FieldNode(2, 0) : n));
    return [new ipc.RecordBatch(h.length, nodes, h.buffers, null), bodyLength];
  });
  decodeError(t, [schema!, dictionary!, short], /^record batch column 1 \("n"\) has 2 rows but the batch declares 3$/);
});

test('schema bytes (FlightInfo.schema, GetSchema) get the same flatbuffer bounds check', (t) => {
  const schema = new Table({ a: vectorFromArray([1], new Int32()), b: vectorFromArray(['x'], new Utf8()) }).schema;
  const encoded = encodeSchemaBytes(schema);
  t.deepEqual(decodeSchemaBytes(encoded)?.fields.map((f) => f.name), ['a', 'b']);
  const refused = new Set<string>();
  // Skip the 8-byte continuation marker and length prefix: overwrite inside the flatbuffer.
  for (const damaged of withWordOverwritten(encoded.subarray(8), 0x7fffffff)) {
    const bytes = new Uint8Array(encoded);
    bytes.set(damaged, 8);
    try {
      decodeSchemaBytes(bytes);
    } catch (err) {
      t.true(err instanceof FlightError, String(err));
      t.is((err as FlightError).code, Status.INVALID_ARGUMENT);
      refused.add((err as FlightError).message.replace(/\d+/g, 'N'));
    }
  }
  t.true(refused.has('malformed schema bytes: malformed data_header: schema field list declares N entries, more than the N-byte header holds'), [...refused].join('\n'));
});

test('a PATH descriptor decoded again from the same bytes is the same frozen object; other paths are their own', (t) => {
  const bytesOf = (...path: string[]) => encodeFlightData({ descriptor: FlightDescriptor.path(...path) });
  const first = decodeFlightData(bytesOf('iris', 'predict')).descriptor!;
  const again = decodeFlightData(bytesOf('iris', 'predict')).descriptor!;
  const other = decodeFlightData(bytesOf('iris', 'score')).descriptor!;
  t.is(again, first);
  t.true(Object.isFrozen(first) && first.type === 'PATH' && Object.isFrozen(first.path));
  t.deepEqual(other, { type: 'PATH', path: ['iris', 'score'] });
  t.throws(() => { (first as unknown as { path: string[] }).path.push('x'); }, { instanceOf: TypeError });
});
