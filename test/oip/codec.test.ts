/**
 * Every byte of a V2 request is hostile: damaged and random ModelInferRequest messages and
 * REST bodies, through the same decode and tensor code the server runs, end in a batch
 * that fits the signature or in a FlightError naming the problem (the status the call
 * answers), never in another exception or an allocation the request did not pay for.
 */
import test from 'ava';
import fc from 'fast-check';
import { types } from '../../src/codecs/payload.js';
import { FlightError } from '../../src/flight/index.js';
import { decode, inferRequest } from '../../src/oip/grpc-service.js';
import { parseInfer } from '../../src/oip/http-server.js';
import { messages, type ModelInferRequest } from '../../src/oip/messages.js';
import { requestBatch } from '../../src/oip/tensors.js';
import type { MethodSignature } from '../../src/runner/signature.js';

const SEED = 20261130;
const RUNS = 2000;

const sig: MethodSignature = {
  name: 'm',
  batchable: true,
  inputs: [
    { name: 'x', type: types.tensor('float32', [4]) },
    { name: 'v', type: types.tensor('int64', [-1, 2]) },
    { name: 's', type: types.string() },
    { name: 'b', type: types.scalar('bool') },
  ],
  outputs: [{ name: 'y', type: types.scalar('float64') }],
};

/** A valid request for `sig` with 2 rows, raw. */
function validRequest(): Uint8Array {
  const text = Buffer.concat([Buffer.from([2, 0, 0, 0]), Buffer.from('hi'), Buffer.from([0, 0, 0, 0])]);
  return messages.ModelInferRequest.encode({
    model_name: 'm', model_version: '', id: 'r1', inputs: [
      { name: 'x', datatype: 'FP32', shape: [2, 4] },
      { name: 'v', datatype: 'INT64', shape: [2, 3, 2] },
      { name: 's', datatype: 'BYTES', shape: [2] },
      { name: 'b', datatype: 'BOOL', shape: [2] },
    ],
    outputs: [],
    raw_input_contents: [new Uint8Array(32), new Uint8Array(96), text, new Uint8Array([1, 0])],
  } as unknown as ModelInferRequest);
}

/** Runs bytes through what ModelInfer runs before the model: a batch, or a FlightError. */
function serveBytes(bytes: Uint8Array): 'batch' | 'refused' {
  try {
    const batch = requestBatch('m', sig, inferRequest(decode(messages.ModelInferRequest, bytes, '/inference.GRPCInferenceService/ModelInfer')).inputs);
    if (batch.schema.fields.length !== 4) throw new Error('a batch without every input');
    return 'batch';
  } catch (err) {
    if (err instanceof FlightError) return 'refused';
    throw err;
  }
}

test('the valid request makes a batch of its 2 rows', (t) => {
  const batch = requestBatch('m', sig, inferRequest(messages.ModelInferRequest.decode(validRequest())).inputs);
  t.is(batch.numRows, 2);
  t.deepEqual(batch.getChild('s')!.toArray(), ['hi', '']);
  t.deepEqual([...batch.getChild('b')!], [true, false]);
});

test('damaged ModelInferRequest messages end in a batch or a FlightError', (t) => {
  const base = validRequest();
  const outcomes = { batch: 0, refused: 0 };
  fc.assert(fc.property(
    fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 }),
    fc.double({ min: 0, max: 1, noNaN: true }),
    (edits, keep) => {
      const bytes = Buffer.from(base);
      for (const e of edits) bytes[Math.min(bytes.length - 1, Math.floor(e.at * bytes.length))] = e.value;
      outcomes[serveBytes(bytes.subarray(0, Math.max(1, Math.ceil(keep * bytes.length))))]++;
    },
  ), { seed: SEED, numRuns: RUNS });
  t.true(outcomes.refused > 0);
  t.log(outcomes);
});

test('random tensors (datatype, shape, raw length) end in a batch or a FlightError', (t) => {
  const datatypes = ['BOOL', 'INT8', 'INT64', 'UINT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'FLOAT', ''];
  const outcomes = { batch: 0, refused: 0 };
  fc.assert(fc.property(
    // Each input of the signature, mostly with its own datatype and a plausible shape, so
    // most requests get past the names to the shape and data checks.
    fc.tuple(...(['x', 'v', 's', 'b'] as const).map((name, i) => fc.record({
      name: fc.oneof({ weight: 9, arbitrary: fc.constant(name) }, { weight: 1, arbitrary: fc.constant('zz') }),
      datatype: fc.oneof({ weight: 3, arbitrary: fc.constant(['FP32', 'INT64', 'BYTES', 'BOOL'][i]!) }, { weight: 1, arbitrary: fc.constantFrom(...datatypes) }),
      shape: fc.oneof(
        { weight: 3, arbitrary: fc.constant([[2, 4], [2, 3, 2], [2], [2]][i]!) },
        { weight: 1, arbitrary: fc.array(fc.oneof(fc.integer({ min: -3, max: 6 }), fc.constantFrom(2 ** 31, 2 ** 40, 2 ** 53 - 1)), { maxLength: 4 }) },
      ),
      raw: fc.oneof(
        { weight: 2, arbitrary: fc.constant(new Uint8Array([32, 96, 8, 2][i]!)) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 120 }) },
      ),
    }))),
    (tensors) => {
      const bytes = messages.ModelInferRequest.encode({
        model_name: 'm', model_version: '', id: '', outputs: [],
        inputs: tensors.map((x) => ({ name: x.name, datatype: x.datatype, shape: x.shape })),
        raw_input_contents: tensors.map((x) => x.raw),
      } as unknown as ModelInferRequest);
      outcomes[serveBytes(bytes)]++;
    },
  ), { seed: SEED, numRuns: RUNS });
  t.true(outcomes.refused > 0);
  t.log(outcomes);
});

test('random REST bodies end in a request or a FlightError', (t) => {
  const header = JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }], outputs: [{ name: 'y' }] });
  const body = Buffer.concat([Buffer.from(header), Buffer.alloc(16)]);
  fc.assert(fc.property(
    fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 4 }),
    fc.oneof(fc.constant(undefined), fc.nat({ max: body.length + 4 }).map(String), fc.string({ maxLength: 6 })),
    (edits, headerLength) => {
      const bytes = Buffer.from(body);
      for (const e of edits) bytes[e.at % bytes.length] = e.value;
      try {
        const { request } = parseInfer('m', '', headerLength, bytes);
        requestBatch('m', sig, request.inputs);
      } catch (err) {
        if (!(err instanceof FlightError)) throw err;
      }
    },
  ), { seed: SEED, numRuns: RUNS });
  t.pass();
});
