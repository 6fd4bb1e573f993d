import { parseArgs } from 'node:util';
import type { RunnerListing } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import { loadCredentials } from '../config/credentials.js';
import { checkMethodOverrides, runnerMethodsOf } from '../config/method-overrides.js';
import { checkRunnerPaths, configFromTargets, type RunnerConfig } from '../config/serve-config.js';
import { FlightServer } from '../flight/index.js';
import { OIP_SERVICE_NAME } from '../oip/messages.js';
import { oipGrpcMethods } from '../oip/grpc-service.js';
import { OipHttpServer } from '../oip/http-server.js';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../flight/receive-budget.js';
import { RunnerRegistry } from '../runner/registry.js';
import { runnerService } from '../runner/service.js';
import { StatsRegistry } from '../runner/stats.js';
import { scheduledRunnersOf } from '../scheduling/runner-loader.js';
import { combineObservers, statsObserver } from '../scheduling/observers.js';
import { ServerMetrics } from '../scheduling/metrics.js';
import { log, setLogLevel, type LogLevel } from '../util/log.js';
import {
  checkSocketWithoutTls, credentialFlags, credentialHelp, credentialOptions, isLoopback, parsePort, serveUntilSignalled, UsageError,
} from './serve-process.js';
import { receiveLimitHelp, receiveLimitOptions, receiveLimits } from './receive-limits.js';

export const serveHelp = `Usage: flight-runner serve <target>... [--host H] [--port P] [--socket PATH] [--token TOKEN]

Serves runners over Arrow Flight. A target is:
  model.onnx        an ONNX model (runner named after the file; one method, "predict")
  runners.ts|.js    a JS/TS module exporting runners made with defineRunner()
  config.yaml       a config naming runners, backends, options and server settings
                    (every key: docs/configuration.md; an invalid config exits 2)

Options:
  --host H            address to bind (default 127.0.0.1, or the config's server.host);
                      a non-loopback address without auth logs a warning
  --port P            TCP port; 0 picks a free one and prints it (default 8815)
  --socket PATH       also serve grpc+unix://PATH for same-host clients (not with TLS)
  --http-port P       also serve the Open Inference Protocol (KServe V2) over HTTP/REST on
                      port P of the same host, same auth and TLS (0: a free port, logged);
                      V2 over gRPC is always served on --port (docs/oip.md)
  --metrics-port P    serve Prometheus metrics at http://HOST:P/metrics (0: a free port, logged)
  --metrics-host HOST address of the metrics endpoint (default 127.0.0.1, whatever --host is:
                      metrics have no auth)
${credentialHelp}
${receiveLimitHelp}
  --log-level LEVEL   debug | info | warn | error (default info)
  --strict            exit 1 if any runner fails to load (default: log it and serve the others)
  -h, --help          show this help

Flags override the config's server settings; tokens from every source are accepted.
Prints "flight-runner listening on grpc://H:P" (grpc+tls:// with TLS) once it accepts
calls; runners load in the background ("health" reports them as loading until ready).
Once every runner has loaded or failed, one log line says which are ready and why any
failed; a failed runner stays listed (list, health) and calls to it are UNAVAILABLE with
the reason, while the others serve. SIGTERM drains in-flight calls, then exits 0.

Examples:
  flight-runner serve examples/models/iris.onnx --port 0
  flight-runner serve examples/serve.yaml --host 0.0.0.0 --tokens-file /etc/flight-runner/tokens \\
    --tls-cert server.crt --tls-key server.key`;

const LOG_LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** `http://host:port/metrics`, with IPv6 hosts in brackets. */
function metricsUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`;
}

/**
 * One warning per runner configured in process whose backend warns against it (JS: user
 * code on the server's thread). Such backends default to another isolation for a reason.
 */
function warnIfInProcess(entry: RunnerConfig, runners: string[]): void {
  const backend = backendNamed(entry.backend);
  if (!backend.inProcessWarning || entry.scheduling?.isolation !== 'in-process') return;
  const where = backend.defaultIsolation === 'process' ? 'child processes' : 'worker threads';
  for (const runner of runners) {
    log('warn', `${backend.title} runner configured in process`, {
      runner,
      why: backend.inProcessWarning,
      fix: `remove isolation: in-process to run it in ${where} (the default)`,
      ...(entry.source ? { config: entry.source.file, at: `${entry.source.path}.scheduling.isolation` } : {}),
    });
  }
}

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
      'http-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      ...credentialOptions,
      ...receiveLimitOptions,
      strict: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${serveHelp}\n`);
    return;
  }
  if (values['log-level'] !== undefined) {
    if (!LOG_LEVELS.includes(values['log-level'] as LogLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(values['log-level'])}`);
    setLogLevel(values['log-level'] as LogLevel);
  }
  if (!positionals.length) throw new UsageError('give at least one target: a .onnx model, a JS/TS module or a YAML config');
  const config = configFromTargets(positionals);
  // Check every flag and credential before loading anything, so a mistake fails fast.
  const port = parsePort(values.port, config.server.port ?? 8815);
  const limits = receiveLimits(values, config.server);
  const metricsPort = values['metrics-port'] !== undefined ? parsePort(values['metrics-port'], 0) : config.server.metricsPort;
  const httpPort = values['http-port'] !== undefined ? parsePort(values['http-port'], 0) : config.server.httpPort;
  const metricsHost = values['metrics-host'] ?? config.server.metricsHost ?? '127.0.0.1';
  const host = values.host ?? config.server.host ?? '127.0.0.1';
  const credentials = loadCredentials(credentialFlags(values), process.env['FLIGHT_RUNNER_TOKEN'], {
    server: config.server,
    ...(config.serverSources.auth ? { authFile: config.serverSources.auth } : {}),
    ...(config.serverSources.tls ? { tlsFile: config.serverSources.tls } : {}),
  });
  checkRunnerPaths(config);
  const socket = values.socket ?? config.server.socket;
  checkSocketWithoutTls(socket, Boolean(credentials.tls));
  // Method names are known before any model loads: a per-method override naming no
  // method is a config error now, not a surprise later.
  const listed: [RunnerConfig, RunnerListing[]][] = [];
  for (const entry of config.runners) {
    const runners = await runnerMethodsOf(entry);
    checkMethodOverrides(entry, runners);
    listed.push([entry, runners]);
  }

  const registry = new RunnerRegistry();
  const stats = new StatsRegistry();
  // Prometheus histograms cost a few percent of a one-row call: only kept when scraped.
  const metrics = metricsPort !== undefined ? new ServerMetrics(registry) : undefined;
  const observe = (runner: string, method: string) => (metrics
    ? combineObservers(statsObserver(stats, runner, method), metrics.observer(runner, method))
    : statsObserver(stats, runner, method));
  for (const [entry, runners] of listed) {
    const pending = await scheduledRunnersOf(entry, observe, runners);
    warnIfInProcess(entry, pending.map((p) => p.name));
    for (const p of pending) registry.add(p.name, p.load);
  }
  const locations: string[] = [];
  const handlers = runnerService(registry, {
    locations, stats, ...(metrics ? { onCall: metrics.recordCall.bind(metrics) } : {}),
  });
  const server = new FlightServer(handlers, {
    ...limits,
    ...(credentials.auth ? { auth: credentials.auth } : {}),
    ...(credentials.tls ? { tls: credentials.tls } : {}),
  });
  // The Open Inference Protocol (KServe V2) on the same port, with the same credentials.
  const oip = { registry, stats, ...(metrics ? { onCall: metrics.recordCall.bind(metrics) } : {}) };
  server.addService(OIP_SERVICE_NAME, oipGrpcMethods(oip, credentials.auth ? { auth: credentials.auth } : {}));
  if (metrics && metricsPort !== undefined) {
    const { port: bound } = await metrics.listen(metricsPort, metricsHost);
    log('info', 'metrics', { url: metricsUrl(metricsHost, bound) });
    if (!isLoopback(metricsHost)) {
      log('warn', 'metrics endpoint on a non-loopback address: it has no authentication, anyone who can reach it can read the metrics', {
        address: metricsHost, fix: 'bind it to 127.0.0.1 (the default; --metrics-host or server.metricsHost) and scrape through a proxy or tunnel',
      });
    }
  }
  // V2 over REST, when asked for: started before the listening line, so a client that
  // waits for it finds both ports open.
  const rest = httpPort === undefined ? undefined : await OipHttpServer.start(oip, {
    maxBodyBytes: limits.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    budget: server.receiveBudget,
    ...(credentials.auth ? { auth: credentials.auth } : {}),
    ...(credentials.tls ? { tls: credentials.tls } : {}),
  }, { host, port: httpPort });
  if (rest) log('info', 'V2 REST endpoint', { url: `${credentials.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${rest.port}/v2` });
  if (credentials.tokens || credentials.tls) {
    log('info', 'credentials', { tokens: credentials.tokens, tls: Boolean(credentials.tls), mutualTls: credentials.mutualTls });
  }
  await serveUntilSignalled(server, {
    host,
    port,
    ...(socket ? { socket } : {}),
    authenticated: credentials.tokens > 0 || credentials.mutualTls,
  }, async () => {
    await rest?.close();
    await registry.close();
  });
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

