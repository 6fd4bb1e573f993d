/**
 * Part (a): our FlightData codec against a plain memcpy of the same bytes, in process.
 *
 * Encode = FlightDataEncoder.encodeBatch + encodeFlightData (the bytes grpc-js sends).
 * Decode = the gRPC deserializer (deserializeFlightData) + FlightDataDecoder.decode, on a
 * buffer laid out as grpc-js hands it over: the message 5 bytes into a fresh allocation
 * (after the frame prefix), so alignment is what it is on a real call. The deserializer
 * may realign the body in place, so each timed decode gets a fresh copy, made untimed.
 */
import { type RecordBatch, tableFromArrays } from 'apache-arrow';
import { FlightDataDecoder, FlightDataEncoder, encodeFlightData } from '../../src/flight/index.js';
import { deserializeFlightData, type ReceivedFlightData } from '../../src/flight/flight-data.js';
import { fmt, median, table } from './stats.js';

const MiB = 1024 * 1024;

interface Shape {
  name: string;
  batch: RecordBatch;
}

function floatShape(mib: number): Shape {
  const values = new Float64Array((mib * MiB) / 8);
  for (let i = 0; i < values.length; i++) values[i] = i * 0.5;
  return { name: `float64 ${mib} MiB`, batch: tableFromArrays({ x: values }).batches[0]! };
}

/** int64, float64 and short utf8 strings: the kind of table a model takes as input. */
function mixedShape(rows: number): Shape {
  const ids = new BigInt64Array(rows);
  const scores = new Float64Array(rows);
  const names: string[] = new Array(rows);
  for (let i = 0; i < rows; i++) {
    ids[i] = BigInt(i);
    scores[i] = i / 3;
    names[i] = `name-${i % 9973}-${'x'.repeat(i % 17)}`;
  }
  return { name: `mixed ${rows / 1000}k rows`, batch: tableFromArrays({ id: ids, score: scores, name: names }).batches[0]! };
}

/** The gRPC receive buffer: 5-byte frame prefix, then the message. Returns the message view. */
function asReceived(message: Buffer): Buffer {
  const framed = Buffer.allocUnsafe(message.byteLength + 5);
  message.copy(framed, 5);
  return framed.subarray(5);
}

/**
 * Times the three operations in interleaved rounds (for at least `budgetMs` and at least
 * 7 rounds), so that load from other processes falls on all of them alike. Returns the
 * median ms per call of each. A setup step runs untimed before each decode.
 */
function timeInterleaved(ops: { encode: () => void; decode: (input: Buffer[]) => void; memcpy: () => void },
  setup: () => Buffer[], budgetMs: number): { encode: number; decode: number; memcpy: number } {
  const samples = { encode: [] as number[], decode: [] as number[], memcpy: [] as number[] };
  const clock = (fn: () => void) => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  const end = performance.now() + budgetMs;
  for (let round = -1; round < 7 || performance.now() < end; round++) {
    const input = setup();
    const e = clock(ops.encode);
    const d = clock(() => ops.decode(input));
    const m = clock(ops.memcpy);
    if (round < 0) continue; // warm-up round
    samples.encode.push(e);
    samples.decode.push(d);
    samples.memcpy.push(m);
  }
  return { encode: median(samples.encode), decode: median(samples.decode), memcpy: median(samples.memcpy) };
}

const deserialize = (buf: Buffer) => deserializeFlightData(buf) as ReceivedFlightData;

/** Measures each shape; returns the printed table. */
export function runCodecBench(budgetMs = 1500): string {
  const shapes = [floatShape(1), floatShape(16), floatShape(64), mixedShape(500_000)];
  const rows: string[][] = [[
    'shape', 'message MiB', 'encode MB/s', 'decode MB/s', 'memcpy MB/s', 'encode/memcpy', 'decode/memcpy', 'decode zero-copy?',
  ]];
  for (const { name, batch } of shapes) {
    const schemaData = encodeFlightData(new FlightDataEncoder().encodeSchema(batch.schema));
    const encodeOnce = () => new FlightDataEncoder().encodeBatch(batch).map(encodeFlightData);
    const messages = encodeOnce();
    const bytes = messages.reduce((n, m) => n + m.byteLength, 0);
    const receive = () => messages.map(asReceived);
    const decodeOnce = (received: Buffer[]) => {
      const decoder = new FlightDataDecoder();
      decoder.decode(deserialize(asReceived(schemaData)));
      let last: RecordBatch | undefined;
      for (const m of received) {
        const msg = decoder.decode(deserialize(m));
        if (msg.kind === 'batch') last = msg.batch;
      }
      return last!;
    };
    // The peer: the same bytes copied once into a fresh buffer, as the encoder must do.
    const memcpy = () => {
      for (const m of messages) Buffer.allocUnsafe(m.byteLength).set(m);
    };
    const { encode: encMs, decode: decMs, memcpy: cpyMs } = timeInterleaved(
      { encode: () => void encodeOnce(), decode: (received) => void decodeOnce(received), memcpy }, receive, budgetMs);
    const mbps = (ms: number) => bytes / 1e6 / (ms / 1000);
    rows.push([
      name, fmt(bytes / MiB, 1), fmt(mbps(encMs)), fmt(mbps(decMs)), fmt(mbps(cpyMs)),
      fmt(cpyMs / encMs, 2), fmt(cpyMs / decMs, 2), zeroCopy(decodeOnce, receive()) ? 'yes' : 'no',
    ]);
  }
  return table(rows);
}

/** Whether the decoded batch's first column points into the received buffers (zero-copy). */
function zeroCopy(decode: (received: Buffer[]) => RecordBatch, received: Buffer[]): boolean {
  const values = decode(received).data.children[0]!.values as ArrayBufferView;
  return received.some((r) => r.buffer === values.buffer);
}

