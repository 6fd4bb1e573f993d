/**
 * The kserve backend's reading of a peer's words, which are hostile: metadata that it
 * cannot serve exactly is refused at load, and an answer whose parts do not fit the call
 * (datatype, shape, raw size, BYTES framing, BOOL bytes, typed ranges) is refused naming
 * the output. The messages here are what a peer could send; real peers are in
 * test/interop/kserve.
 */
import test from 'ava';
import { Float16, Int64 } from 'apache-arrow';
import { answerToBatch, MalformedAnswer, type InferResponseMessage } from '../../src/backends/kserve/response.js';
import { kservePlan, type V2ModelMetadata } from '../../src/backends/kserve/signature.js';
import { outputSchema } from '../../src/runner/signature.js';

const MODEL = "kserve model 'm' at 127.0.0.1:1";

function metadata(outputs: V2ModelMetadata['outputs']): V2ModelMetadata {
  return { name: 'm', versions: ['1'], platform: 'test', inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '2'] }], outputs };
}

const plan = kservePlan(MODEL, metadata([
  { name: 'y', datatype: 'FP32', shape: ['-1', '2'] },
  { name: 's', datatype: 'BYTES', shape: ['-1', '1'] },
  { name: 'b', datatype: 'BOOL', shape: ['-1'] },
]), 8, { types: { s: 'string' } });
const schema = outputSchema(plan.signature);

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);
const bytesElements = (...elements: Uint8Array[]) => {
  const out = Buffer.alloc(elements.reduce((n, e) => n + 4 + e.length, 0));
  let pos = 0;
  for (const e of elements) { out.writeUInt32LE(e.length, pos); out.set(e, pos + 4); pos += 4 + e.length; }
  return out;
};

/** A well-formed answer to a 2-row call, with `change` applied. */
function answer(change: (r: Required<InferResponseMessage>) => void = () => {}): InferResponseMessage {
  const r: Required<InferResponseMessage> = {
    model_name: 'm',
    id: 'req',
    outputs: [
      { name: 'y', datatype: 'FP32', shape: ['2', '2'] },
      { name: 's', datatype: 'BYTES', shape: ['2', '1'] },
      { name: 'b', datatype: 'BOOL', shape: ['2'] },
    ],
    raw_output_contents: [f32(1, 2, 3, 4), bytesElements(Buffer.from('é'), Buffer.from('')), Uint8Array.from([1, 0])],
  };
  change(r);
  return r;
}

const refused = (t: import('ava').ExecutionContext, response: InferResponseMessage, fragment: string) => {
  const err = t.throws(() => answerToBatch(plan, schema, response, 2, 'req'), { instanceOf: MalformedAnswer });
  t.true(err!.message.includes(fragment), err!.message);
};

test('a well-formed answer becomes the output columns', (t) => {
  const batch = answerToBatch(plan, schema, answer(), 2, 'req');
  t.deepEqual(batch.getChild('y')!.toArray().map((row: { toArray(): Float32Array }) => [...row.toArray()]), [[1, 2], [3, 4]]);
  t.deepEqual(batch.getChild('s')!.toArray(), ['é', '']);
  t.deepEqual([...batch.getChild('b')!.toArray()], [true, false]);
  t.deepEqual(plan.signature.limits, { maxBatchRows: 8 });
});

test('raw bytes that do not hold shape x datatype are refused', (t) => {
  refused(t, answer((r) => { r.raw_output_contents[0] = f32(1, 2, 3); }), "output 'y' has 12 raw bytes; its shape and datatype need 4 x 4 = 16");
});

test('a shape that does not fit the call is refused', (t) => {
  refused(t, answer((r) => { r.outputs[0]!.shape = ['3', '2']; r.raw_output_contents[0] = f32(1, 2, 3, 4, 5, 6); }), "output 'y' has shape [3, 2]; expected [2, 2]");
  refused(t, answer((r) => { r.outputs[0]!.shape = ['2', '-2']; }), 'has dimension "-2"');
});

test('another datatype than the metadata promised is refused', (t) => {
  refused(t, answer((r) => { r.outputs[0]!.datatype = 'FP64'; }), "output 'y' has datatype \"FP64\"; its metadata says FP32");
});

test('BYTES framing is checked: lengths past the end, too few elements, bytes left over, bad UTF-8', (t) => {
  const huge = Buffer.alloc(8);
  huge.writeUInt32LE(0xffffffff, 0);
  refused(t, answer((r) => { r.raw_output_contents[1] = huge; }), 'BYTES element 0 declares 4294967295 bytes, but only 4 remain');
  refused(t, answer((r) => { r.raw_output_contents[1] = bytesElements(Buffer.from('a')); }), 'needs 2 BYTES elements, each at least its 4-byte length, but the raw data has only 5 bytes');
  refused(t, answer((r) => { r.raw_output_contents[1] = Buffer.concat([bytesElements(Buffer.from('a'), Buffer.from('b')), Buffer.from([0])]); }), 'has 1 bytes after its 2 elements');
  refused(t, answer((r) => { r.raw_output_contents[1] = bytesElements(Uint8Array.from([0xc3]), Buffer.from('b')); }), 'element 0 is not valid UTF-8');
});

test('a BOOL byte other than 0 or 1 is refused', (t) => {
  refused(t, answer((r) => { r.raw_output_contents[2] = Uint8Array.from([1, 2]); }), 'element 1 is byte 2, not a BOOL');
});

test('a missing, doubled or unpaired output is refused, and so is another request id', (t) => {
  refused(t, answer((r) => { r.outputs.pop(); r.raw_output_contents.pop(); }), "its answer lacks output 'b'");
  refused(t, answer((r) => { r.outputs.push({ name: 'b', datatype: 'BOOL', shape: ['2'] }); r.raw_output_contents.push(Uint8Array.from([0, 0])); }), "output 'b' twice");
  refused(t, answer((r) => { r.raw_output_contents.pop(); }), 'sent 2 raw_output_contents for 3 outputs');
  refused(t, answer((r) => { r.id = 'other'; }), 'answered request id "other"');
});

test('typed contents are checked for count and range; FP16 has no typed form', (t) => {
  const typedPlan = kservePlan(MODEL, metadata([
    { name: 'i8', datatype: 'INT8', shape: ['-1'] },
    { name: 'i64', datatype: 'INT64', shape: ['-1'] },
    { name: 'h', datatype: 'FP16', shape: ['-1'] },
  ]), undefined);
  const typedSchema = outputSchema(typedPlan.signature);
  const response = (i8: number[], h?: number[]): InferResponseMessage => ({
    outputs: [
      { name: 'i8', datatype: 'INT8', shape: ['2'], contents: { int_contents: i8 } },
      // int64 arrives as decimal strings (proto-loader longs: String): no rounding.
      { name: 'i64', datatype: 'INT64', shape: ['2'], contents: { int64_contents: ['9007199254740993', '-1'] } },
      { name: 'h', datatype: 'FP16', shape: ['2'], contents: h ? { fp32_contents: h } : {} },
    ],
  });
  const err = t.throws(() => answerToBatch(typedPlan, typedSchema, response([1, 300]), 2, 'req'), { instanceOf: MalformedAnswer });
  t.true(err!.message.includes("output 'i8' element 1 is 300, outside int8"), err!.message);
  const fp16 = t.throws(() => answerToBatch(typedPlan, typedSchema, response([1, 2], [1, 2]), 2, 'req'), { instanceOf: MalformedAnswer });
  t.true(fp16!.message.includes("output 'h' is FP16 without raw contents"), fp16!.message);
  t.true(typedSchema.fields[2]!.type instanceof Float16);
  t.true(typedSchema.fields[1]!.type instanceof Int64);
  const count = t.throws(() => answerToBatch(typedPlan, typedSchema, response([1]), 2, 'req'), { instanceOf: MalformedAnswer });
  t.true(count!.message.includes("output 'i8' has 1 typed values; its shape needs 2"), count!.message);
});

test('metadata the backend cannot serve exactly is refused at load, naming the model', (t) => {
  const load = (outputs: V2ModelMetadata['outputs'], maxBatchSize?: number, options = {}) => () => kservePlan(MODEL, metadata(outputs), maxBatchSize, options);
  t.throws(load([{ name: 's', datatype: 'BYTES', shape: ['-1', '2'] }]), { message: `${MODEL}: BYTES output 's' has per-example shape [2]; only one element per example (shape [] or [1]) is served` });
  t.throws(load([{ name: 'z', datatype: 'BF16', shape: ['-1'] }]), { message: /output 'z' has datatype "BF16"; served: BOOL, .*BYTES/ });
  t.throws(load([{ name: 'y', datatype: 'FP32', shape: ['3'] }], 4), { message: /max_batch_size 4, yet not every metadata shape starts with the -1 batch dimension/ });
  t.throws(load([{ name: 'y', datatype: 'FP32', shape: ['-1'] }], 0, { batchable: true }), { message: /option batchable is true, but its ModelConfig says max_batch_size 0/ });
  t.throws(load([{ name: 'y', datatype: 'FP32', shape: ['-1'] }], undefined, { types: { y: 'string' } }), { message: /sets 'y' to string, but it is FP32, not BYTES/ });
  t.throws(load([{ name: 'y', datatype: 'FP32', shape: ['-1.5'] }]), { message: /dimension "-1.5" is not an integer >= -1/ });
  t.throws(load([{ name: 'y', datatype: 'FP32', shape: ['-1'] }, { name: 'y', datatype: 'INT8', shape: ['-1'] }]), { message: `${MODEL}: its metadata lists output 'y' twice` });
  // Without ModelConfig (MLServer) the shapes decide; a non-batchable model keeps its full shapes.
  const fixed = kservePlan(MODEL, { ...metadata([{ name: 'y', datatype: 'FP32', shape: ['3'] }]), inputs: [{ name: 'x', datatype: 'FP32', shape: ['2'] }] }, undefined);
  t.false(fixed.signature.batchable);
  t.deepEqual(fixed.signature.outputs[0]!.type, { kind: 'tensor', dtype: 'float32', shape: [3] });
});
