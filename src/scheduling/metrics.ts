/**
 * Prometheus metrics, served as text on `--metrics-port` (GET /metrics): calls, rows and
 * errors by status, latency histograms (queue wait, model time, whole call), backend
 * batch sizes, queue depth, and instance states, plus Node process metrics.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatcherObserver } from './batcher.js';
import type { RunnerRegistry } from '../runner/registry.js';

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROW_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];

/** The series of one runner method, each found once (see ServerMetrics.seriesOf). */
interface MethodSeries {
  /** Calls by status code, made on the first call with that code. */
  calls: Map<string, { inc(): void }>;
  rows: { inc(value: number): void };
  total: { observe(value: number): void };
  model: { observe(value: number): void };
  queue: { observe(value: number): void };
  batchRows: { observe(value: number): void };
  queueRows: { set(value: number): void };
}

/** The metric series of a runner server. */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly calls: Counter<'runner' | 'method' | 'code'>;
  private readonly rows: Counter<'runner' | 'method'>;
  private readonly latency: Histogram<'runner' | 'method' | 'stage'>;
  private readonly batchRows: Histogram<'runner' | 'method'>;
  private readonly queueRows: Gauge<'runner' | 'method'>;
  private readonly methodSeries = new Map<string, MethodSeries>();

  constructor(runners?: RunnerRegistry) {
    const registers = [this.registry];
    // prom-client's own names already say what they are (process_cpu_seconds_total,
    // nodejs_eventloop_lag_seconds): the prefix only adds the project's namespace.
    collectDefaultMetrics({ register: this.registry, prefix: 'flight_runner_' });
    this.calls = new Counter({ name: 'flight_runner_calls_total', help: 'Calls (input batches) by final gRPC status code.', labelNames: ['runner', 'method', 'code'], registers });
    this.rows = new Counter({ name: 'flight_runner_rows_total', help: 'Input rows received.', labelNames: ['runner', 'method'], registers });
    this.latency = new Histogram({ name: 'flight_runner_latency_seconds', help: 'Latency by stage: queue (waiting for a batch), model (backend call), total (whole call).', labelNames: ['runner', 'method', 'stage'], buckets: LATENCY_BUCKETS, registers });
    this.batchRows = new Histogram({ name: 'flight_runner_batch_rows', help: 'Rows per backend call (after merging and splitting).', labelNames: ['runner', 'method'], buckets: ROW_BUCKETS, registers });
    this.queueRows = new Gauge({ name: 'flight_runner_queue_rows', help: 'Rows waiting in a method queue.', labelNames: ['runner', 'method'], registers });
    new Gauge({
      name: 'flight_runner_instances',
      help: 'Runner instances by state (idle, busy, starting, restarting, stopped); runners that are loading or failed count as one instance in that state.',
      labelNames: ['runner', 'state'],
      registers,
      collect() {
        this.reset();
        if (!runners) return;
        const ready = new Map(runners.readyRunners().map((r) => [r.name, r]));
        for (const [name, state] of Object.entries(runners.states())) {
          const states = ready.get(name)?.instanceStates?.() ?? [state];
          for (const s of states) this.inc({ runner: name, state: s });
        }
      },
    });
  }

  /** A call finished with gRPC status `code` (name, e.g. OK, INVALID_ARGUMENT). */
  recordCall(runner: string, method: string, rows: number, ms: number, code: string): void {
    const series = this.seriesOf(runner, method);
    let calls = series.calls.get(code);
    if (!calls) series.calls.set(code, calls = this.calls.labels({ runner, method, code }));
    calls.inc();
    series.rows.inc(rows);
    series.total.observe(ms / 1000);
  }

  /** The batcher observer for one method. */
  observer(runner: string, method: string): BatcherObserver {
    const series = this.seriesOf(runner, method);
    return {
      batch: (rows, ms, queueMs) => {
        series.batchRows.observe(rows);
        series.model.observe(ms / 1000);
        series.queue.observe(queueMs / 1000);
      },
      queueDepth: (rows) => series.queueRows.set(rows),
    };
  }

  /**
   * One method's series, looked up once: prom-client finds a series by hashing its label
   * values on every observation, which on a busy server (several observations per call)
   * cost more than the rest of counting a call.
   */
  private seriesOf(runner: string, method: string): MethodSeries {
    const key = `${runner}\u0000${method}`;
    let series = this.methodSeries.get(key);
    if (!series) {
      series = {
        calls: new Map(),
        rows: this.rows.labels({ runner, method }),
        total: this.latency.labels({ runner, method, stage: 'total' }),
        model: this.latency.labels({ runner, method, stage: 'model' }),
        queue: this.latency.labels({ runner, method, stage: 'queue' }),
        batchRows: this.batchRows.labels({ runner, method }),
        queueRows: this.queueRows.labels({ runner, method }),
      };
      this.methodSeries.set(key, series);
    }
    return series;
  }

  /** Serves GET /metrics on `port` (0: a free one). Resolves with the bound port. */
  async listen(port: number, host = '127.0.0.1'): Promise<{ server: Server; port: number }> {
    const server = createServer((req, res) => {
      if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
        this.registry.metrics().then(
          (text) => { res.writeHead(200, { 'content-type': this.registry.contentType }); res.end(text); },
          (err: unknown) => { res.writeHead(500); res.end(String(err)); },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found: metrics are at /metrics\n');
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, () => resolve()));
    const address = server.address();
    return { server, port: typeof address === 'object' && address ? address.port : port };
  }
}
