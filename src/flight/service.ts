/**
 * The FlightService definition for grpc-js: loaded from flight-proto/Flight.proto, with
 * the FlightData streams of DoGet, DoPut and DoExchange switched to the hand-written
 * codec in flight-data.ts (zero-copy decode, one-copy encode).
 */
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { deserializeFlightData, encodeFlightData } from './flight-data.js';

const PROTO_PATH = fileURLToPath(new URL('../../flight-proto/Flight.proto', import.meta.url));

/** The fully qualified gRPC service name. */
export const SERVICE_NAME = 'arrow.flight.protocol.FlightService';

const packageDefinition = loadSync(PROTO_PATH, {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

type AnyMethod = MethodDefinition<unknown, unknown>;

function withFlightData(method: AnyMethod, request: boolean, response: boolean): AnyMethod {
  const m = { ...method };
  if (request) {
    m.requestSerialize = encodeFlightData as AnyMethod['requestSerialize'];
    m.requestDeserialize = deserializeFlightData as AnyMethod['requestDeserialize'];
  }
  if (response) {
    m.responseSerialize = encodeFlightData as AnyMethod['responseSerialize'];
    m.responseDeserialize = deserializeFlightData as AnyMethod['responseDeserialize'];
  }
  return m;
}

const loaded = packageDefinition[SERVICE_NAME] as unknown as Record<string, AnyMethod>;

/** Method name -> definition (path, streaming flags, serializers). */
export const flightServiceDefinition = {
  ...loaded,
  DoGet: withFlightData(loaded['DoGet']!, false, true),
  DoPut: withFlightData(loaded['DoPut']!, true, false),
  DoExchange: withFlightData(loaded['DoExchange']!, true, true),
} as unknown as ServiceDefinition & Record<string, AnyMethod>;
