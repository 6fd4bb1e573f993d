/**
 * Fuzzing a real server's DoPut and DoExchange with corrupted FlightData derived from
 * real encoded streams: bit flips, spliced random bytes and truncation, at the protobuf
 * level and inside the IPC header and body of otherwise valid protobuf. Every call must
 * end with a status (an error naming the problem, or OK), never a hang, crash or
 * unhandled rejection, and the server must serve a good call afterwards.
 */
import test from 'ava';
import fc from 'fast-check';
import { Bool, Dictionary, Field, Int32, Int64, List, Message, Struct, Table, Utf8, vectorFromArray } from 'apache-arrow';
import * as ipc from 'apache-arrow/ipc/metadata/message';
import {
  FlightDataEncoder, FlightDescriptor, Status, decodeFlightData, encodeFlightData, type FlightData,
} from '../../src/flight/index.js';
import { startServer, type Running } from '../helpers/memory-server.js';
import { RawFlightClient, type RawResult, type RawRpc } from '../helpers/raw-grpc.js';

const SEED = 20240611;
const RUNS_PER_PROPERTY = 300;
const CALL_DEADLINE_MS = 10_000;

/** A stream with most of what a decoder handles: a descriptor, dictionaries, nesting, nulls, app_metadata. */
function realStream(descriptor: FlightDescriptor): Buffer[] {
  const dict = new Dictionary(new Utf8(), new Int32());
  const point = new Struct([new Field('x', new Int64(), true), new Field('tags', new List(new Field('item', new Utf8(), true)), true)]);
  const table = (offset: number) => new Table({
    id: vectorFromArray([offset, offset + 1, null, offset + 3], new Int32()),
    name: vectorFromArray(['alpha', null, 'a longer string value', ''], new Utf8()),
    flag: vectorFromArray([true, false, null, true], new Bool()),
    colour: vectorFromArray(['red', 'green', offset ? 'blue' : 'red', null], dict),
    point: vectorFromArray([{ x: 1n, tags: ['a', 'b'] }, null, { x: null, tags: [] }, { x: -5n, tags: null }], point),
  });
  const first = table(0);
  const encoder = new FlightDataEncoder();
  const messages: FlightData[] = [
    encoder.encodeSchema(first.schema, descriptor),
    ...encoder.encodeBatch(first.batches[0]!, new TextEncoder().encode('first')),
    ...encoder.encodeBatch(table(10).batches[0]!),
    encoder.encodeMetadata(new TextEncoder().encode('metadata only')),
  ];
  return messages.map(encodeFlightData);
}

const BASE = realStream(FlightDescriptor.path('fuzz'));

/** Byte-level damage to one buffer; positions are fractions of its length, so one value fits any buffer. */
type Damage =
  | { kind: 'flip'; flips: { at: number; bit: number }[] }
  | { kind: 'splice'; at: number; remove: number; insert: Uint8Array }
  | { kind: 'truncate'; keep: number }
  | { kind: 'overwrite'; at: number; value: number; width: 4 | 8 };

const fraction = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });

/** Values that tend to break length and offset fields. */
const interestingInt = fc.constantFrom(0, 1, 7, 8, 255, 0x7fff, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, -1, -8, 2 ** 40, Number.MAX_SAFE_INTEGER);

const damage: fc.Arbitrary<Damage> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    flips: fc.array(fc.record({ at: fraction, bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('splice' as const), at: fraction, remove: fc.integer({ min: 0, max: 16 }),
    insert: fc.uint8Array({ minLength: 0, maxLength: 32 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), keep: fraction }),
  fc.record({ kind: fc.constant('overwrite' as const), at: fraction, value: interestingInt, width: fc.constantFrom(4 as const, 8 as const) }),
);

/** Applies `damage` to a copy of `bytes`. */
function applyDamage(bytes: Uint8Array, damage: Damage): Uint8Array {
  const n = bytes.byteLength;
  const index = (at: number) => Math.min(Math.max(n - 1, 0), Math.floor(at * n));
  switch (damage.kind) {
    case 'flip': {
      const out = new Uint8Array(bytes);
      if (n === 0) return out;
      for (const { at, bit } of damage.flips) out[index(at)]! ^= 1 << bit;
      return out;
    }
    case 'splice': {
      const at = index(damage.at);
      return Buffer.concat([bytes.subarray(0, at), damage.insert, bytes.subarray(Math.min(n, at + damage.remove))]);
    }
    case 'truncate':
      return new Uint8Array(bytes.subarray(0, Math.floor(damage.keep * n)));
    case 'overwrite': {
      const out = new Uint8Array(bytes);
      if (n < damage.width) return out;
      const at = Math.min(n - damage.width, index(damage.at));
      const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
      if (damage.width === 4) view.setUint32(at, damage.value >>> 0, true);
      else view.setBigInt64(at, BigInt(damage.value), true);
      return out;
    }
  }
}

/** Which part of one FlightData message the damage goes to. */
type Target = 'protobuf' | 'data_header' | 'data_body';

/** Damages message `index` of the stream; IPC targets keep the protobuf framing valid. */
function corrupt(stream: readonly Buffer[], index: number, target: Target, d: Damage): Uint8Array[] {
  const out: Uint8Array[] = [...stream];
  const original = stream[index]!;
  if (target === 'protobuf') {
    out[index] = applyDamage(original, d);
  } else {
    const parsed = decodeFlightData(original);
    const field = target === 'data_header' ? parsed.dataHeader : parsed.dataBody;
    const damaged = applyDamage(field ?? new Uint8Array(0), d);
    out[index] = encodeFlightData({ ...parsed, ...(target === 'data_header' ? { dataHeader: damaged } : { dataBody: damaged }) });
  }
  return out;
}

/**
 * Structural damage to a record or dictionary batch header: a field node, buffer region,
 * batch length or declared body length set to an interesting value, re-encoded as a
 * valid flatbuffer so that the decoder's checks behind the parser are reached.
 */
type Structural = { part: 'nodeLength' | 'nullCount' | 'bufferOffset' | 'bufferLength' | 'batchLength' | 'bodyLength'; which: number; value: number };

const structural: fc.Arbitrary<Structural> = fc.record({
  part: fc.constantFrom('nodeLength', 'nullCount', 'bufferOffset', 'bufferLength', 'batchLength', 'bodyLength'),
  which: fraction,
  value: interestingInt,
});

function corruptStructure(stream: readonly Buffer[], index: number, s: Structural): Uint8Array[] | undefined {
  const parsed = decodeFlightData(stream[index]!);
  if (!parsed.dataHeader) return undefined;
  const message = Message.decode(new Uint8Array(parsed.dataHeader));
  let bodyLength = Number(message.bodyLength);
  const isDictionary = message.isDictionaryBatch();
  if (!message.isRecordBatch() && !isDictionary) return undefined;
  const dictionary = isDictionary ? (message.header() as ipc.DictionaryBatch) : undefined;
  const batch = dictionary ? dictionary.data : (message.header() as ipc.RecordBatch);
  const nodes = [...batch.nodes];
  const buffers = [...batch.buffers];
  let length = batch.length;
  const pick = (n: number) => Math.min(n - 1, Math.floor(s.which * n));
  switch (s.part) {
    case 'nodeLength': { const i = pick(nodes.length); nodes[i] = new ipc.FieldNode(s.value, nodes[i]!.nullCount); break; }
    case 'nullCount': { const i = pick(nodes.length); nodes[i] = new ipc.FieldNode(nodes[i]!.length, s.value); break; }
    case 'bufferOffset': { const i = pick(buffers.length); buffers[i] = new ipc.BufferRegion(s.value, buffers[i]!.length); break; }
    case 'bufferLength': { const i = pick(buffers.length); buffers[i] = new ipc.BufferRegion(buffers[i]!.offset, s.value); break; }
    case 'batchLength': length = s.value; break;
    case 'bodyLength': bodyLength = s.value; break;
  }
  const rebuilt = new ipc.RecordBatch(length, nodes, buffers, null, batch.variadicBufferCounts);
  const header = dictionary ? new ipc.DictionaryBatch(rebuilt, dictionary.id, dictionary.isDelta) : rebuilt;
  const out: Uint8Array[] = [...stream];
  out[index] = encodeFlightData({ ...parsed, dataHeader: Message.encode(Message.from(header, bodyLength)) });
  return out;
}

/** What the server answered, for the summary logged at the end. */
function record(tally: Map<string, number>, result: RawResult): void {
  const key = Status[result.code] ?? String(result.code);
  tally.set(key, (tally.get(key) ?? 0) + 1);
}

/** Asserts one fuzz call ended properly: any status but a hang, and errors that say something. */
function checkResult(result: RawResult): void {
  if (result.code === Status.DEADLINE_EXCEEDED) throw new Error(`the server hung: ${result.details}`);
  if (result.code !== Status.OK && result.details.trim() === '') throw new Error(`status ${Status[result.code]} without a message`);
  // INTERNAL means an exception the Flight layer did not turn into a clear status.
  if (result.code === Status.INTERNAL || result.code === Status.UNKNOWN) {
    throw new Error(`bad input answered ${Status[result.code]}: ${result.details}`);
  }
}

/** A good call of the same kind, which must still work after fuzzing. */
async function goodCall(raw: RawFlightClient, rpc: RawRpc): Promise<RawResult> {
  return raw.call(rpc, BASE, CALL_DEADLINE_MS);
}

async function untilIdle(s: Running): Promise<number> {
  // Bounded: handlers of finished calls must end promptly; 200 polls of one turn each.
  for (let i = 0; i < 200 && s.server.activeCallCount > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return s.server.activeCallCount;
}

for (const rpc of ['DoPut', 'DoExchange'] as const) {
  test(`${rpc}: corrupted and truncated FlightData always ends in a status; the server keeps serving`, async (t) => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    const s = await startServer();
    const raw = new RawFlightClient(s.location);
    const tally = new Map<string, number>();
    try {
      const good = await goodCall(raw, rpc);
      t.is(Status[good.code], 'OK', good.details);

      // Byte-level damage to one message, at the protobuf level or inside the IPC parts.
      await fc.assert(fc.asyncProperty(
        fc.integer({ min: 0, max: BASE.length - 1 }),
        fc.constantFrom<Target>('protobuf', 'data_header', 'data_body'),
        damage,
        fc.boolean(),
        async (index, target, d, cutAfter) => {
          const stream = corrupt(BASE, index, target, d);
          // Sometimes the stream also ends right after the damaged message.
          const sent = cutAfter ? stream.slice(0, index + 1) : stream;
          const result = await raw.call(rpc, sent, CALL_DEADLINE_MS);
          record(tally, result);
          checkResult(result);
        },
      ), { seed: SEED, numRuns: RUNS_PER_PROPERTY, endOnFailure: true, includeErrorInReport: true });

      // Structural damage to batch headers, behind the flatbuffer parser.
      const batchIndexes = BASE.map((b, i) => [b, i] as const).filter(([b]) => {
        const h = decodeFlightData(b).dataHeader;
        return h !== undefined && !Message.decode(new Uint8Array(h)).isSchema();
      }).map(([, i]) => i);
      await fc.assert(fc.asyncProperty(fc.constantFrom(...batchIndexes), structural, async (index, s) => {
        const stream = corruptStructure(BASE, index, s);
        if (!stream) return;
        const result = await raw.call(rpc, stream, CALL_DEADLINE_MS);
        record(tally, result);
        checkResult(result);
      }), { seed: SEED, numRuns: RUNS_PER_PROPERTY, endOnFailure: true, includeErrorInReport: true });

      // Whole streams truncated at every message boundary, and messages cut in the middle.
      for (let keep = 0; keep <= BASE.length; keep++) {
        const result = await raw.call(rpc, BASE.slice(0, keep), CALL_DEADLINE_MS);
        record(tally, result);
        checkResult(result);
      }

      t.log(`${rpc} statuses: ${[...tally].map(([k, v]) => `${k} ${v}`).join(', ')}`);
      const after = await goodCall(raw, rpc);
      t.is(Status[after.code], 'OK', after.details);
      t.is(await untilIdle(s), 0, 'every handler finished');
      t.deepEqual(rejections, []);
    } finally {
      process.off('unhandledRejection', onRejection);
      raw.close();
      await s.close();
    }
  });
}
