/**
 * The Open Inference Protocol (KServe V2) gRPC messages, from this project's own
 * src/oip/proto/inference.proto, encoded and decoded with protobufjs. One place knows
 * the message types; the service and the tensor codec work on the decoded objects.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** The gRPC service name every V2 client calls. */
export const OIP_SERVICE_NAME = 'inference.GRPCInferenceService';

/** src/oip/proto in the package: found walking up from src/oip (sources) or dist/src/oip (build). */
function findProto(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'src', 'oip', 'proto', 'inference.proto');
    if (existsSync(candidate)) return candidate;
    const sibling = join(dir, 'proto', 'inference.proto');
    if (existsSync(sibling)) return sibling;
  }
  throw new Error(`src/oip/proto/inference.proto not found above ${fileURLToPath(import.meta.url)}`);
}

// keepCase: the decoded objects carry the .proto's own field names (raw_input_contents).
const root = new protobuf.Root().loadSync(findProto(), { keepCase: true });

/** A protobufjs int64 field: a number, or a Long when it does not fit a double exactly. */
export type Int64 = number | { toNumber(): number; toString(): string; low: number; high: number; unsigned: boolean };

/** An InferParameter: at most one of its fields is set. */
export interface InferParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
}

/** InferTensorContents: the typed lists, one of which holds a tensor's elements. */
export interface InferTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

/** One input (or output) tensor of a request (or answer). */
export interface InferTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: Record<string, InferParameter>;
  contents?: InferTensorContents | null;
}

/** ModelInferRequest as decoded. */
export interface ModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, InferParameter>;
  inputs: InferTensor[];
  outputs: { name: string; parameters?: Record<string, InferParameter> }[];
  raw_input_contents: Uint8Array[];
}

/** ModelInferResponse as encoded. */
export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: { name: string; datatype: string; shape: number[]; contents?: InferTensorContents }[];
  raw_output_contents: Uint8Array[];
}

/** A message type: decode from bytes, encode from a plain object. */
export interface MessageCodec<T> {
  decode(bytes: Uint8Array): T;
  encode(value: T): Uint8Array;
}

/**
 * The codec of message `name`. `plain`: the answers built here are already in the
 * type's own form (no enum names, only plain nested objects), so they are encoded as
 * they are, without fromObject's conversion copy (the data path's answers).
 */
function codec<T>(name: string, plain = false): MessageCodec<T> {
  const type = root.lookupType(`inference.${name}`);
  return {
    decode: (bytes) => type.decode(new StrictReader(bytes)) as unknown as T,
    // fromObject turns enum names and nested plain objects into the type's own messages.
    encode: plain
      ? (value) => type.encode(value as Record<string, unknown>).finish()
      : (value) => type.encode(type.fromObject(value as Record<string, unknown>)).finish(),
  };
}

const utf8 = new TextDecoder();

/**
 * A protobufjs reader that refuses a string field running past the end of the message:
 * protobufjs's own reads what is there and goes on, which would take a truncated (or
 * forged) message as a shorter name instead of an error.
 */
class StrictReader extends protobuf.Reader {
  override string(): string {
    const length = this.uint32();
    if (length > this.len - this.pos) throw new Error(`a string field of ${length} bytes runs past the end of the message (${this.len - this.pos} bytes left)`);
    const text = utf8.decode(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return text;
  }
}

/** Request and answer codecs of every method this server serves. */
export const messages = {
  ServerLiveRequest: codec<Record<string, never>>('ServerLiveRequest'),
  ServerLiveResponse: codec<{ live: boolean }>('ServerLiveResponse'),
  ServerReadyRequest: codec<Record<string, never>>('ServerReadyRequest'),
  ServerReadyResponse: codec<{ ready: boolean }>('ServerReadyResponse'),
  ModelReadyRequest: codec<{ name: string; version: string }>('ModelReadyRequest'),
  ModelReadyResponse: codec<{ ready: boolean }>('ModelReadyResponse'),
  ServerMetadataRequest: codec<Record<string, never>>('ServerMetadataRequest'),
  ServerMetadataResponse: codec<{ name: string; version: string; extensions: string[] }>('ServerMetadataResponse'),
  ModelMetadataRequest: codec<{ name: string; version: string }>('ModelMetadataRequest'),
  ModelMetadataResponse: codec<Record<string, unknown>>('ModelMetadataResponse'),
  ModelInferRequest: codec<ModelInferRequest>('ModelInferRequest'),
  ModelInferResponse: codec<ModelInferResponse>('ModelInferResponse', true),
  ModelStreamInferResponse: codec<{ error_message?: string; infer_response?: ModelInferResponse }>('ModelStreamInferResponse', true),
  ModelConfigRequest: codec<{ name: string; version: string }>('ModelConfigRequest'),
  ModelConfigResponse: codec<{ config: Record<string, unknown> }>('ModelConfigResponse'),
  ModelStatisticsRequest: codec<{ name: string; version: string }>('ModelStatisticsRequest'),
  ModelStatisticsResponse: codec<{ model_stats: Record<string, unknown>[] }>('ModelStatisticsResponse'),
};

/** An int64 field as a number, or undefined when it is beyond ±2^53 (no dimension or count is that large). */
export function int64Number(value: Int64): number | undefined {
  const n = typeof value === 'number' ? value : value.toNumber();
  return Number.isSafeInteger(n) ? n : undefined;
}

/** An int64 field as a bigint, exactly. */
export function int64BigInt(value: Int64, unsigned: boolean): bigint {
  if (typeof value === 'number') return unsigned ? BigInt.asUintN(64, BigInt(value)) : BigInt(value);
  const big = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return unsigned ? big : BigInt.asIntN(64, big);
}
