import { parseArgs } from 'node:util';
import { configFromTargets } from '../config/serve-config.js';
import { FlightServer } from '../flight/index.js';
import { RunnerRegistry } from '../runner/registry.js';
import { runnerService } from '../runner/service.js';
import { StatsRegistry } from '../runner/stats.js';
import { scheduledRunnersOf } from '../scheduling/runner-loader.js';
import { combineObservers, statsObserver } from '../scheduling/observers.js';
import { ServerMetrics } from '../scheduling/metrics.js';
import { log, setLogLevel, type LogLevel } from '../util/log.js';
import { parsePort, serveUntilSignalled, UsageError } from './serve-process.js';

export const serveHelp = `Usage: flight-runner serve <target>... [--host H] [--port P] [--socket PATH]

Serves runners over Arrow Flight. A target is:
  model.onnx        an ONNX model (runner named after the file; one method, "predict")
  runners.ts|.js    a JS/TS module exporting runners made with defineRunner()
  config.yaml       a config naming runners, backends, options and server settings

Options:
  --host H            address to bind (default 127.0.0.1, or the config's server.host)
  --port P            TCP port; 0 picks a free one and prints it (default 8815)
  --socket PATH       also serve grpc+unix://PATH for same-host clients
  --metrics-port P    serve Prometheus metrics at http://H:P/metrics (0: a free port, logged)
  --log-level LEVEL   debug | info | warn | error (default info)
  --strict            exit 1 if any runner fails to load (default: log it and serve the others)
  -h, --help          show this help

Prints "flight-runner listening on grpc://H:P" once it accepts calls; runners load in
the background ("health" reports them as loading until ready). Once every runner has
loaded or failed, one log line says which are ready and why any failed; a failed runner
stays listed (list, health) and calls to it are UNAVAILABLE with the reason, while the
others serve. SIGTERM drains in-flight calls, then exits 0.

Example:
  flight-runner serve examples/models/iris.onnx --port 0`;

/** `flight-runner serve`. */
export async function serveCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      socket: { type: 'string' },
      'log-level': { type: 'string' },
      'metrics-port': { type: 'string' },
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${serveHelp}\n`);
    return;
  }
  if (values['log-level']) setLogLevel(values['log-level'] as LogLevel);
  if (!positionals.length) throw new UsageError('give at least one target: a .onnx model, a JS/TS module or a YAML config');
  const config = configFromTargets(positionals);
  // Check every flag before loading anything, so a typo fails fast with the usage.
  const port = parsePort(values.port, config.server.port ?? 8815);
  const metricsPort = values['metrics-port'] !== undefined ? parsePort(values['metrics-port'], 0) : config.server.metricsPort;
  const registry = new RunnerRegistry();
  const stats = new StatsRegistry();
  // Prometheus histograms cost a few percent of a one-row call: only kept when scraped.
  const metrics = metricsPort !== undefined ? new ServerMetrics(registry) : undefined;
  const observe = (runner: string, method: string) => (metrics
    ? combineObservers(statsObserver(stats, runner, method), metrics.observer(runner, method))
    : statsObserver(stats, runner, method));
  for (const entry of config.runners) {
    for (const pending of await scheduledRunnersOf(entry, observe)) registry.add(pending.name, pending.load);
  }
  const locations: string[] = [];
  const server = new FlightServer(runnerService(registry, {
    locations, stats, ...(metrics ? { onCall: metrics.recordCall.bind(metrics) } : {}),
  }));
  if (metrics && metricsPort !== undefined) {
    const { port } = await metrics.listen(metricsPort, values.host ?? config.server.host ?? '127.0.0.1');
    log('info', 'metrics', { url: `http://${values.host ?? config.server.host ?? '127.0.0.1'}:${port}/metrics` });
  }
  await serveUntilSignalled(server, {
    host: values.host ?? config.server.host ?? '127.0.0.1',
    port,
    ...((values.socket ?? config.server.socket) ? { socket: values.socket ?? config.server.socket } : {}),
  }, () => registry.close());
  locations.push(...server.locations);
  void registry.ready().then(async () => {
    const failed = registry.errors();
    const states = registry.states();
    const ready = Object.keys(states).filter((name) => states[name] === 'ready');
    if (!Object.keys(failed).length) {
      log('info', 'all runners ready', { runners: ready });
      return;
    }
    log('error', `${Object.keys(failed).length} of ${Object.keys(states).length} runners failed to load`, { ready, failed });
    if (values.strict) {
      log('error', 'exiting: --strict and a runner failed to load', { failed: Object.keys(failed) });
      await server.close(0);
      await registry.close();
      process.exit(1);
    }
  });
}
