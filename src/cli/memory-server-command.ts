import { parseArgs } from 'node:util';
import { loadCredentials } from '../config/credentials.js';
import { FlightServer } from '../flight/server.js';
import { memoryServerHandlers } from '../memory/memory-server.js';
import { log } from '../util/log.js';
import { receiveLimitHelp, receiveLimitOptions, receiveLimits } from './receive-limits.js';
import { checkSocketWithoutTls, credentialFlags, credentialHelp, credentialOptions, parsePort, serveUntilSignalled } from './serve-process.js';

export const memoryServerHelp = `Usage: flight-runner memory-server [--host H] [--port P] [--socket PATH] [--token TOKEN]

An in-memory Arrow Flight server: DoPut stores a stream under its descriptor,
ListFlights / GetFlightInfo / GetSchema describe what is stored, DoGet returns it,
DoExchange echoes every batch with its app_metadata, DoAction clear / healthcheck.

Options:
  --host H            address to bind (default 127.0.0.1); a non-loopback address
                      without auth logs a warning
  --port P            TCP port; 0 picks a free one and prints it (default 8815)
  --socket PATH       also serve grpc+unix://PATH for same-host clients (not with TLS)
${credentialHelp}
${receiveLimitHelp}
  -h, --help          show this help

Prints "flight-runner listening on grpc://H:P" (grpc+tls:// with TLS) once it accepts
calls. SIGTERM drains in-flight calls, then exits 0.`;

/** `flight-runner memory-server`. */
export async function memoryServerCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string' },
      socket: { type: 'string' },
      ...credentialOptions,
      ...receiveLimitOptions,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${memoryServerHelp}\n`);
    return;
  }
  const port = parsePort(values.port, 8815);
  const credentials = loadCredentials(credentialFlags(values), process.env['FLIGHT_RUNNER_TOKEN']);
  checkSocketWithoutTls(values.socket, Boolean(credentials.tls));
  const locations: string[] = [];
  const server = new FlightServer(memoryServerHandlers(locations), {
    ...receiveLimits(values),
    ...(credentials.auth ? { auth: credentials.auth } : {}),
    ...(credentials.tls ? { tls: credentials.tls } : {}),
  });
  if (credentials.tokens || credentials.tls) {
    log('info', 'credentials', { tokens: credentials.tokens, tls: Boolean(credentials.tls), mutualTls: credentials.mutualTls });
  }
  await serveUntilSignalled(server, {
    host: values.host!, port, ...(values.socket ? { socket: values.socket } : {}),
    authenticated: credentials.tokens > 0 || credentials.mutualTls,
  });
  locations.push(...server.locations);
}
