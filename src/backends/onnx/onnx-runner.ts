/**
 * An ONNX model as a Runner, through onnxruntime-node. Input columns become ort
 * tensors without copying (a fixed_shape_tensor column's values are the tensor's data);
 * ort's outputs become columns the same way.
 */
import { basename, extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Type, Utf8, vectorFromArray, type Data, type DataType, type FixedSizeList, type RecordBatch } from 'apache-arrow';
import { batchFromSchema } from '../../codecs/batch.js';
import {
  Tensor, fixedShapeColumn, primitiveColumn, readFixedShapeColumn, readPrimitiveColumn, variableShapeColumn,
} from '../../codecs/tensor.js';
import { columnToValue } from '../../codecs/columns.js';
import { FlightError } from '../../flight/index.js';
import { fixedSizeListData, numberData } from '../../flight/arrow-internals.js';
import { batchOfColumns } from '../../flight/record-batch.js';
import { isFixedShape, type TensorType } from '../../codecs/payload.js';
import type { Runner, RunnerMethod } from '../../runner/runner.js';
import { outputSchema, type MethodSignature } from '../../runner/signature.js';
import { onnxSignature, type OnnxMethodConfig, type OnnxValueMetadata } from './signature.js';
import { sessionOptions, type OnnxSessionConfig } from './session-options.js';

/** Options of an ONNX runner. */
export interface OnnxRunnerOptions extends OnnxSessionConfig {
  /** Runner name (default: the file's base name). */
  name?: string;
  /** Methods by name; default one method `predict` returning every output. */
  methods?: Record<string, OnnxMethodConfig>;
  /** Model version reported by model-metadata (default "1"). */
  version?: string;
}

/** The execution providers this onnxruntime-node build has. */
export function availableProviders(): string[] {
  const list = (ort as unknown as { listSupportedBackends?: () => { name: string }[] }).listSupportedBackends?.() ?? [];
  const names = list.map((b) => b.name);
  return names.length ? names : ['cpu'];
}

/**
 * Loads an ONNX model file as a runner.
 *
 * @example
 * const iris = await loadOnnxRunner('examples/models/iris.onnx', {
 *   methods: { predict: { outputs: ['label'], default: true }, predict_proba: { outputs: ['probabilities'] } },
 * });
 */
export async function loadOnnxRunner(path: string, options: OnnxRunnerOptions = {}): Promise<Runner> {
  const name = options.name ?? basename(path, extname(path));
  const session = await ort.InferenceSession.create(path, sessionOptions(options, availableProviders(), name));
  const meta = session as unknown as { inputMetadata: OnnxValueMetadata[]; outputMetadata: OnnxValueMetadata[] };
  const methodConfigs = options.methods ?? { predict: { default: true } };
  const methods: RunnerMethod[] = Object.entries(methodConfigs).map(([methodName, config]) => {
    const signature = onnxSignature(name, methodName, meta.inputMetadata, meta.outputMetadata, config);
    return onnxMethod(session, signature);
  });
  return {
    name,
    platform: 'onnxruntime-node',
    versions: [options.version ?? '1'],
    methods,
    // ort's tensors view the input only during session.run, and its outputs are its own memory.
    releasesInputs: true,
    close: () => session.release(),
  };
}

function onnxMethod(session: ort.InferenceSession, signature: MethodSignature): RunnerMethod {
  const outputNames = signature.outputs.map((o) => o.name);
  // The signature's own output schema, made once: building Arrow fields and schemas per
  // call was a visible share of a one-row call, and answering with this very schema lets
  // the caller's output check skip rebuilding the batch.
  const schema = outputSchema(signature);
  // Outputs that are numeric tensors of a fixed shape (or numbers), of a batchable method:
  // built straight from ort's output as the output field's columns, when ort's dims are
  // the declared ones. This runs once per backend call, too rarely to be optimized by the
  // JIT, so the general path's tensors, vectors and checks cost each merged call a share.
  const plain = signature.batchable && signature.outputs.every((o) => o.type.kind === 'tensor' && isFixedShape(o.type as TensorType) && (o.type as TensorType).dtype !== 'bool');
  const outputFields = schema.fields;
  const plainOutputs = (results: ort.InferenceSession.OnnxValueMapType, rows: number): Data[] | undefined => {
    if (!plain) return undefined;
    const columns: Data[] = [];
    for (let i = 0; i < outputNames.length; i++) {
      const t = results[outputNames[i]!] as ort.Tensor | undefined;
      const type = outputFields[i]!.type;
      const column = t && plainColumn(t, type, rows);
      if (!column) return undefined; // not as declared: the general path says what is wrong
      columns.push(column);
    }
    return columns;
  };
  return {
    signature,
    async invoke(input: RecordBatch): Promise<RecordBatch> {
      const feeds: Record<string, ort.Tensor> = {};
      for (const spec of signature.inputs) {
        if (spec.type.kind === 'string') {
          feeds[spec.name] = stringTensor(input, spec.name, signature.batchable);
          continue;
        }
        const tensor = toTensor(input, spec.name, spec.type as TensorType, signature.batchable);
        feeds[spec.name] = new ort.Tensor(tensor.dtype as ort.Tensor.Type, tensor.data as never, [...tensor.shape]);
      }
      const results = await session.run(feeds, outputNames);
      const direct = plainOutputs(results, input.numRows);
      if (direct) return batchOfColumns(schema, input.numRows, direct);
      const columns = signature.outputs.map((o, i) => {
        const t = results[o.name]!;
        if (o.type.kind === 'string') return vectorFromArray(Array.from(t.data as string[]), new Utf8());
        return toColumn(new Tensor(t.type as never, t.data as never, t.dims.map(Number)), o.type as TensorType, signature.batchable, schema.fields[i]!.type);
      });
      const rows = signature.batchable ? input.numRows : (columns[0]?.length ?? 0);
      return batchFromSchema(schema, columns, rows);
    },
  };
}

/**
 * An ort output as the Data of its output field's `type` (a fixed-size list of numbers,
 * or numbers), if its dims are [rows, ...the field's shape] and its values the field's
 * element type; undefined otherwise.
 */
function plainColumn(t: ort.Tensor, type: DataType, rows: number): Data | undefined {
  const dims = t.dims;
  if (dims[0] !== rows) return undefined;
  let size = 1;
  for (let d = 1; d < dims.length; d++) size *= dims[d]!;
  const values = t.data as unknown as ArrayBufferView & { length: number };
  if (type.typeId === Type.FixedSizeList) {
    const item = type.children[0]!.type;
    if (dims.length < 2 || (type as FixedSizeList).listSize !== size || !(values instanceof (item as unknown as { ArrayType: abstract new (...args: never) => unknown }).ArrayType)) return undefined;
    return fixedSizeListData(type, rows, numberData(item, values.length, values));
  }
  if (dims.length !== 1 || !(values instanceof (type as unknown as { ArrayType: abstract new (...args: never) => unknown }).ArrayType)) return undefined;
  return numberData(type, rows, values);
}

/** A utf8 input column as an ort string tensor: [rows] for batchable methods, a scalar string otherwise. */
function stringTensor(batch: RecordBatch, name: string, batchable: boolean): ort.Tensor {
  const column = batch.getChild(name)!;
  const values = Array.from({ length: column.length }, (_, i) => column.get(i) as string);
  if (batchable) return new ort.Tensor('string', values, [values.length]);
  if (values.length !== 1) {
    throw new TypeError(`input '${name}': this model is not batchable, so each batch must hold one example, got ${values.length} rows`);
  }
  return new ort.Tensor('string', values, []);
}

/** An input column as one tensor: [rows, ...shape] for batchable methods, the row's tensor otherwise. */
function toTensor(batch: RecordBatch, name: string, type: TensorType, batchable: boolean): Tensor {
  const column = batch.getChild(name)!;
  let tensor: Tensor;
  if (type.shape.length === 0) tensor = new Tensor(type.dtype, readPrimitiveColumn(column, type.dtype), [column.length]);
  else if (column.type.typeId === Type.FixedSizeList) {
    const size = (column.type as { listSize: number }).listSize;
    const known = type.shape.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
    tensor = readFixedShapeColumn(column, type.shape.map((d) => (d < 0 ? size / known : d)));
  } else {
    const value = columnToValue(column, type);
    if (Array.isArray(value)) {
      // The caller's batch itself mixes shapes (the scheduler never merges calls that differ).
      throw FlightError.invalidArgument(`input '${name}' has rows of different shapes; an ONNX batch needs one shape (send them in separate batches)`);
    }
    tensor = value as Tensor;
  }
  if (batchable) return tensor;
  if (tensor.shape[0] !== 1) {
    throw new TypeError(`input '${name}': this model is not batchable, so each batch must hold one example, got ${tensor.shape[0]} rows`);
  }
  return tensor.row(0);
}

/** A model output as a column: rows along the first dimension (or one row when not batchable). */
function toColumn(tensor: Tensor, type: TensorType, batchable: boolean, arrowType: DataType) {
  const batched = batchable ? tensor : new Tensor(tensor.dtype, tensor.data, [1, ...tensor.shape]);
  if (type.shape.length === 0) return primitiveColumn(type.dtype, batched.data);
  if (isFixedShape(type)) return fixedShapeColumn(batched, arrowType as FixedSizeList);
  const rows = Array.from({ length: batched.shape[0]! }, (_, i) => batched.row(i));
  return variableShapeColumn(rows, type.dtype, type.shape.length);
}
