/**
 * Arrow -> FlightData. A stateful encoder for one stream: the schema first, then for
 * each batch any dictionary that changed (a delta when the new dictionary extends the
 * one sent, a replacement otherwise), then the batch itself, split by zero-copy slicing
 * when it is larger than the target message size.
 */
import { DataType, Message, type RecordBatch, type Schema, Vector, type Data } from 'apache-arrow';
import { assembleBody, ipc } from './arrow-internals.js';
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
  private readonly sentDictionaries = new Map<number, { dictionary: Vector; chunks: number }>();

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
    const out = this.encodeDictionaries(batch);
    for (const [i, slice] of this.slices(batch).entries()) {
      out.push(encodeRecordBatch(slice, i === 0 ? appMetadata : undefined));
    }
    return out;
  }

  /** A message with app_metadata only (no batch). */
  encodeMetadata(appMetadata: Uint8Array): FlightData {
    return { appMetadata };
  }

  private encodeDictionaries(batch: RecordBatch): FlightData[] {
    const out: FlightData[] = [];
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

  private slices(batch: RecordBatch): RecordBatch[] {
    if (!Number.isFinite(this.maxMessageBytes) || batch.numRows <= 1) return [batch];
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

function encodeRecordBatch(batch: RecordBatch, appMetadata?: Uint8Array): FlightData {
  const { byteLength, nodes, bufferRegions, buffers, variadicBufferCounts } = assembleBody(batch);
  const fieldNodes = knownNullCounts(nodes, batch.data.children);
  // Everything the header holds: its bytes follow from these numbers alone.
  const key = `${batch.numRows};${byteLength};${fieldNodes.map((n) => `${n.length},${n.nullCount}`).join(';')}|`
    + `${bufferRegions.map((r) => `${r.offset},${r.length}`).join(';')}|${variadicBufferCounts.join(',')}`;
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
  for (const [i, buffer] of buffers.entries()) {
    const bytes = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    if (bytes.byteLength) parts.push(bytes);
    const pad = regions[i]!.length - bytes.byteLength;
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
