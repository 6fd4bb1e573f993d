/**
 * A V2 ModelInferResponse back to Arrow columns, exactly. Every byte of it is the peer's
 * and is checked before use: each wanted output must be there with the datatype the
 * metadata promised, a shape that fits the call (rows) and the signature, and raw bytes
 * (or typed contents) holding exactly shape x datatype. Anything else is an error naming
 * the output, never a column built from what happened to arrive.
 */
import type { Schema, FixedSizeList, RecordBatch, Vector } from 'apache-arrow';
import { batchFromSchema } from '../../codecs/batch.js';
import { typedArrayFor, type DType, type TypedArray } from '../../codecs/dtypes.js';
import { Tensor, fixedShapeColumn, primitiveColumn, variableShapeColumn } from '../../codecs/tensor.js';
import { bytesColumn, splitBytes } from '../../codecs/v2-bytes.js';
import { wireElementBytes } from './datatypes.js';
import type { KserveModelPlan, WireTensor } from './signature.js';

/** InferTensorContents as proto-loader reads it (keepCase, arrays, longs as strings). */
export interface TensorContentsMessage {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: (string | number)[];
  uint_contents?: number[];
  uint64_contents?: (string | number)[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** ModelInferResponse as proto-loader reads it. */
export interface InferResponseMessage {
  model_name?: string;
  id?: string;
  outputs?: { name?: string; datatype?: string; shape?: (string | number)[]; contents?: TensorContentsMessage | null }[];
  raw_output_contents?: Uint8Array[];
}

/** A malformed answer: the caller reports it as the peer's fault. */
export class MalformedAnswer extends Error {}

/** The answer to a call of `rows` rows as a batch of the runner's output schema. */
export function answerToBatch(plan: KserveModelPlan, schema: Schema, response: InferResponseMessage, rows: number, id: string): RecordBatch {
  const outputs = response.outputs ?? [];
  const raw = response.raw_output_contents ?? [];
  if (response.id !== undefined && response.id !== id) {
    throw new MalformedAnswer(`it answered request id ${JSON.stringify(response.id)} to request ${JSON.stringify(id)}`);
  }
  if (raw.length && raw.length !== outputs.length) {
    throw new MalformedAnswer(`it sent ${raw.length} raw_output_contents for ${outputs.length} outputs (one each is required)`);
  }
  const batchRows = plan.signature.batchable ? rows : 1;
  const columns = plan.outputs.map((wire, i) => {
    const index = outputs.findIndex((o) => o.name === wire.name);
    if (index < 0) throw new MalformedAnswer(`its answer lacks output '${wire.name}' (it sent: ${outputs.map((o) => o.name).join(', ') || 'none'})`);
    if (outputs.findIndex((o, j) => j > index && o.name === wire.name) >= 0) throw new MalformedAnswer(`its answer has output '${wire.name}' twice`);
    const out = outputs[index]!;
    try {
      return decodeOutput(wire, out.datatype ?? '', out.shape ?? [], raw.length ? raw[index]! : undefined, out.contents ?? undefined,
        plan.signature.batchable, batchRows, schema.fields[i]!.type as FixedSizeList);
    } catch (err) {
      throw new MalformedAnswer(`output '${wire.name}' ${(err as Error).message}`);
    }
  });
  return batchFromSchema(schema, columns, batchRows);
}

/** The answer's shape as numbers, checked against the call's rows and the signature. */
function checkedShape(wire: WireTensor, shape: (string | number)[], batchable: boolean, rows: number): number[] {
  const dims = shape.map((d) => {
    const n = Number(d);
    if (!Number.isSafeInteger(n) || n < 0) throw new Error(`has dimension ${JSON.stringify(d)} in its shape`);
    return n;
  });
  const expected = batchable ? [rows, ...wire.exampleShape] : wire.exampleShape;
  const fits = dims.length === expected.length && dims.every((d, i) => expected[i]! < 0 || d === expected[i]);
  if (!fits) {
    throw new Error(`has shape [${dims.join(', ')}]; expected [${expected.map((d) => (d < 0 ? '*' : d)).join(', ')}]${batchable ? ` for a call of ${rows} rows` : ''}`);
  }
  return dims;
}

function decodeOutput(
  wire: WireTensor, datatype: string, shape: (string | number)[], raw: Uint8Array | undefined,
  contents: TensorContentsMessage | undefined, batchable: boolean, rows: number, arrowType: FixedSizeList,
): Vector {
  if (datatype !== wire.datatype) throw new Error(`has datatype ${JSON.stringify(datatype)}; its metadata says ${wire.datatype}`);
  const dims = checkedShape(wire, shape, batchable, rows);
  const count = dims.reduce((a, b) => a * b, 1);
  if (wire.bytesKind) {
    const utf8 = wire.bytesKind !== 'bytes';
    const column = bytesColumn(raw ? splitBytes(raw, count) : typedList(contents?.bytes_contents, count), utf8);
    if (wire.bytesKind === 'json') {
      for (let i = 0; i < column.length; i++) {
        try { JSON.parse(column.get(i) as string); } catch { throw new Error(`element ${i} is not valid JSON`); }
      }
    }
    return column;
  }
  const dtype = wire.dtype!;
  const data = raw ? rawValues(dtype, raw, count) : typedValues(dtype, contents, count);
  const exampleShape = batchable ? dims.slice(1) : dims;
  if (!exampleShape.length) return primitiveColumn(dtype, data);
  const tensor = new Tensor(dtype, data, [rows, ...exampleShape]);
  if (wire.exampleShape.every((d) => d >= 0)) return fixedShapeColumn(tensor, arrowType);
  return variableShapeColumn(Array.from({ length: rows }, (_, r) => tensor.row(r)), dtype, exampleShape.length);
}

/** Raw little-endian values, copied (the peer's buffer need not be aligned for the type). */
function rawValues(dtype: DType, raw: Uint8Array, count: number): TypedArray {
  const size = wireElementBytes(dtype);
  if (raw.length !== count * size) throw new Error(`has ${raw.length} raw bytes; its shape and datatype need ${count} x ${size} = ${count * size}`);
  const Out = typedArrayFor(dtype);
  const out = new Out(count);
  new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(raw);
  if (dtype === 'bool') {
    const bad = (out as Uint8Array).findIndex((b) => b > 1);
    if (bad >= 0) throw new Error(`element ${bad} is byte ${(out as Uint8Array)[bad]}, not a BOOL (0 or 1)`);
  }
  return out;
}

function typedList<T>(list: T[] | undefined, count: number): T[] {
  const values = list ?? [];
  if (values.length !== count) throw new Error(`has ${values.length} typed values; its shape needs ${count}`);
  return values;
}

const INT_RANGE: Partial<Record<DType, [number, number]>> = {
  int8: [-128, 127], int16: [-32768, 32767], int32: [-2147483648, 2147483647],
  uint8: [0, 255], uint16: [0, 65535], uint32: [0, 4294967295],
};

/** Typed contents (a peer that does not answer raw), checked for count and range. */
function typedValues(dtype: DType, contents: TensorContentsMessage | undefined, count: number): TypedArray {
  const Out = typedArrayFor(dtype);
  const out = new Out(count);
  switch (dtype) {
    case 'bool':
      typedList(contents?.bool_contents, count).forEach((b, i) => { (out as Uint8Array)[i] = b ? 1 : 0; });
      return out;
    case 'int8': case 'int16': case 'int32': case 'uint8': case 'uint16': case 'uint32': {
      const list = typedList(dtype.startsWith('u') ? contents?.uint_contents : contents?.int_contents, count);
      const [min, max] = INT_RANGE[dtype]!;
      list.forEach((v, i) => {
        if (!Number.isInteger(v) || v < min || v > max) throw new Error(`element ${i} is ${v}, outside ${dtype}`);
        (out as Int32Array)[i] = v;
      });
      return out;
    }
    case 'int64': case 'uint64':
      typedList(dtype === 'int64' ? contents?.int64_contents : contents?.uint64_contents, count)
        .forEach((v, i) => { (out as BigInt64Array)[i] = BigInt(v); });
      return out;
    case 'float32':
      (out as Float32Array).set(typedList(contents?.fp32_contents, count));
      return out;
    case 'float64':
      (out as Float64Array).set(typedList(contents?.fp64_contents, count));
      return out;
    case 'float16':
      throw new Error('is FP16 without raw contents (V2 typed contents have no FP16 list)');
  }
}
