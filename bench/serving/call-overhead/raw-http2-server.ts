/**
 * The floor under any gRPC server on node:http2: each DoExchange stream is read to its
 * end without parsing, then answered with response headers, one pre-encoded schema +
 * batch (the canned answer) and trailers. No Arrow decoding, no runner, no Flight
 * library on the request side: what is left is node:http2 and the kernel.
 *
 * Prints `raw-http2 listening on grpc://HOST:PORT`; stops on SIGTERM.
 */
import http2 from 'node:http2';
import { FlightDataEncoder } from '../../../src/flight/encode.js';
import { encodeFlightDataFrame } from '../../../src/flight/flight-data.js';
import { STREAM_WINDOW_BYTES, serverConnectionWindowBytes } from '../../../src/flight/transport-options.js';
import { cannedAnswer } from './canned-answer.js';

const batch = cannedAnswer();
const encoder = new FlightDataEncoder();
const answer = Buffer.concat([encoder.encodeSchema(batch.schema), ...encoder.encodeBatch(batch)].flatMap(encodeFlightDataFrame));

const server = http2.createServer();
// The same windows our Flight server sets, so the comparison is of the work per call only.
server.on('session', (session) => {
  session.settings({ initialWindowSize: STREAM_WINDOW_BYTES });
  session.setLocalWindowSize(serverConnectionWindowBytes('tcp'));
});
server.on('stream', (stream: http2.ServerHttp2Stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-encoding': 'identity' }, { waitForTrailers: true });
    stream.once('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': '' }));
    stream.end(answer);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.stdout.write(`raw-http2 listening on grpc://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
