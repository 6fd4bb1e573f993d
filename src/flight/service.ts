/**
 * The FlightService definition for the grpc-js client: loaded from flight-proto/Flight.proto, with
 * the FlightData streams of DoGet, DoPut and DoExchange switched to the hand-written
 * codec in flight-data.ts (zero-copy decode, one-copy encode).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { deserializeFlightData, encodeFlightData } from './flight-data.js';

/** flight-proto/Flight.proto in the package: two levels up from src/flight, three from dist/src/flight. */
function findProto(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'flight-proto', 'Flight.proto');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`flight-proto/Flight.proto not found above ${fileURLToPath(import.meta.url)}`);
}

const PROTO_PATH = findProto();

import { SERVICE_NAME } from './service-name.js';

export { SERVICE_NAME };

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
