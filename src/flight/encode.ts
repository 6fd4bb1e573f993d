/**
 * Arrow -> FlightData. A stateful encoder for one stream: the schema first, then for
 * each batch any dictionary that changed (a delta when the new dictionary extends the
 * one sent, a replacement otherwise), then the batch itself, split by zero-copy slicing
 * when it is larger than the target message size.
 */
import { DataType, Message, Type, type RecordBatch, type Schema, Vector, type Data } from 'apache-arrow';
import { assembleBody, ipc, isPlain, type AssembledBody } from './arrow-internals.js';
import type { FlightDescriptor } from './descriptor.js';
import { encodedBatchOf } from './encoded-batch.js';
import type { FlightData } from './flight-data.js';

/** Options for {@link FlightDataEncoder}. */
export interface EncoderOptions {
  /**
   * Split batches whose body exceeds this many bytes into several messages, by row
   * slices. Default: no splitting, so each batch stays one message and a receiver sees
   * the same batch boundaries the sender wrote (the runner protocol relies on that).
   */
  maxMessageBytes?: number;
}

const PADDING = new Uint8Array(8);

/** Schema messages already encoded, per Schema object (schemas are immutable). */
const encodedSchemas = new WeakMap<Schema, Uint8Array>();

/**
 * Encodes one stream's schema and batches into FlightData messages.
 *
 * @example
 * const encoder = new FlightDataEncoder();
 * send(encoder.encodeSchema(table.schema, FlightDescriptor.path('t')));
 * for (const batch of table.batches) for (const msg of encoder.encodeBatch(batch)) send(msg);
 */
export class FlightDataEncoder {
  private readonly maxMessageBytes: number;
  /** Per dictionary id: the dictionary last sent and how many of its chunks went out. */
  private sentDictionaries?: Map<number, { dictionary: Vector; chunks: number }>;

  constructor(options: EncoderOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? Infinity;
  }

  /** The schema message, which opens every stream. */
  encodeSchema(schema: Schema, descriptor?: FlightDescriptor, appMetadata?: Uint8Array): FlightData {
    // A server answers every call of a method with the same Schema object: encode it once.
    // Safe to share: the serializer copies the header into each frame and never writes to it.
    let dataHeader = encodedSchemas.get(schema);
    if (!dataHeader) encodedSchemas.set(schema, dataHeader = Message.encode(Message.from(schema)));
    return { descriptor, dataHeader, appMetadata };
  }

  /**
   * The messages for one batch: changed dictionaries, then the batch (one message, or
   * several slices when over `maxMessageBytes`). `appMetadata` rides on the first slice.
   * A batch decoded from our own encoder's message (a worker's answer) is that message
   * again, not encoded a second time (encoded-batch.ts).
   */
  encodeBatch(batch: RecordBatch, appMetadata?: Uint8Array): FlightData[] {
    const known = encodedBatchOf(batch);
    if (known?.ours && known.dataBody.byteLength <= this.maxMessageBytes) {
      return [{ dataHeader: known.dataHeader, dataBody: known.dataBody, appMetadata }];
    }
    // The usual batch: no dictionaries, one message.
    if (batch.schema.dictionaries.size === 0 && !this.mustSplit(batch)) return [encodeRecordBatch(batch, appMetadata)];
    const out = this.encodeDictionaries(batch);
    const slices = this.slices(batch);
    for (let i = 0; i < slices.length; i++) out.push(encodeRecordBatch(slices[i]!, i === 0 ? appMetadata : undefined));
    return out;
  }

  /** A message with app_metadata only (no batch). */
  encodeMetadata(appMetadata: Uint8Array): FlightData {
    return { appMetadata };
  }

  private encodeDictionaries(batch: RecordBatch): FlightData[] {
    const out: FlightData[] = [];
    // RecordBatch.dictionaries walks every column into a new Map: skip it when the schema has none.
    if (batch.schema.dictionaries.size === 0) return out;
    this.sentDictionaries ??= new Map();
    for (const [id, dictionary] of batch.dictionaries) {
      const chunks = dictionary.data;
      const sent = this.sentDictionaries.get(id);
      if (sent?.dictionary === dictionary) continue;
      const extendsSent = sent !== undefined && sent.chunks <= chunks.length
        && sent.dictionary.data.every((c, i) => chunks[i] === c);
      // A delta carries only the chunks added since; anything else replaces the dictionary.
      const first = extendsSent ? sent.chunks : 0;
      for (let i = first; i < chunks.length; i++) {
        out.push(encodeDictionaryBatch(new Vector([chunks[i]!]), id, i > 0));
      }
      this.sentDictionaries.set(id, { dictionary, chunks: chunks.length });
    }
    return out;
  }

  /** Whether `batch` may be over maxMessageBytes (then slices() decides). */
  private mustSplit(batch: RecordBatch): boolean {
    return Number.isFinite(this.maxMessageBytes) && batch.numRows > 1;
  }

  private slices(batch: RecordBatch): RecordBatch[] {
    if (!this.mustSplit(batch)) return [batch];
    const bytes = bodyBytes(batch);
    if (bytes <= this.maxMessageBytes) return [batch];
    const rowsPerSlice = Math.max(1, Math.floor(batch.numRows * (this.maxMessageBytes / bytes)));
    const slices: RecordBatch[] = [];
    for (let start = 0; start < batch.numRows; start += rowsPerSlice) {
      slices.push(batch.slice(start, Math.min(batch.numRows, start + rowsPerSlice)));
    }
    return slices;
  }
}

/** Encodes a schema as an encapsulated IPC message, as FlightInfo.schema and SchemaResult carry it. */
export function encodeSchemaBytes(schema: Schema): Uint8Array {
  const flatbuffer = Message.encode(Message.from(schema));
  const padded = (flatbuffer.byteLength + 7) & ~7;
  const out = new Uint8Array(8 + padded);
  const view = new DataView(out.buffer);
  view.setInt32(0, -1, true);
  view.setInt32(4, padded, true);
  out.set(flatbuffer, 8);
  return out;
}

/**
 * Record batch headers already encoded, by their content. A method's answers to one-row
 * calls all have the same layout, so building the flatbuffer each time (a third of
 * encoding such an answer) is done once. Bounded: the oldest entry goes first.
 */
const encodedBatchHeaders = new Map<string, Uint8Array>();
const MAX_ENCODED_BATCH_HEADERS = 256;

/**
 * Headers of batches whose columns are all numbers or tensors without nulls (see
 * assembleBody's `plain`), found without building a string key: such a header follows
 * from the row count, the nodes' lengths and the buffers' lengths (null counts are 0,
 * buffers lie back to back), looked up number by number in a tree of Maps, one tree per
 * Schema (weakly held). Bounded: a tree that grows past MAX_ENCODED_BATCH_HEADERS
 * headers starts again.
 */
interface PlainHeaders {
  root: Map<number, unknown>;
  size: number;
}
const plainBatchHeaders = new WeakMap<Schema, PlainHeaders>();

/** The level under `n` in a plainHeader tree, made if new. */
function descend(level: Map<number, unknown>, n: number): Map<number, unknown> {
  let next = level.get(n) as Map<number, unknown> | undefined;
  if (!next) level.set(n, next = new Map());
  return next;
}

function plainHeader(batch: RecordBatch, body: AssembledBody): Uint8Array {
  let tree = plainBatchHeaders.get(batch.schema);
  if (!tree) plainBatchHeaders.set(batch.schema, tree = { root: new Map(), size: 0 });
  let level = descend(tree.root, batch.numRows);
  for (let i = 0; i < body.nodes.length; i++) level = descend(level, body.nodes[i]!.length);
  for (let i = 0; i < body.bufferRegions.length; i++) level = descend(level, body.bufferRegions[i]!.length);
  let dataHeader = level.get(-1) as Uint8Array | undefined;
  if (!dataHeader) {
    const header = new ipc.RecordBatch(batch.numRows, body.nodes, body.bufferRegions, null, body.variadicBufferCounts);
    dataHeader = Message.encode(Message.from(header, body.byteLength));
    if (tree.size >= MAX_ENCODED_BATCH_HEADERS) plainBatchHeaders.set(batch.schema, tree = { root: new Map(), size: 0 });
    else level.set(-1, dataHeader);
    tree.size++;
  }
  return dataHeader;
}

/**
 * A batch of plain columns (numbers or tensors, no nulls: see plainHeader) whose header
 * was encoded before: found by walking its columns' lengths, its body the columns' own
 * values, with no layout objects built. Undefined for any other batch, and for a new
 * layout (the general path then encodes it and remembers its header).
 */
function encodeKnownPlainBatch(batch: RecordBatch, appMetadata?: Uint8Array): FlightData | undefined {
  const columns = batch.data.children;
  for (let i = 0; i < columns.length; i++) if (!isPlain(columns[i]!)) return undefined;
  const tree = plainBatchHeaders.get(batch.schema);
  if (!tree) return undefined;
  // The same numbers, in the same order, as plainHeader walks: rows, field node lengths,
  // buffer region lengths (an empty validity bitmap, then each leaf's padded values).
  let level: Map<number, unknown> | undefined = tree.root.get(batch.numRows) as Map<number, unknown> | undefined;
  for (let i = 0; level && i < columns.length; i++) level = walkNodeLengths(level, columns[i]!);
  for (let i = 0; level && i < columns.length; i++) level = walkRegionLengths(level, columns[i]!);
  const dataHeader = level?.get(-1) as Uint8Array | undefined;
  if (!dataHeader) return undefined;
  const dataBody: Uint8Array[] = [];
  for (let i = 0; i < columns.length; i++) addPlainBody(dataBody, columns[i]!);
  return { dataHeader, appMetadata, dataBody };
}

function walkNodeLengths(level: Map<number, unknown>, data: Data): Map<number, unknown> | undefined {
  const next = level.get(data.length) as Map<number, unknown> | undefined;
  return next && data.typeId === Type.FixedSizeList ? walkNodeLengths(next, data.children[0]!) : next;
}

function walkRegionLengths(level: Map<number, unknown>, data: Data): Map<number, unknown> | undefined {
  const next = level.get(0) as Map<number, unknown> | undefined; // no validity bitmap
  if (!next) return undefined;
  if (data.typeId === Type.FixedSizeList) return walkRegionLengths(next, data.children[0]!);
  return next.get((plainValuesBytes(data) + 7) & ~7) as Map<number, unknown> | undefined;
}

/** The bytes of a plain leaf's values (what assembleBody takes of them). */
function plainValuesBytes(data: Data): number {
  return data.length * data.stride * (data.values as Uint8Array).BYTES_PER_ELEMENT;
}

function addPlainBody(parts: Uint8Array[], data: Data): void {
  if (data.typeId === Type.FixedSizeList) {
    addPlainBody(parts, data.children[0]!);
    return;
  }
  const values = data.values as ArrayBufferView;
  const bytes = plainValuesBytes(data);
  if (bytes) parts.push(new Uint8Array(values.buffer, values.byteOffset, bytes));
  const pad = ((bytes + 7) & ~7) - bytes;
  if (pad > 0) parts.push(PADDING.subarray(0, pad));
}

function encodeRecordBatch(batch: RecordBatch, appMetadata?: Uint8Array): FlightData {
  const known = encodeKnownPlainBatch(batch, appMetadata);
  if (known) return known;
  const assembled = assembleBody(batch);
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = assembled;
  if (assembled.plain) return { dataHeader: plainHeader(batch, assembled), appMetadata, dataBody: bodyParts(buffers, bufferRegions) };
  const fieldNodes = knownNullCounts(nodes, batch.data.children);
  // Everything the header holds: its bytes follow from these numbers alone.
  let key = `${batch.numRows};${byteLength}`;
  for (const n of fieldNodes) key += `;${n.length},${n.nullCount}`;
  key += '|';
  for (const r of bufferRegions) key += `${r.offset},${r.length};`;
  key += `|${variadicBufferCounts.join(',')}`;
  let dataHeader = encodedBatchHeaders.get(key);
  if (!dataHeader) {
    const header = new ipc.RecordBatch(batch.numRows, fieldNodes, bufferRegions, null, variadicBufferCounts);
    dataHeader = Message.encode(Message.from(header, byteLength));
    if (encodedBatchHeaders.size >= MAX_ENCODED_BATCH_HEADERS) encodedBatchHeaders.delete(encodedBatchHeaders.keys().next().value!);
    encodedBatchHeaders.set(key, dataHeader);
  }
  return { dataHeader, appMetadata, dataBody: bodyParts(buffers, bufferRegions) };
}

function encodeDictionaryBatch(dictionary: Vector, id: number, isDelta: boolean): FlightData {
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = assembleBody(dictionary);
  const data = new ipc.RecordBatch(dictionary.length, knownNullCounts(nodes, dictionary.data), bufferRegions, null, variadicBufferCounts);
  const header = new ipc.DictionaryBatch(data, id, isDelta);
  return { dataHeader: Message.encode(Message.from(header, byteLength)), dataBody: bodyParts(buffers, bufferRegions) };
}

/**
 * apache-arrow reports a null count of -1 ("unknown") for a sliced column without a
 * validity bitmap, and VectorAssembler writes it into the field node as is; readers
 * (pyarrow, our decoder) refuse a negative count. Such a column is of type Null, whose
 * every value is null, or has no nulls. Nodes come in the assembler's order: each
 * column, then its children, depth first.
 */
function knownNullCounts(nodes: ipc.FieldNode[], columns: readonly Data[]): ipc.FieldNode[] {
  if (nodes.every((node) => node.nullCount >= 0)) return nodes;
  const types: DataType[] = [];
  const walk = (data: Data) => {
    types.push(data.type);
    // Data made from a typed array (makeVector, tableFromArrays) may have no children array.
    for (const child of data.children ?? []) walk(child);
  };
  columns.forEach(walk);
  return nodes.map((node, i) => (node.nullCount >= 0 ? node
    : new ipc.FieldNode(node.length, types[i] && DataType.isNull(types[i]) ? node.length : 0)));
}

/** The body as parts: each buffer followed by the zero padding its region reserves. */
function bodyParts(buffers: ArrayBufferView[], regions: ipc.BufferRegion[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < buffers.length; i++) {
    const buffer = buffers[i]!;
    if (buffer.byteLength) parts.push(buffer instanceof Uint8Array ? buffer : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength));
    const pad = regions[i]!.length - buffer.byteLength;
    if (pad > 0) parts.push(pad <= 8 ? PADDING.subarray(0, pad) : new Uint8Array(pad));
  }
  return parts;
}

/** Approximate body size of a batch, to choose slice sizes without assembling it. */
function bodyBytes(batch: RecordBatch): number {
  let total = 0;
  const visit = (data: { buffers: ArrayLike<unknown>; children: readonly unknown[] }) => {
    for (const buf of Array.from(data.buffers)) {
      if (buf && ArrayBuffer.isView(buf)) total += (buf as ArrayBufferView).byteLength;
    }
    for (const child of data.children) visit(child as typeof data);
  };
  visit(batch.data as unknown as { buffers: ArrayLike<unknown>; children: readonly unknown[] });
  return total;
}
