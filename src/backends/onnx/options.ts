/**
 * The `options` of an ONNX runner entry: the schema the config loader checks them with
 * (through the registry), whose descriptions are the docs (docs/configuration.md).
 */
import { z } from 'zod';
import { DTYPES, type DType } from '../../codecs/dtypes.js';
import type { PayloadType } from '../../codecs/payload.js';
import { bool, integer, list, mapOf, oneOf, strictObject, text } from '../../util/schema-helpers.js';

const PAYLOAD_KINDS = ['tensor', 'scalar', 'string', 'bytes', 'json', 'table'] as const;

/** A payload type written in YAML, e.g. `{ kind: tensor, dtype: float32, shape: [4] }`. */
export const payloadTypeSchema = strictObject({
  kind: oneOf(PAYLOAD_KINDS).describe('What one example is: a tensor, a scalar, a string, bytes, a JSON object, or (table) a whole batch as a table.'),
  dtype: oneOf(DTYPES as unknown as [DType, ...DType[]]).optional().describe('Element type (tensor, scalar).'),
  shape: list(integer(-1)).optional().describe('Per-example shape, without the batch dimension; -1 is a free dimension (tensor).'),
}).transform((t, ctx): PayloadType => {
  const needsDtype = t.kind === 'tensor' || t.kind === 'scalar';
  if (needsDtype && !t.dtype) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['dtype'], message: `required for kind ${t.kind}` });
  if (!needsDtype && t.dtype) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['dtype'], message: `only tensor and scalar take a dtype, not ${t.kind}` });
  if (t.kind === 'tensor' && !t.shape) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['shape'], message: 'required for kind tensor' });
  if (t.kind !== 'tensor' && t.shape) ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['shape'], message: `only tensor takes a shape, not ${t.kind}` });
  switch (t.kind) {
    case 'tensor': return { kind: 'tensor', dtype: t.dtype!, shape: t.shape ?? [] };
    case 'scalar': return { kind: 'scalar', dtype: t.dtype! };
    default: return { kind: t.kind };
  }
});

/** One method of an ONNX runner (`options.methods.<name>`). */
export const onnxMethodSchema = strictObject({
  outputs: list(text()).optional().describe('Model outputs this method returns. Default: all.'),
  batchable: bool().optional().describe('Force batchable or not. Default: derived from the model\'s shapes (a free first dimension everywhere).'),
  types: mapOf(payloadTypeSchema).optional().describe('Payload types of inputs/outputs by name, overriding the derived ones.'),
  default: bool().optional().describe('The method `[runner]` alone addresses.'),
  doc: text().optional().describe('Description shown by `list`.'),
}).describe('One method of an ONNX runner.');

/** `options` of an ONNX runner. */
export const onnxOptionsSchema = strictObject({
  intraOpNumThreads: integer(1).optional().describe('onnxruntime intra-op threads. Default: the placement\'s threadsPerInstance.'),
  interOpNumThreads: integer(1).optional().describe('onnxruntime inter-op threads. Default: onnxruntime\'s.'),
  graphOptimizationLevel: oneOf(['disabled', 'basic', 'extended', 'all']).optional().describe('Default `all`.'),
  executionProviders: list(text()).optional().describe('In order of preference, e.g. [cuda, cpu]; providers this build lacks are skipped with a warning. Default [cpu].'),
  deviceId: integer(0).optional().describe('GPU device for the providers (placement sets it per instance on kind gpu).'),
  methods: mapOf(onnxMethodSchema).optional().describe('The runner\'s methods by name. Default: one method `predict` returning every output.'),
  version: z.union([text(), z.number().finite()], { errorMap: () => ({ message: 'expected a version string' }) })
    .transform(String).optional().describe('Model version reported by model-metadata. Default "1".'),
}).describe('Options of the `onnx` backend.');

/** Options of an ONNX runner entry, as the code uses them. */
export type OnnxOptions = z.output<typeof onnxOptionsSchema>;
