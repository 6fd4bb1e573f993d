/**
 * Our Flight layer with no runner: a FlightServer whose DoExchange reads the stream as a
 * runner's does (descriptor, schema, batches) and answers each batch, in order, with the
 * canned answer. Its cost per call minus raw-http2-server.ts's is what the Flight layer
 * (src/flight) adds; the full runner server's minus this one's is what runners and
 * scheduling add.
 *
 * Prints `flight listening on grpc://HOST:PORT`; stops on SIGTERM.
 */
import { FlightServer } from '../../../src/flight/server.js';
import { cannedAnswer } from './canned-answer.js';

const answer = cannedAnswer();
const server = new FlightServer({
  async doExchange(input, output) {
    await input.schema();
    await output.begin(answer.schema);
    for await (const { batch, appMetadata } of input) if (batch) await output.write(answer, appMetadata);
  },
});
const { port } = await server.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`flight listening on grpc://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => void server.close().then(() => process.exit(0)));
