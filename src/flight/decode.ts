/**
 * FlightData -> Arrow. A stateful decoder for one stream: it remembers the schema and
 * the dictionaries so that dictionary-encoded columns, replacement dictionaries and
 * delta dictionaries decode as the IPC format defines.
 *
 * Two levels, as in arrow-rs: `decode()` turns each FlightData into a message (schema,
 * dictionary, batch, or metadata only); stream helpers on top yield batches only.
 */
import {
  Message, MessageHeader, MetadataVersion, type Schema, Vector, type DataType, type RecordBatch,
} from 'apache-arrow';
import { loadColumns, loadDecompressedColumns, type ipc } from './arrow-internals.js';
import { DECOMPRESS_AT_ONCE_BYTES, checkDecompressedTotal, decompressBuffer, decompressBufferInSteps } from './compression.js';
import type { FlightDescriptor } from './descriptor.js';
import { rememberEncodedBatch } from './encoded-batch.js';
import { FlightError } from './errors.js';
import { checkMessageFlatbuffer } from './flatbuffer-check.js';
import { HeaderCache, type DecodedHeader } from './header-cache.js';
import { batchOfColumns } from './record-batch.js';
import { validateColumns } from './validate.js';
import type { ReceivedFlightData } from './flight-data.js';

/** What one FlightData carried, once decoded. */
export type FlightMessage =
  | { kind: 'schema'; schema: Schema; descriptor?: FlightDescriptor; appMetadata?: Uint8Array }
  | { kind: 'dictionary'; id: number; isDelta: boolean; descriptor?: FlightDescriptor; appMetadata?: Uint8Array }
  | { kind: 'batch'; batch: RecordBatch; descriptor?: FlightDescriptor; appMetadata?: Uint8Array }
  /** No IPC header: a descriptor-only or app_metadata-only message. */
  | { kind: 'metadata'; descriptor?: FlightDescriptor; appMetadata?: Uint8Array };

/**
 * Decodes the FlightData messages of one stream, in order.
 *
 * @example
 * const decoder = new FlightDataDecoder();
 * for await (const data of stream) {
 *   const msg = decoder.decode(data);
 *   if (msg.kind === 'batch') console.log(msg.batch.numRows);
 * }
 */
export class FlightDataDecoder {
  private currentSchema?: Schema;
  /** Dictionaries by id; the shared empty map until the stream's first dictionary batch (most streams have none). */
  private dictionaries: Map<number, Vector> = NO_DICTIONARIES;
  /** The header decompressAhead() last decoded, for decode() of the same message. */
  private lastHeader?: { bytes: Uint8Array; decoded: DecodedHeader };

  /** The stream's schema, once its schema message has arrived. */
  get schema(): Schema | undefined {
    return this.currentSchema;
  }

  /**
   * For a message from the network: when it is a compressed batch whose buffers inflate to
   * more than DECOMPRESS_AT_ONCE_BYTES, decompresses them in steps that let the event loop
   * run, for decode() to use; otherwise undefined (decode() does the rest at once).
   */
  decompressAhead(data: ReceivedFlightData): Promise<Uint8Array[]> | undefined {
    const header = data.dataHeader;
    if (!header?.byteLength || !data.dataBody) return undefined;
    const message = decodeHeader(header);
    this.lastHeader = { bytes: header, decoded: message };
    const dictionary = message.headerType === MessageHeader.DictionaryBatch ? message.header as ipc.DictionaryBatch : undefined;
    const batch = dictionary ? dictionary.data : message.headerType === MessageHeader.RecordBatch ? message.header as ipc.RecordBatch : undefined;
    if (!batch || batch.compression == null) return undefined;
    const what = dictionary ? `dictionary ${dictionary.id}` : 'record batch';
    const body = aligned(data.dataBody);
    checkBodyLayout(batch, body, what);
    const codec = batch.compression.type;
    const buffers = batch.buffers.map((r) => body.subarray(r.offset, r.offset + r.length));
    if (checkDecompressedTotal(codec, buffers, what) <= DECOMPRESS_AT_ONCE_BYTES) return undefined;
    return Promise.all(buffers.map((b, i) => decompressBufferInSteps(codec, b, `${what} buffer ${i}`)));
  }

  /**
   * Decodes one message. Throws FlightError(INVALID_ARGUMENT) naming what was wrong.
   * `decompressed`: the message's buffers from decompressAhead(), when it gave them.
   */
  decode(data: ReceivedFlightData, decompressed?: Uint8Array[]): FlightMessage {
    const header = data.dataHeader;
    if (!header || header.byteLength === 0) {
      if (data.dataBody?.byteLength) {
        throw FlightError.invalidArgument(`FlightData has a ${data.dataBody.byteLength}-byte body but no data_header`);
      }
      return carried({ kind: 'metadata' }, data);
    }
    const last = this.lastHeader;
    this.lastHeader = undefined;
    const message = last?.bytes === header ? last.decoded : decodeHeader(header);
    const body = aligned(data.dataBody ?? new Uint8Array(0));
    if (body.byteLength < message.bodyLength) {
      throw FlightError.invalidArgument(
        `data_body is ${body.byteLength} bytes but the message header declares ${message.bodyLength}`,
      );
    }
    switch (message.headerType) {
      case MessageHeader.Schema: {
        if (this.currentSchema) {
          throw FlightError.invalidArgument('schema message received after the stream already had a schema');
        }
        const schema = message.header as Schema;
        this.currentSchema = schema;
        return carried({ kind: 'schema', schema }, data);
      }
      case MessageHeader.DictionaryBatch: {
        const schema = this.requireSchema('dictionary batch');
        const dict = message.header as ipc.DictionaryBatch;
        const type = schema.dictionaries.get(dict.id);
        if (!type) {
          throw FlightError.invalidArgument(`dictionary batch for id ${dict.id}, which no field of the schema uses`);
        }
        const [column] = this.loadColumns(dict.data, body, [type], message.version, `dictionary ${dict.id}`, decompressed);
        const vector = new Vector([column!]);
        const previous = this.dictionaries.get(dict.id);
        if (dict.isDelta && !previous) {
          throw FlightError.invalidArgument(`delta dictionary batch for id ${dict.id} before any dictionary for it`);
        }
        if (this.dictionaries === NO_DICTIONARIES) this.dictionaries = new Map();
        this.dictionaries.set(dict.id, guard(`dictionary ${dict.id}`,
          () => (dict.isDelta && previous ? previous.concat(vector).memoize() : vector.memoize())));
        return carried({ kind: 'dictionary', id: dict.id, isDelta: dict.isDelta }, data);
      }
      case MessageHeader.RecordBatch: {
        const schema = this.requireSchema('record batch');
        const header = message.header as ipc.RecordBatch;
        if (schema.dictionaries.size) {
          for (const [id] of schema.dictionaries) {
            if (!this.dictionaries.has(id)) {
              throw FlightError.invalidArgument(`record batch uses dictionary id ${id} before its dictionary batch`);
            }
          }
        }
        const fields = fieldList(schema);
        const children = this.loadColumns(header, body, fields.types, message.version, 'record batch', decompressed);
        validateColumns(children, fields.names, this.dictionaries);
        // The format requires it, and apache-arrow would otherwise pad or cut the columns.
        for (let i = 0; i < children.length; i++) {
          const column = children[i]!;
          if (column.length !== header.length) {
            throw FlightError.invalidArgument(
              `record batch column ${i} (${JSON.stringify(schema.fields[i]?.name)}) has ${column.length} rows but the batch declares ${header.length}`,
            );
          }
        }
        let batch: RecordBatch;
        try {
          batch = batchOfColumns(schema, header.length, children);
        } catch (err) {
          throw malformed('record batch', err);
        }
        // A message that stands alone (see encoded-batch.ts) may be passed on as it came.
        // (When the body had to be copied to align it, the header is copied too: a view
        // would keep the whole receive buffer alive as long as the batch.)
        if (header.compression == null && schema.dictionaries.size === 0) {
          const dataHeader = body === data.dataBody ? data.dataHeader! : new Uint8Array(data.dataHeader!);
          rememberEncodedBatch(batch, { dataHeader, dataBody: body, ours: false });
        }
        return carried({ kind: 'batch', batch }, data);
      }
      default:
        throw unsupportedType(message.headerType);
    }
  }

  private requireSchema(what: string): Schema {
    if (!this.currentSchema) throw FlightError.invalidArgument(`${what} before schema`);
    return this.currentSchema;
  }

  private loadColumns(
    header: ipc.RecordBatch, body: Uint8Array, types: DataType[], version: MetadataVersion, what: string, decompressed?: Uint8Array[],
  ) {
    checkBodyLayout(header, body, what);
    // try/catch here rather than guard(): no closure per batch.
    try {
      if (header.compression == null) return loadColumns(body, header, types, this.dictionaries, version);
      const codec = header.compression.type;
      const chunks = decompressed ?? header.buffers.map((r) => body.subarray(r.offset, r.offset + r.length));
      if (!decompressed) {
        checkDecompressedTotal(codec, chunks, what);
        for (const [i, chunk] of chunks.entries()) chunks[i] = decompressBuffer(codec, chunk, `${what} buffer ${i}`);
      }
      return loadDecompressedColumns(chunks, header, types, this.dictionaries, version);
    } catch (err) {
      throw malformed(what, err);
    }
  }
}

/** Checks that a batch header's buffers lie inside its body and its field nodes are possible. */
function checkBodyLayout(header: ipc.RecordBatch, body: Uint8Array, what: string): void {
  // Index loops: this runs for every message, and entries() makes an array per element.
  for (let i = 0; i < header.buffers.length; i++) {
    const region = header.buffers[i]!;
    if (region.offset < 0 || region.length < 0 || region.offset + region.length > body.byteLength) {
      throw FlightError.invalidArgument(
        `${what} buffer ${i} spans bytes ${region.offset}..${region.offset + region.length} of a ${body.byteLength}-byte body`,
      );
    }
  }
  for (let i = 0; i < header.nodes.length; i++) {
    const node = header.nodes[i]!;
    if (node.length < 0 || node.nullCount < 0 || node.nullCount > node.length) {
      throw FlightError.invalidArgument(`${what} field node ${i} has length ${node.length} and null count ${node.nullCount}`);
    }
    // apache-arrow holds at most 2^31 - 1 values per array; longer ones fail deep inside it.
    if (node.length > MAX_ARRAY_LENGTH) {
      throw FlightError.invalidArgument(`${what} field node ${i} has length ${node.length}, over the ${MAX_ARRAY_LENGTH} values an array may hold`);
    }
  }
}

/** Read, never written: a decoder replaces it with its own map before storing a dictionary. */
const NO_DICTIONARIES: Map<number, Vector> = new Map();

/** Each schema's field types and names, listed once (the decoder shares Schema objects between calls). */
const fieldLists = new WeakMap<Schema, { types: DataType[]; names: string[] }>();
function fieldList(schema: Schema): { types: DataType[]; names: string[] } {
  let list = fieldLists.get(schema);
  if (!list) fieldLists.set(schema, list = { types: schema.fields.map((f) => f.type), names: schema.fields.map((f) => f.name) });
  return list;
}

/**
 * `msg` with the descriptor and app_metadata `data` came with (set one by one: spreading
 * them into a new object cost a one-row call more than the rest of wrapping its messages).
 */
function carried<M extends FlightMessage>(msg: M, data: ReceivedFlightData): M {
  if (data.descriptor) msg.descriptor = data.descriptor;
  if (data.appMetadata?.byteLength) msg.appMetadata = data.appMetadata;
  return msg;
}

/** The longest array apache-arrow can build or write. */
const MAX_ARRAY_LENGTH = 2 ** 31 - 1;

/** Headers seen before, shared by every stream of the process (see header-cache.ts). */
const decodedHeaders = new HeaderCache();

/** What each kind of message header is called in errors. */
const HEADER_NAMES: Partial<Record<MessageHeader, string>> = {
  [MessageHeader.Schema]: 'schema',
  [MessageHeader.DictionaryBatch]: 'dictionary batch header',
  [MessageHeader.RecordBatch]: 'record batch header',
};

/** Checks and decodes an IPC message header, or finds it decoded already. */
function decodeHeader(bytes: Uint8Array): DecodedHeader {
  const cached = decodedHeaders.get(bytes);
  if (cached) return cached;
  const message = parseMessage(bytes);
  const type: MessageHeader = message.headerType;
  const what = HEADER_NAMES[type];
  if (!what) throw unsupportedType(message.headerType);
  const header = guard(what, () => message.header() as DecodedHeader['header']);
  return decodedHeaders.set(bytes, { headerType: message.headerType, version: message.version, bodyLength: message.bodyLength, header });
}

function unsupportedType(type: MessageHeader): FlightError {
  return FlightError.invalidArgument(`unsupported IPC message type ${MessageHeader[type] ?? type}`);
}

function parseMessage(header: Uint8Array): Message {
  // Flatbuffer vectors (union type ids) are read as typed-array views: align the header too.
  const bytes = aligned(header);
  checkMessageFlatbuffer(bytes);
  const message = guard('data_header', () => Message.decode(bytes));
  if (message.version < MetadataVersion.V4) {
    throw FlightError.invalidArgument(`unsupported IPC metadata version V${message.version + 1}; V4 or later is required`);
  }
  return message;
}

/**
 * Typed-array views need their element alignment. Header and body are views into the
 * gRPC receive buffer, often 8-byte aligned; when one is not, copy it once.
 */
export function aligned(body: Uint8Array): Uint8Array {
  if (body.byteOffset % 8 === 0) return body;
  // allocUnsafe: every byte is overwritten, so zero-filling first would only cost a pass
  // over the memory. Node aligns pooled small Buffers to 8 bytes, large ones start at 0.
  const copy = Buffer.allocUnsafe(body.byteLength);
  copy.set(body);
  return copy;
}

/** Runs a step of apache-arrow's decoding and names the step if it fails on bad input. */
function guard<T>(what: string, step: () => T): T {
  try {
    return step();
  } catch (err) {
    throw malformed(what, err);
  }
}

/** What a failed step of decoding `what` throws: its FlightError, or INVALID_ARGUMENT naming the step. */
function malformed(what: string, err: unknown): FlightError {
  if (err instanceof FlightError) return err;
  return FlightError.invalidArgument(`malformed ${what}: ${err instanceof Error ? err.message : String(err)}`, err);
}
