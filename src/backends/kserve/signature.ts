/**
 * A runner signature from a V2 peer's ModelMetadata (and, where the peer has Triton's
 * ModelConfig extension, its max_batch_size). A model is batchable when ModelConfig says
 * `max_batch_size > 0` (its metadata shapes then start with the -1 batch dimension); a
 * peer without ModelConfig (MLServer) is batchable when every input and output starts
 * with -1, unless the `batchable` option says otherwise. Numeric and BOOL tensors keep
 * their dtype; a BYTES tensor of one element per example is `bytes` (exact), or `string`
 * or `json` when the `types` option says so.
 */
import type { PayloadType } from '../../codecs/payload.js';
import type { MethodSignature, ParamSpec } from '../../runner/signature.js';
import { dtypeOfDatatype, SERVED_DATATYPES } from './datatypes.js';
import type { DType } from '../../codecs/dtypes.js';

/** A tensor as ModelMetadata describes it (shape dims as proto-loader reads int64: strings). */
export interface V2TensorMetadata {
  name: string;
  datatype: string;
  shape: (string | number)[];
}

/** The parts of ModelMetadataResponse the signature needs. */
export interface V2ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: V2TensorMetadata[];
  outputs: V2TensorMetadata[];
}

/** How a BYTES tensor reaches Arrow. */
export type BytesKind = 'bytes' | 'string' | 'json';

/** One input or output as it travels on the V2 wire. */
export interface WireTensor {
  name: string;
  datatype: string;
  /** The dtype of a numeric or BOOL tensor; undefined for BYTES. */
  dtype?: DType;
  /** The per-example shape (no batch dimension); -1 marks a free dimension. BYTES: [] or [1]. */
  exampleShape: number[];
  /** The payload kind of a BYTES tensor. */
  bytesKind?: BytesKind;
}

/** What a kserve runner's one method needs: its signature and the wire form of each tensor. */
export interface KserveModelPlan {
  signature: MethodSignature;
  inputs: WireTensor[];
  outputs: WireTensor[];
  /** ModelConfig's max_batch_size when the peer reports it and it is > 0. */
  maxBatchSize?: number;
}

/** Choices the config may make about the derived signature. */
export interface KserveSignatureOptions {
  /** Force batchable or not when the peer has no ModelConfig (default: derived from the shapes). */
  batchable?: boolean;
  /** How BYTES tensors reach Arrow, by tensor name (default `bytes`). */
  types?: Record<string, BytesKind>;
  /** The model outputs the runner returns, by name (default: all). */
  outputs?: string[];
}

/** A V2 dimension as a number: an integer >= -1 (hostile input: anything else is refused). */
function dimension(value: string | number, where: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < -1) throw new Error(`${where}: dimension ${JSON.stringify(value)} is not an integer >= -1`);
  return n;
}

/**
 * Derives the runner method's signature and wire plan from the peer's answers.
 *
 * @param model How messages name the remote model: `model 'add' at 127.0.0.1:8001`.
 * @param maxBatchSize ModelConfig's max_batch_size, or undefined when the peer has no ModelConfig.
 */
export function kservePlan(
  model: string, metadata: V2ModelMetadata, maxBatchSize: number | undefined, options: KserveSignatureOptions = {},
): KserveModelPlan {
  const shapes = (list: V2TensorMetadata[], side: string) =>
    list.map((t) => ({ t, dims: t.shape.map((d, i) => dimension(d, `${model}: ${side} '${t.name}' shape[${i}]`)) }));
  const inputs = shapes(metadata.inputs, 'input');
  const allOutputs = shapes(metadata.outputs, 'output');
  if (!inputs.length) throw new Error(`${model}: its metadata lists no inputs`);
  for (const [side, list] of [['input', inputs], ['output', allOutputs]] as const) {
    const twice = list.find((x, i) => list.findIndex((y) => y.t.name === x.t.name) !== i);
    if (twice) throw new Error(`${model}: its metadata lists ${side} '${twice.t.name}' twice`);
  }
  const outputs = options.outputs
    ? options.outputs.map((name) => {
      const found = allOutputs.find((o) => o.t.name === name);
      if (!found) throw new Error(`${model} has no output '${name}'; outputs: ${allOutputs.map((o) => o.t.name).join(', ')}`);
      return found;
    })
    : allOutputs;
  if (!outputs.length) throw new Error(`${model}: its metadata lists no outputs`);
  for (const name of Object.keys(options.types ?? {})) {
    if (![...inputs, ...allOutputs].some((x) => x.t.name === name)) {
      throw new Error(`${model}: option types names '${name}', which is none of its inputs or outputs`);
    }
  }

  const startsWithBatch = [...inputs, ...outputs].every((x) => x.dims.length > 0 && x.dims[0] === -1);
  let batchable: boolean;
  if (maxBatchSize !== undefined) {
    if (options.batchable !== undefined && options.batchable !== maxBatchSize > 0) {
      throw new Error(`${model}: option batchable is ${options.batchable}, but its ModelConfig says max_batch_size ${maxBatchSize}; remove the option`);
    }
    batchable = maxBatchSize > 0;
    if (batchable && !startsWithBatch) {
      throw new Error(`${model}: ModelConfig says max_batch_size ${maxBatchSize}, yet not every metadata shape starts with the -1 batch dimension`);
    }
  } else {
    batchable = options.batchable ?? startsWithBatch;
    if (batchable && !startsWithBatch) {
      throw new Error(`${model}: option batchable is true, yet not every metadata shape starts with -1 (the batch dimension)`);
    }
  }

  const wire = ({ t, dims }: { t: V2TensorMetadata; dims: number[] }, side: string): WireTensor => {
    const exampleShape = batchable ? dims.slice(1) : dims;
    const kind = options.types?.[t.name];
    if (t.datatype === 'BYTES') {
      // Arrow has no tensor-of-strings column: one element per example is a string/binary
      // column. Triton declares that as [1] per example (its dims cannot be empty) and
      // MLServer often as []: both are one element, and the wire shape keeps the peer's form.
      if (exampleShape.length > 1 || (exampleShape.length === 1 && exampleShape[0] !== 1)) {
        throw new Error(`${model}: BYTES ${side} '${t.name}' has per-example shape [${exampleShape.join(', ')}]; `
          + 'only one element per example (shape [] or [1]) is served');
      }
      return { name: t.name, datatype: t.datatype, exampleShape, bytesKind: kind ?? 'bytes' };
    }
    const dtype = dtypeOfDatatype(t.datatype);
    if (!dtype) throw new Error(`${model}: ${side} '${t.name}' has datatype ${JSON.stringify(t.datatype)}; served: ${SERVED_DATATYPES.join(', ')}`);
    if (kind) throw new Error(`${model}: option types sets '${t.name}' to ${kind}, but it is ${t.datatype}, not BYTES`);
    return { name: t.name, datatype: t.datatype, dtype, exampleShape };
  };
  const wireInputs = inputs.map((x) => wire(x, 'input'));
  const wireOutputs = outputs.map((x) => wire(x, 'output'));
  const spec = (w: WireTensor): ParamSpec => ({ name: w.name, type: payloadOf(w) });
  const signature: MethodSignature = {
    name: 'predict',
    inputs: wireInputs.map(spec),
    outputs: wireOutputs.map(spec),
    batchable,
    isDefault: true,
    ...(batchable && maxBatchSize ? { limits: { maxBatchRows: maxBatchSize } } : {}),
  };
  return { signature, inputs: wireInputs, outputs: wireOutputs, ...(batchable && maxBatchSize ? { maxBatchSize } : {}) };
}

function payloadOf(w: WireTensor): PayloadType {
  if (w.bytesKind) return { kind: w.bytesKind } as PayloadType;
  return { kind: 'tensor', dtype: w.dtype!, shape: w.exampleShape };
}
