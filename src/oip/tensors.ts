/**
 * V2 tensors <-> the Arrow columns of a runner method's signature (docs/oip.md).
 *
 * Inputs: each V2 input names one signature input (or, for a table input, one column),
 * with the rows of the call first: [N, ...example shape]. For a batchable method the rows
 * are independent examples (the batch dimension); for one that is not, they are what the
 * call takes together, as in a Flight call's batch. The batch is then conformed by the
 * runner layer exactly as a Flight call's.
 *
 * Outputs: each output column becomes one V2 output, [rows, ...example shape]; strings,
 * binaries and JSON (its text) become BYTES.
 */
import {
  Binary, Field, Schema, Type, Utf8, type FixedSizeList, type RecordBatch, type Vector,
} from 'apache-arrow';
import { batchFromSchema } from '../codecs/batch.js';
import { arrowType, canWiden, dtypeOf, kserveDatatype, type DType, type TypedArray } from '../codecs/dtypes.js';
import { EXTENSION_METADATA, EXTENSION_NAME, fieldFor, type ParamSpec, type TensorType } from '../codecs/payload.js';
import { bytesColumn, checkUtf8 } from '../codecs/v2-bytes.js';
import { Tensor, fixedShapeColumn, primitiveColumn, readFixedShapeColumn, readPrimitiveColumn, readVariableShapeColumn, variableShapeColumn } from '../codecs/tensor.js';
import { FlightError, Status } from '../flight/index.js';
import { describe, type TensorMetadata } from '../runner/model-metadata.js';
import { tableInput, type MethodSignature } from '../runner/signature.js';
import { BYTES, dtypeOfDatatype } from './datatypes.js';
import { bytesElements, numericElements, type TensorData } from './elements.js';

/** One V2 input tensor as a request carries it. */
export interface V2Input {
  name: string;
  datatype: string;
  /** Dimensions as sent (checked here: non-negative integers). */
  shape: readonly number[];
  data: TensorData;
}

/** One V2 output tensor: numeric elements (BOOL as 0/1 bytes) or BYTES elements. */
export interface V2Output {
  name: string;
  datatype: string;
  shape: number[];
  values: TypedArray | Uint8Array[];
}

/** What a method's signature expects of one V2 input. */
interface Slot {
  meta: TensorMetadata;
  spec: ParamSpec;
  /** Arrow type of a table column. */
  columnType?: import('apache-arrow').DataType;
  /** The input's Arrow field per datatype sent, made once (every call of a client needs it). */
  fields: Map<string, Field>;
}

const slotsBySignature = new WeakMap<MethodSignature, Slot[]>();

/** The V2 inputs a method expects, in signature order. */
export function inputSlots(sig: MethodSignature): Slot[] {
  let slots = slotsBySignature.get(sig);
  if (!slots) {
    slots = sig.inputs.flatMap((spec) => describe(spec).map((meta) => ({
      meta, spec, fields: new Map(), ...(spec.type.kind === 'table' ? { columnType: spec.type.columns?.[meta.name] } : {}),
    })));
    slotsBySignature.set(sig, slots);
  }
  return slots;
}

/** Input schemas already made, per signature and per sent datatypes, so conform plans are reused. */
const schemas = new WeakMap<MethodSignature, Map<string, Schema>>();

function schemaFor(sig: MethodSignature, key: string, fields: () => Field[]): Schema {
  let bySig = schemas.get(sig);
  if (!bySig) schemas.set(sig, bySig = new Map());
  let schema = bySig.get(key);
  if (!schema) {
    schema = new Schema(fields());
    // Bounded: a key is the datatypes of the inputs, a few per signature unless a client
    // sends every datatype it can; past the bound schemas are built per call.
    if (bySig.size < 64) bySig.set(key, schema);
  }
  return schema;
}

/** A dimension list checked to be non-negative integers. */
function checkDims(shape: readonly number[], where: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw FlightError.invalidArgument(`${where} has shape [${shape.join(',')}]: dimensions are integers >= 0`);
  }
}

const shapeText = (shape: readonly number[]) => `[${shape.join(',')}]`;

/** Names a request sent, quoted, at most 5 and each cut to 60 characters: a message stays short however many it sent. */
function listNames(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((n) => `'${n.slice(0, 60)}'`).join(', ');
  return names.length > 5 ? `${shown} and ${names.length - 5} more` : shown;
}

/**
 * The input batch of a V2 request for `sig`, or INVALID_ARGUMENT naming the input at
 * fault: an unknown, missing or repeated input, a datatype the input does not take, a
 * shape that does not match, or data that does not fit its shape.
 */
export function requestBatch(model: string, sig: MethodSignature, inputs: readonly V2Input[]): RecordBatch {
  const slots = inputSlots(sig);
  const openTable = tableInput(sig) && !slots.length;
  const byName = new Map<string, V2Input>();
  for (const input of inputs) {
    if (byName.has(input.name)) throw FlightError.invalidArgument(`model '${model}': input '${input.name.slice(0, 60)}' is given twice`);
    byName.set(input.name, input);
  }
  if (!openTable) {
    const unknown = inputs.filter((i) => !slots.some((s) => s.meta.name === i.name)).map((i) => i.name);
    if (unknown.length) {
      const names = slots.map((s) => `'${s.meta.name}'`).join(', ');
      throw FlightError.invalidArgument(`model '${model}': unknown input ${listNames(unknown)}; its inputs are ${names || 'none'}`);
    }
    const missing = slots.filter((s) => !byName.has(s.meta.name)).map((s) => `'${s.meta.name}' (${s.meta.datatype} ${shapeText(s.meta.shape)})`);
    if (missing.length) throw FlightError.invalidArgument(`model '${model}': missing input ${missing.join(', ')}; the request has ${listNames(inputs.map((i) => i.name)) || 'none'}`);
  }
  // A table input declaring no columns takes any inputs as its columns.
  const used = openTable ? inputs.map(openSlot) : slots;

  let rows: number | undefined;
  const built = used.map((slot) => {
    const input = byName.get(slot.meta.name)!;
    const where = `model '${model}' input '${slot.meta.name.slice(0, 60)}'`;
    checkDims(input.shape, where);
    const exampleShape = slot.meta.exampleShape;
    const shapeOk = input.shape.length === 1 + exampleShape.length && exampleShape.every((d, i) => d < 0 || d === input.shape[i + 1]);
    if (!shapeOk) {
      throw FlightError.invalidArgument(`${where} has shape ${shapeText(input.shape)}; the model takes ${shapeText(slot.meta.shape)} (-1: any size)`);
    }
    const n = input.shape[0]!;
    if (rows !== undefined && n !== rows) {
      throw FlightError.invalidArgument(`${where} has ${n} rows (its first dimension), other inputs ${rows}: every input of one request has the same batch size`);
    }
    rows = n;
    return buildColumn(slot, input, n, where);
  });
  const key = built.map((b) => `${b.field.name}:${b.datatype}`).join('|');
  const schema = schemaFor(sig, key, () => built.map((b) => b.field));
  return batchFromSchema(schema, built.map((b) => b.vector), rows ?? 0);
}

/** The slot of an input sent to a table with no declared columns: one value per row. */
function openSlot(input: V2Input): Slot {
  const dtype = input.datatype === BYTES ? undefined : dtypeOfDatatype(input.datatype, `input '${input.name}'`);
  const meta: TensorMetadata = {
    name: input.name, datatype: input.datatype, shape: [-1], arrowType: dtype ? String(arrowType(dtype)) : 'Utf8', exampleShape: [], kind: 'table',
  };
  return { meta, spec: { name: input.name, type: { kind: 'table' } }, columnType: dtype ? arrowType(dtype) : new Utf8(), fields: new Map() };
}

/** The Arrow field and column of one input. */
function buildColumn(slot: Slot, input: V2Input, rows: number, where: string): { field: Field; vector: Vector; datatype: string } {
  const { meta, spec } = slot;
  const count = input.shape.reduce((a, b) => a * b, 1);
  const expectedBytes = meta.datatype === BYTES;
  const sent = dtypeOfDatatype(input.datatype, where);
  const wanted = expectedBytes ? undefined : dtypeOfDatatype(meta.datatype, where);
  // The sent datatype must be the declared one, or one that widens to it without loss (as a Flight call's column may).
  const fits = expectedBytes ? sent === undefined : sent !== undefined && wanted !== undefined && canWiden(sent, wanted);
  if (!fits) {
    throw FlightError.invalidArgument(`${where} has datatype ${input.datatype}; the model takes ${meta.datatype}${expectedBytes ? '' : ' (or a datatype that widens to it without loss)'}`);
  }
  const datatype = input.datatype;
  if (sent === undefined) {
    const elements = bytesElements(count, input.shape, input.data, where);
    const kind = spec.type.kind === 'table' ? (slot.columnType?.typeId === Type.Binary ? 'bytes' : 'string') : spec.type.kind;
    const field = fieldOf(slot, datatype, undefined, kind === 'bytes');
    const invalid = (err: unknown, why = '') => FlightError.invalidArgument(`${where}: ${(err as Error).message}${why}`);
    if (kind === 'string' || kind === 'json') {
      try {
        checkUtf8(elements);
      } catch (err) {
        throw invalid(err, ', and this input is a string');
      }
    }
    if (kind === 'json') checkJson(elements, where);
    let vector: Vector;
    try {
      // Checked above: the column's type is the field's own (utf8 or binary).
      vector = bytesColumn(elements, false, field.type as Utf8 | Binary);
    } catch (err) {
      throw invalid(err);
    }
    return { field, vector, datatype };
  }
  const values = numericElements(sent, datatype, count, input.shape, input.data, where);
  const field = fieldOf(slot, datatype, sent, false);
  if (spec.type.kind === 'table' || meta.exampleShape.length === 0) return { field, vector: primitiveColumn(sent, values), datatype };
  // The example dimensions: all but the rows.
  const inner = input.shape.slice(1);
  if ((spec.type as TensorType).shape.every((d) => d >= 0)) {
    // The field's own list type: every call's column shares it (no type built per call).
    return { field, vector: fixedShapeColumn(new Tensor(sent, values, [rows, ...inner]), field.type as FixedSizeList), datatype };
  }
  const tensor = new Tensor(sent, values, [rows, ...inner]);
  const perRow = Array.from({ length: rows }, (_, i) => tensor.row(i));
  return { field, vector: variableShapeColumn(perRow, sent, inner.length), datatype };
}

/** The Arrow field of an input sent as `datatype` (`sent` its dtype; BYTES: binary or utf8), made once per slot. */
function fieldOf(slot: Slot, datatype: string, sent: DType | undefined, binary: boolean): Field {
  let field = slot.fields.get(datatype);
  if (field) return field;
  const { meta, spec } = slot;
  if (spec.type.kind === 'table') field = new Field(meta.name, sent ? arrowType(sent) : binary ? new Binary() : new Utf8(), false);
  else if (!sent) field = fieldFor(spec.name, spec.type);
  else field = fieldFor(spec.name, { ...(spec.type as TensorType), dtype: sent });
  slot.fields.set(datatype, field);
  return field;
}

function checkJson(elements: readonly Uint8Array[], where: string): void {
  const decoder = new TextDecoder();
  elements.forEach((e, i) => {
    try {
      JSON.parse(decoder.decode(e));
    } catch {
      throw FlightError.invalidArgument(`${where}: BYTES element ${i} is not JSON text, and this input is JSON`);
    }
  });
}

/**
 * The V2 outputs of a method's answer: every output column, or the `requested` ones in
 * their order (INVALID_ARGUMENT for a name the model does not output).
 */
export function responseOutputs(model: string, batch: RecordBatch, requested: readonly string[]): V2Output[] {
  const fields = batch.schema.fields;
  let picked = fields.map((_, i) => i);
  if (requested.length) {
    const seen = new Set<string>();
    picked = requested.map((name) => {
      if (seen.has(name)) throw FlightError.invalidArgument(`model '${model}': output '${name}' is requested twice`);
      seen.add(name);
      const i = fields.findIndex((f) => f.name === name);
      if (i < 0) throw FlightError.invalidArgument(`model '${model}': unknown output '${name.slice(0, 60)}' requested; its outputs are ${fields.map((f) => `'${f.name}'`).join(', ')}`);
      return i;
    });
  }
  return picked.map((i) => outputTensor(model, fields[i]!, batch.getChildAt(i)!));
}

/** Example shapes of fixed_shape_tensor output fields, read from their metadata once per field. */
const exampleShapes = new WeakMap<Field, number[]>();

function exampleShapeOf(field: Field): number[] {
  let shape = exampleShapes.get(field);
  if (!shape) {
    const declared = field.metadata.get(EXTENSION_NAME) ? (JSON.parse(field.metadata.get(EXTENSION_METADATA) ?? '{}') as { shape?: number[] }).shape : undefined;
    shape = declared ?? [(field.type as FixedSizeList).listSize];
    exampleShapes.set(field, shape);
  }
  return shape;
}

function outputTensor(model: string, field: Field, vector: Vector): V2Output {
  const where = `model '${model}' output '${field.name}'`;
  if (vector.nullCount > 0) {
    throw new FlightError(Status.UNIMPLEMENTED, `${where} has ${vector.nullCount} null rows, and V2 tensors cannot carry nulls: call this method over Flight, or make it answer without nulls`);
  }
  const rows = vector.length;
  const shape = (inner: number[]) => [rows, ...inner];
  const type = vector.type;
  const extension = field.metadata.get(EXTENSION_NAME);
  if (type.typeId === Type.FixedSizeList) {
    const tensor = readFixedShapeColumn(vector, exampleShapeOf(field));
    return { name: field.name, datatype: kserveDatatype(tensor.dtype), shape: shape([...tensor.shape.slice(1)]), values: tensor.data };
  }
  if (type.typeId === Type.Struct && extension === 'arrow.variable_shape_tensor') {
    const tensors = readVariableShapeColumn(vector);
    const first = tensors[0]?.shape ?? [];
    const same = tensors.every((t) => t.shape.length === first.length && t.shape.every((d, i) => d === first[i]));
    if (!same) throw new FlightError(Status.UNIMPLEMENTED, `${where}: its rows have different shapes, which one V2 tensor cannot hold; call this method over Flight`);
    const dtype = tensors[0]?.dtype ?? dtypeOf(((type.children[0]!.type as import('apache-arrow').List).children[0]!).type)!;
    const total = tensors.reduce((n, t) => n + t.size, 0);
    const Out = tensors[0] ? (tensors[0].data.constructor as new (n: number) => TypedArray) : Uint8Array;
    const values = new Out(total);
    let pos = 0;
    for (const t of tensors) {
      (values as Float64Array).set(t.data as Float64Array, pos);
      pos += t.size;
    }
    return { name: field.name, datatype: kserveDatatype(dtype), shape: shape([...first]), values };
  }
  const dtype: DType | undefined = dtypeOf(type);
  if (dtype) return { name: field.name, datatype: kserveDatatype(dtype), shape: shape([]), values: readPrimitiveColumn(vector, dtype) };
  if (type.typeId === Type.Utf8 || type.typeId === Type.Binary) {
    const values: Uint8Array[] = [];
    for (const data of vector.data) {
      const offsets = data.valueOffsets as Int32Array;
      for (let i = 0; i < data.length; i++) values.push((data.values as Uint8Array).subarray(offsets[i]!, offsets[i + 1]!));
    }
    return { name: field.name, datatype: BYTES, shape: shape([]), values };
  }
  throw new FlightError(Status.UNIMPLEMENTED, `${where} is ${String(type)}, which has no V2 datatype; call this method over Flight`);
}
