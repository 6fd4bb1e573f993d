/**
 * A Flight server hosting runners: the registry, the runner service and the Flight
 * server wired together, as `flight-runner serve` and the tests start it.
 */
import { FlightServer, type FlightServerOptions, type ListenAddress } from '../flight/index.js';
import { oipGrpcMethods } from '../oip/grpc-service.js';
import { OIP_SERVICE_NAME } from '../oip/messages.js';
import { RunnerRegistry } from './registry.js';
import type { Runner } from './runner.js';
import { runnerService } from './service.js';
import type { StatsRegistry } from './stats.js';

/** A running runner server. */
export interface RunnerServer {
  server: FlightServer;
  registry: RunnerRegistry;
  stats: StatsRegistry;
  /** The first location bound (TCP). */
  location: string;
  close(graceMs?: number): Promise<void>;
}

/** Options for {@link startRunnerServer}. */
export interface RunnerServerOptions extends FlightServerOptions {
  /** Runners to serve, loaded or as loaders (loaded in the background). */
  runners: (Runner | { name: string; load: () => Promise<Runner> })[];
  listen?: ListenAddress[];
}

/**
 * Starts a runner server (default 127.0.0.1, a free port).
 *
 * @example
 * const { location, close } = await startRunnerServer({ runners: [await loadJsRunner(def)] });
 */
export async function startRunnerServer(options: RunnerServerOptions): Promise<RunnerServer> {
  const registry = new RunnerRegistry();
  for (const r of options.runners) {
    if ('load' in r) registry.add(r.name, r.load);
    else registry.addRunner(r);
  }
  const locations: string[] = [];
  const handlers = runnerService(registry, { locations });
  const server = new FlightServer(handlers, options);
  // The Open Inference Protocol (KServe V2) on the same port, with the same credentials.
  server.addService(OIP_SERVICE_NAME, oipGrpcMethods({ registry, stats: handlers.stats }, options.auth ? { auth: options.auth } : {}));
  for (const address of options.listen ?? [{ host: '127.0.0.1', port: 0 }]) {
    const { location } = await server.listen(address);
    locations.push(location);
  }
  return {
    server,
    registry,
    stats: handlers.stats,
    location: locations[0]!,
    close: async (graceMs = 5000) => {
      await server.close(graceMs);
      await registry.close();
    },
  };
}
