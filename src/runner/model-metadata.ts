/**
 * The `model-metadata` action: a runner described the way KServe V2 model metadata
 * describes a model, so V2 tools can map it, with the Arrow type beside each datatype.
 */
import { dtypeOf, kserveDatatype } from '../codecs/dtypes.js';
import { fieldFor, type PayloadType } from '../codecs/payload.js';
import type { Runner } from './runner.js';
import type { ParamSpec } from './signature.js';

/** One input or output in V2 terms. */
export interface TensorMetadata {
  name: string;
  /** KServe V2 datatype: BOOL, UINT8..UINT64, INT8..INT64, FP16, FP32, FP64, BYTES. */
  datatype: string;
  /**
   * V2 shape: the rows of a call first (-1: the batch dimension of a batchable method, the
   * rows one call of a method that is not batchable takes together), then the example's
   * dimensions (-1 where free).
   */
  shape: number[];
  /** The Arrow type the column travels as. */
  arrowType: string;
  /** The per-example shape. */
  exampleShape: number[];
  kind: PayloadType['kind'];
}

/** The V2 tensors of one input or output: one, or one per declared column of a table. */
export function describe(p: ParamSpec): TensorMetadata[] {
  const t = p.type;
  // Every call is a batch of rows, batchable or not: the first dimension is always the rows.
  const batch = [-1];
  switch (t.kind) {
    case 'tensor':
      return [{ name: p.name, datatype: kserveDatatype(t.dtype), shape: [...batch, ...t.shape], arrowType: String(fieldFor(p.name, t).type), exampleShape: t.shape, kind: 'tensor' }];
    case 'scalar':
      return [{ name: p.name, datatype: kserveDatatype(t.dtype), shape: [...batch], arrowType: String(fieldFor(p.name, t).type), exampleShape: [], kind: 'scalar' }];
    case 'table':
      // A numeric or bool column has its V2 datatype (float64 -> FP64); strings and others are BYTES.
      return Object.entries(t.columns ?? {}).map(([name, type]) => {
        const dtype = dtypeOf(type);
        return { name, datatype: dtype ? kserveDatatype(dtype) : 'BYTES', shape: [...batch], arrowType: String(type), exampleShape: [], kind: 'table' as const };
      });
    default:
      return [{ name: p.name, datatype: 'BYTES', shape: [...batch], arrowType: String(fieldFor(p.name, t).type), exampleShape: [], kind: t.kind }];
  }
}

/** Model metadata of a runner: name, versions, platform, and per method its inputs and outputs. */
export function modelMetadata(runner: Runner): Record<string, unknown> {
  const main = runner.methods.find((m) => m.signature.isDefault) ?? runner.methods[0];
  const io = (m: typeof main) => (m
    ? {
      inputs: m.signature.inputs.flatMap((p) => describe(p)),
      outputs: m.signature.outputs.flatMap((p) => describe(p)),
    }
    : { inputs: [], outputs: [] });
  return {
    name: runner.name,
    versions: runner.versions,
    platform: runner.platform,
    ...io(main),
    methods: Object.fromEntries(runner.methods.map((m) => [m.signature.name, { batchable: m.signature.batchable, ...io(m) }])),
  };
}
