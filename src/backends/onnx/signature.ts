/**
 * A runner signature derived from an ONNX model's inputs and outputs. A model whose
 * inputs and outputs all start with the same symbolic (or -1) dimension is batchable:
 * that dimension is the batch, and the rest is the per-example shape. Other symbolic
 * dimensions become free (-1) dimensions.
 */
import { isDType, type DType } from '../../codecs/dtypes.js';
import type { PayloadType } from '../../codecs/payload.js';
import type { MethodSignature, ParamSpec } from '../../runner/signature.js';

/** What onnxruntime reports for one model input or output. */
export interface OnnxValueMetadata {
  name: string;
  isTensor: boolean;
  type?: string;
  shape?: readonly (number | string)[];
}

/** Overrides of a derived signature, from configuration. */
export interface OnnxMethodConfig {
  /** Model outputs this method returns (default: all). */
  outputs?: string[];
  /** Force batchable or not (default: derived from the shapes). */
  batchable?: boolean;
  /** Override input/output payload types by name. */
  types?: Record<string, PayloadType>;
  default?: boolean;
  doc?: string;
}

const isFree = (d: number | string | undefined) => typeof d === 'string' || d === undefined || d < 0;

/** True if every value's first dimension is free, so rows can be examples. */
export function derivesBatchable(values: OnnxValueMetadata[]): boolean {
  return values.length > 0 && values.every((v) => v.shape !== undefined && v.shape.length > 0 && isFree(v.shape[0]));
}

function payloadOf(v: OnnxValueMetadata, batchable: boolean, model: string): PayloadType {
  if (!v.isTensor || !v.type) {
    throw new Error(`ONNX model '${model}': '${v.name}' is not a tensor (sequences and maps are not served); `
      + 'choose the tensor outputs with a method\'s "outputs" option');
  }
  const dims = (v.shape ?? []).slice(batchable ? 1 : 0).map((d) => (isFree(d) ? -1 : Number(d)));
  if (v.type === 'string') {
    // One string per example is a utf8 column; Arrow has no tensor-of-strings column type.
    if (dims.length) {
      throw new Error(`ONNX model '${model}': '${v.name}' is a string tensor of per-example shape [${dims.join(', ')}]; `
        + 'only one string per example (shape [batch]) is served');
    }
    return { kind: 'string' };
  }
  const dtype = v.type === 'bool' ? 'bool' : v.type;
  if (!isDType(dtype)) throw new Error(`ONNX model '${model}': '${v.name}' has element type ${v.type}, which is not served`);
  return { kind: 'tensor', dtype: dtype as DType, shape: dims };
}

/** Derives one method's signature from model metadata and optional overrides. */
export function onnxSignature(
  model: string, methodName: string, inputs: OnnxValueMetadata[], outputs: OnnxValueMetadata[], config: OnnxMethodConfig = {},
): MethodSignature {
  const chosen = config.outputs
    ? config.outputs.map((name) => {
      const found = outputs.find((o) => o.name === name);
      if (!found) throw new Error(`ONNX model '${model}' has no output '${name}'; outputs: ${outputs.map((o) => o.name).join(', ')}`);
      return found;
    })
    : outputs;
  const batchable = config.batchable ?? derivesBatchable([...inputs, ...chosen]);
  const spec = (v: OnnxValueMetadata): ParamSpec => ({ name: v.name, type: config.types?.[v.name] ?? payloadOf(v, batchable, model) });
  return {
    name: methodName,
    inputs: inputs.map(spec),
    outputs: chosen.map(spec),
    batchable,
    ...(config.default ? { isDefault: true } : {}),
    ...(config.doc ? { doc: config.doc } : {}),
  };
}
