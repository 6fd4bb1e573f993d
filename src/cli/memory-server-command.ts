import { parseArgs } from 'node:util';
import { FlightServer } from '../flight/index.js';
import { memoryServerHandlers } from '../memory/memory-server.js';
import { parsePort, serveUntilSignalled } from './serve-process.js';

export const memoryServerHelp = `Usage: flight-runner memory-server [--host H] [--port P] [--socket PATH]

An in-memory Arrow Flight server: DoPut stores a stream under its descriptor,
ListFlights / GetFlightInfo / GetSchema describe what is stored, DoGet returns it,
DoExchange echoes every batch with its app_metadata, DoAction clear / healthcheck.

Options:
  --host H         address to bind (default 127.0.0.1)
  --port P         TCP port; 0 picks a free one and prints it (default 8815)
  --socket PATH    also serve grpc+unix://PATH for same-host clients
  -h, --help       show this help

Prints "flight-runner listening on grpc://H:P" once it accepts calls.
SIGTERM drains in-flight calls, then exits 0.`;

/** `flight-runner memory-server`. */
export async function memoryServerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      socket: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${memoryServerHelp}\n`);
    return;
  }
  const locations: string[] = [];
  const server = new FlightServer(memoryServerHandlers(locations));
  await serveUntilSignalled(server, { host: values.host!, port: parsePort(values.port, 8815), socket: values.socket });
  locations.push(...server.locations);
}
