/**
 * Every use of apache-arrow's internals, in one place.
 *
 * Why: the Flight codec writes and reads IPC message bodies itself (zero-copy views on
 * receive, one copy on send), so it needs apache-arrow's body assembler and loaders and
 * its IPC metadata classes, which are not part of its public API; and it builds
 * RecordBatches without the constructor's per-batch schema rebuild. These depend on the
 * exact apache-arrow version in package.json (pinned, not a range): when it changes, this
 * file and test/flight/arrow-ipc-interop.test.ts (our encoder read by apache-arrow's own
 * RecordBatchReader, apache-arrow's RecordBatchWriter read by our decoder, over the type
 * matrix) say whether they still hold. No other module imports apache-arrow's internals.
 */
import { Data, RecordBatch, Type, type DataType, type MetadataVersion, type Schema, type Struct, type Vector } from 'apache-arrow';
import { VectorAssembler } from 'apache-arrow/visitor/vectorassembler';
import { CompressedVectorLoader, VectorLoader } from 'apache-arrow/visitor/vectorloader';
import * as ipc from 'apache-arrow/ipc/metadata/message';
import { truncateBitmap } from 'apache-arrow/util/bit';
import { toArrayBufferView } from 'apache-arrow/util/buffer';

/** IPC metadata classes: field nodes, buffer regions, record and dictionary batch headers. */
export { ipc };

/**
 * apache-arrow 21.2's VectorAssembler cuts the views of a Utf8View or BinaryView column
 * at the column's offset, but Data.slice has already cut them there (the getters index
 * them from 0), so a sliced view column was encoded short or empty. This assembler takes
 * the views as they are (the validity bitmap is handled before this visitor, offset
 * included); it is ours alone, so apache-arrow's own writers are left as they are.
 */
// Its constructor is private in the typings only; the class itself is an ordinary one.
class ViewSafeAssembler extends (VectorAssembler as unknown as new () => VectorAssembler) {}
type ViewAssembler = (this: VectorAssembler, data: Pick<Data, 'offset' | 'length' | 'stride' | 'values' | 'variadicBuffers'>) => VectorAssembler;
const baseViews = (VectorAssembler.prototype as unknown as { visitUtf8View: ViewAssembler }).visitUtf8View;
const ownViews: ViewAssembler = function (data) {
  const { length, stride, values, variadicBuffers } = data;
  return baseViews.call(this, { offset: 0, length, stride, values, variadicBuffers });
};
Object.assign(ViewSafeAssembler.prototype, { visitUtf8View: ownViews, visitBinaryView: ownViews });

/** What assembling a batch's columns gives: the body's buffers, where each goes, and the field nodes. */
export interface AssembledBody {
  byteLength: number;
  nodes: ipc.FieldNode[];
  bufferRegions: ipc.BufferRegion[];
  buffers: ArrayBufferView[];
  variadicBufferCounts: number[];
  /**
   * Every column is a number or tensor column (see isFlatType) and no node has nulls:
   * the nodes and regions then follow from the schema and the row count alone.
   */
  plain?: boolean;
}

/** Lays out the IPC body of a batch's columns (or of a dictionary's data). */
export function assembleBody(columns: RecordBatch | Vector): AssembledBody {
  const datas = columns instanceof RecordBatch ? columns.data.children : columns.data;
  if (datas.every(isFlat)) return assembleFlat(datas);
  const assembler = new ViewSafeAssembler();
  assembler.visitMany(datas);
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = assembler;
  return { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts };
}

/**
 * Whether a type is one the direct paths below handle: numbers, and fixed-size lists of
 * them (tensor columns), the columns of nearly every model call. apache-arrow's visitors
 * find the method for each node by a chain of type checks, which for a one-row call cost
 * more than the rest of its decode or encode; these paths do what those visitors do
 * for these types (the same nodes, buffers and Data), without the dispatch.
 */
function isFlatType(type: DataType): boolean {
  switch (type.typeId) {
    case Type.Int: case Type.Float: return true;
    case Type.FixedSizeList: return isFlatType(type.children[0]!.type);
    default: return false;
  }
}

/** A column the direct path takes: Data (apache-arrow leaves a Vector among an empty table's children) of a flat type. */
export function isFlat(data: Data): boolean {
  return data instanceof Data && isFlatType(data.type);
}

const EMPTY = new Uint8Array(0);

/** VectorAssembler's layout for flat columns (see isFlatType): the same nodes, regions and buffers. */
function assembleFlat(datas: readonly Data[]): AssembledBody {
  const body: AssembledBody = { byteLength: 0, nodes: [], bufferRegions: [], buffers: [], variadicBufferCounts: [], plain: true };
  for (let i = 0; i < datas.length; i++) assembleFlatColumn(body, datas[i]!);
  return body;
}

// Module functions, not closures in assembleFlat: no functions made per batch.
function assembleFlatColumn(body: AssembledBody, data: Data): void {
  const { length } = data;
  if (length > 2147483647) throw new RangeError('Cannot write arrays larger than 2^31 - 1 in length');
  const { nullCount } = data;
  if (nullCount !== 0) body.plain = false;
  addBodyBuffer(body, nullCount <= 0 ? EMPTY : truncateBitmap(data.offset, length, data.nullBitmap));
  body.nodes.push(new ipc.FieldNode(length, nullCount));
  if (data.typeId === Type.FixedSizeList) assembleFlatColumn(body, data.children[0]!);
  else addBodyBuffer(body, (data.values as Uint8Array).subarray(0, length * data.stride));
}

function addBodyBuffer(body: AssembledBody, values: ArrayBufferView): void {
  const byteLength = (values.byteLength + 7) & ~7;
  body.buffers.push(values);
  body.bufferRegions.push(new ipc.BufferRegion(body.byteLength, byteLength));
  body.byteLength += byteLength;
}

/** Column data of `types` read from an uncompressed body, as views into it. */
export function loadColumns(
  body: Uint8Array, header: ipc.RecordBatch, types: DataType[], dictionaries: Map<number, Vector>, version: MetadataVersion,
): Data[] {
  return (types.every(isFlatType) && loadFlat(body, header, types))
    || new VectorLoader(body, header.nodes, header.buffers, dictionaries, version, header.variadicBufferCounts ?? []).visitMany(types);
}

/**
 * VectorLoader's reading of flat columns (see isFlatType): the same Data, views into
 * `body`. Undefined when the header has fewer nodes or buffers than the types need: the
 * VectorLoader then fails as it always did, with its own message.
 */
function loadFlat(body: Uint8Array, header: ipc.RecordBatch, types: DataType[]): Data[] | undefined {
  const { nodes, buffers } = header;
  let node = 0;
  let buffer = 0;
  const need = (type: DataType): boolean => {
    node++;
    buffer += type.typeId === Type.FixedSizeList ? 1 : 2;
    return type.typeId !== Type.FixedSizeList || need(type.children[0]!.type);
  };
  for (const type of types) need(type);
  if (nodes.length < node || buffers.length < buffer) return undefined;
  node = 0;
  buffer = 0;
  const read = () => {
    const { offset, length } = buffers[buffer++]!;
    return body.subarray(offset, offset + length);
  };
  const load = (type: DataType): Data => {
    const { length, nullCount } = nodes[node++]!;
    const validity = read();
    const nullBitmap = nullCount > 0 ? toArrayBufferView(Uint8Array, validity) : NO_BITMAP;
    if (type.typeId === Type.FixedSizeList) return new Data(type, 0, length, nullCount, [undefined, undefined, nullBitmap], [load(type.children[0]!.type)]);
    return new Data(type, 0, length, nullCount, [undefined, toArrayBufferView(type.ArrayType, read()), nullBitmap]);
  };
  return types.map(load);
}

/** Column data of `types` read from decompressed buffers (one per buffer region of `header`). */
export function loadDecompressedColumns(
  buffers: Uint8Array[], header: ipc.RecordBatch, types: DataType[], dictionaries: Map<number, Vector>, version: MetadataVersion,
): Data[] {
  return new CompressedVectorLoader(buffers, header.nodes, header.buffers, dictionaries, version, header.variadicBufferCounts ?? []).visitMany(types);
}

/**
 * The Data of a batch's rows: a Struct of `children`, no validity bitmap. What
 * `makeData({ type, length, nullCount: 0, children })` makes, without its visitor's
 * dispatch (a few percent of a one-row call, made several times per call).
 */
export function structData(type: Struct, length: number, children: Data[]): Data<Struct> {
  return new Data(type, 0, length, 0, [undefined, undefined, NO_BITMAP], children);
}

/**
 * Whether a column is a plain one: of a flat type (see isFlatType) with no nulls at any
 * level, so its Data is fully described by its length and its leaf values. Nearly every
 * model input and output is one; the direct paths here and in the codecs take them.
 */
export function isPlain(data: Data): boolean {
  return isFlat(data) && data.nullCount === 0 && (data.typeId !== Type.FixedSizeList || isPlain(data.children[0]!));
}

/**
 * The Data of a number column (Int or Float) without nulls over `values` (a typed array
 * of the type's ArrayType, `length` values): what `makeData({ type, length, data })` makes,
 * without its visitor's dispatch, which costs more than the rest of building a one-row
 * column, and which per-batch code (merging calls, a model's outputs) pays unoptimized.
 */
export function numberData<T extends DataType>(type: T, length: number, values: ArrayBufferView): Data<T> {
  const ArrayType = (type as unknown as { ArrayType: new (...args: never[]) => ArrayBufferView }).ArrayType;
  const data = values instanceof ArrayType ? values : toArrayBufferView(ArrayType as never, values);
  return new Data(type, 0, length, 0, [undefined, data, NO_BITMAP]);
}

/** The Data of a fixed-size list column without nulls over `child` (`length` lists): as numberData, for tensor columns. */
export function fixedSizeListData<T extends DataType>(type: T, length: number, child: Data): Data<T> {
  return new Data(type, 0, length, 0, [undefined, undefined, NO_BITMAP], [child]);
}

/**
 * Rows [begin, begin + length) of a plain column (see isPlain), as views: the Data that
 * apache-arrow's `slice` gives (same offset, values cut at the slice's first row, the
 * child's rows for a fixed-size list), without its generic buffer and child handling.
 */
export function slicePlain(data: Data, begin: number, length: number): Data {
  if (data.typeId === Type.FixedSizeList) {
    const size = (data.type as unknown as { listSize: number }).listSize;
    return new Data(data.type, data.offset + begin, length, 0, [undefined, undefined, data.nullBitmap], [slicePlain(data.children[0]!, begin * size, length * size)]);
  }
  const stride = data.stride;
  const values = (data.values as Uint8Array).subarray(stride * begin, stride * (begin + length));
  return new Data(data.type, data.offset + begin, length, 0, [undefined, values, data.nullBitmap]);
}

/**
 * Rows [begin, begin + length) of a batch's rows (its Struct Data) whose columns are all
 * plain, as slicePlain cuts each column; undefined when some column is not plain.
 */
export function slicePlainRows(data: Data<Struct>, begin: number, length: number): Data<Struct> | undefined {
  const columns = data.children;
  if (data.nullCount !== 0) return undefined;
  for (let i = 0; i < columns.length; i++) if (!isPlain(columns[i]!)) return undefined;
  const children = new Array<Data>(columns.length);
  for (let i = 0; i < columns.length; i++) children[i] = slicePlain(columns[i]!, begin, length);
  return new Data(data.type, data.offset + begin, length, 0, [undefined, undefined, data.nullBitmap], children);
}

/**
 * The empty validity bitmap of every column without nulls that these functions make:
 * one, not a new typed array (and ArrayBuffer) per column of every batch. apache-arrow
 * never writes into a bitmap this short: marking a value null makes a new one.
 */
const NO_BITMAP = new Uint8Array(0);

/**
 * A RecordBatch of `schema` over `data`, keeping `schema` itself. apache-arrow's
 * constructor derives a new Schema for every batch (to pad short columns), which costs a
 * tenth of a one-row call and defeats every cache keyed on the schema. A RecordBatch holds
 * no state but its schema, its data and its metadata (the rest is on its prototype or
 * derived lazily), so when no column needs padding one is made with exactly those.
 */
export function recordBatchKeepingSchema(schema: Schema, data: Data<Struct>, metadata: Map<string, string>): RecordBatch {
  const batch = Object.create(RecordBatch.prototype) as RecordBatch;
  return Object.assign(batch, { schema, data, _metadata: metadata });
}
