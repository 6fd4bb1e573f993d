/**
 * The Flight library: Arrow Flight for Node.js, knowing nothing of runners.
 * This file is the hand-picked public surface; everything else is internal.
 */
export {
  FlightServer, type FlightHandlers, type FlightServerOptions, type CallContext, type PutResultWriter, type ListenAddress,
  type GrpcMethod, type GrpcCall, type MethodKind, type RequestMetadata, type MetadataValue,
} from './server.js';
export { FlightClient, type FlightClientOptions, type CallOptions, type ExchangeStream, type PutStream } from './client.js';
export { FlightReader, FlightWriter, type FlightChunk, type PollableChunks, type FlightDataSink, type RecyclingFlightData, type WritesReport } from './streams.js';
export { FlightDataEncoder, encodeSchemaBytes, type EncoderOptions } from './encode.js';
export { FlightDataDecoder, type FlightMessage } from './decode.js';
export { encodeFlightData, decodeFlightData, type FlightData } from './flight-data.js';
export { FlightDescriptor } from './descriptor.js';
export { FlightError, Status, toGrpcStatus, fromGrpcError } from './errors.js';
export { decodeSchemaBytes, type FlightInfo, type FlightEndpoint, type PollInfo, type Action, type ActionType } from './messages.js';
export { parseLocation, tcpLocation, type Location } from './location.js';
export { staticTokenAuth, type ServerAuth } from './auth.js';
