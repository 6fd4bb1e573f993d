/**
 * Test helper: a real in-memory Flight server on loopback, in this process, with a
 * connected client. Every test gets its own port, so suites can run side by side.
 */
import { FlightClient, FlightServer, type FlightHandlers, type FlightServerOptions } from '../../src/flight/index.js';
import { memoryServerHandlers } from '../../src/memory/memory-server.js';

export interface Running {
  server: FlightServer;
  client: FlightClient;
  location: string;
  close(): Promise<void>;
}

/** Starts `handlers` (default: the in-memory service) on 127.0.0.1:0 and connects a client. */
export async function startServer(handlers?: FlightHandlers, options: FlightServerOptions = {}): Promise<Running> {
  const locations: string[] = [];
  const server = new FlightServer(handlers ?? memoryServerHandlers(locations), options);
  const { location } = await server.listen({ host: '127.0.0.1', port: 0 });
  locations.push(location);
  const client = await FlightClient.connect(location);
  return {
    server,
    client,
    location,
    close: async () => {
      client.close();
      await server.close(1000);
    },
  };
}
