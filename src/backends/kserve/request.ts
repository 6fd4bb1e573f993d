/**
 * A call's Arrow batch as a V2 ModelInferRequest: every input in raw_input_contents
 * (little-endian, row-major, as Triton and MLServer read it), shape [rows, ...example]
 * for a batchable model. The data of a numeric column is sent without copying.
 */
import type { RecordBatch, Vector } from 'apache-arrow';
import { columnToValue } from '../../codecs/columns.js';
import { readJsonColumn } from '../../codecs/json.js';
import type { TensorType } from '../../codecs/payload.js';
import type { Tensor } from '../../codecs/tensor.js';
import { FlightError } from '../../flight/index.js';
import { encodeBytesColumn, encodeStrings } from '../../codecs/v2-bytes.js';
import type { KserveModelPlan, WireTensor } from './signature.js';

/** ModelInferRequest as proto-loader writes it (keepCase). */
export interface InferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string }[];
  raw_input_contents: Uint8Array[];
}

/** The request for one batch. `id` comes back in the answer, which is checked against it. */
export function inferRequest(
  plan: KserveModelPlan, model: string, version: string, id: string, batch: RecordBatch,
): InferRequestMessage {
  const rows = batch.numRows;
  if (!plan.signature.batchable && rows !== 1) {
    throw FlightError.invalidArgument(`the model is not batchable (max_batch_size 0), so each call must hold one example; got ${rows} rows`);
  }
  if (plan.maxBatchSize !== undefined && rows > plan.maxBatchSize) {
    throw FlightError.invalidArgument(`the model takes at most ${plan.maxBatchSize} rows per call (its max_batch_size); got ${rows}`);
  }
  const inputs: InferRequestMessage['inputs'] = [];
  const raw: Uint8Array[] = [];
  for (const wire of plan.inputs) {
    const column = batch.getChild(wire.name);
    if (!column) throw FlightError.invalidArgument(`input '${wire.name}' is missing`);
    if (column.nullCount > 0) {
      // V2 tensors have no missing values; sending a zero in place of a null would change the input.
      throw FlightError.invalidArgument(`input '${wire.name}' holds ${column.nullCount} null(s); the Open Inference Protocol has no nulls, so fill or drop those rows`);
    }
    const { shape, bytes } = encodeInput(wire, column, plan.signature.batchable);
    inputs.push({ name: wire.name, datatype: wire.datatype, shape });
    raw.push(bytes);
  }
  return {
    model_name: model,
    model_version: version,
    id,
    inputs,
    outputs: plan.outputs.map((o) => ({ name: o.name })),
    raw_input_contents: raw,
  };
}

function encodeInput(wire: WireTensor, column: Vector, batchable: boolean): { shape: number[]; bytes: Uint8Array } {
  const rows = column.length;
  if (wire.bytesKind) {
    const bytes = wire.bytesKind === 'json'
      ? encodeStrings(readJsonColumn(column, wire.name).map((v) => JSON.stringify(v)))
      : encodeBytesColumn(column);
    return { shape: batchable ? [rows, ...wire.exampleShape] : [...wire.exampleShape], bytes };
  }
  const type: TensorType = { kind: 'tensor', dtype: wire.dtype!, shape: wire.exampleShape };
  const value = columnToValue(column, type);
  if (Array.isArray(value)) {
    throw FlightError.invalidArgument(`input '${wire.name}' has rows of different shapes; one V2 request needs one shape (send them in separate calls)`);
  }
  const tensor = value as Tensor;
  const data = tensor.data;
  return {
    shape: batchable ? [...tensor.shape] : tensor.shape.slice(1),
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}
