/**
 * The contract suites' matrix: the same runners reached locally (`local()`) and remotely
 * (`connect()`), each without scheduling, scheduled in process, and scheduled in worker
 * threads (the JS default). The scheduled runners are the real ones `serve` makes: in
 * process through the scheduling module's loader (scheduledRunnersOf, from a serve
 * config), remotely as a real `flight-runner serve` process given that config.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { importRunnerDefinitions, loadJsRunner } from '../../src/backends/js/index.js';
import { connect, local, type RunnerClient, type ValueOptions } from '../../src/client/index.js';
import { configFromTargets } from '../../src/config/serve-config.js';
import { startRunnerServer } from '../../src/runner/runner-server.js';
import type { Runner } from '../../src/runner/runner.js';
import { scheduledRunnersOf } from '../../src/scheduling/runner-loader.js';
import { waitForRunners } from '../examples/ready.js';
import { startServerProcess } from './serve-process.js';

/** How the runners are scheduled: not at all, in this thread, or in worker threads. */
export type Scheduling = 'none' | 'in-process' | 'worker';

/** Where the runners run: in this process (`local()`) or behind a server (`connect()`). */
export type Where = 'local' | 'remote';

/** The name of a cell of the matrix, for test titles: `remote, scheduled in worker threads`. */
export function cellName(where: Where, scheduling: Scheduling): string {
  return `${where}${{ none: '', 'in-process': ', scheduled in process', worker: ', scheduled in worker threads' }[scheduling]}`;
}

/** The runners of one cell, reachable by clients. */
export interface ReachedRunners {
  /** A new client of the runners (closed by `close`). */
  client(options?: ValueOptions): Promise<RunnerClient>;
  /** Closes the clients, then the runners (or their server). */
  close(): Promise<void>;
}

/**
 * The runners of `module` (a JS/TS runner module), reached `where`, scheduled so: loaded
 * as they are (`none`), or as `serve` schedules them.
 */
export async function reachRunners(module: string, where: Where, scheduling: Scheduling): Promise<ReachedRunners> {
  const clients: RunnerClient[] = [];
  const track = async (client: Promise<RunnerClient>) => {
    clients.push(await client);
    return clients[clients.length - 1]!;
  };
  const closeClients = () => { for (const c of clients.splice(0)) c.close(); };
  if (where === 'local') {
    const loaded = scheduling === 'none'
      ? await loadedRunners(module)
      : await scheduledRunners(module, scheduling);
    return {
      client: (options) => track(local(loaded.runners, options)),
      close: async () => { closeClients(); await loaded.close(); },
    };
  }
  if (scheduling === 'none') {
    const loaded = await loadedRunners(module);
    const server = await startRunnerServer({ runners: loaded.runners, listen: [{ host: '127.0.0.1', port: 0 }] });
    await server.registry.ready();
    return {
      client: (options) => track(connect(server.location, options)),
      close: async () => { closeClients(); await server.close(1000); },
    };
  }
  const server = await servedRunners(module, scheduling);
  return {
    client: (options) => track(connect(server.uri, options)),
    close: async () => { closeClients(); await server.close(); },
  };
}

/** Every runner `module` exports, loaded in this process as they are (no scheduler). */
async function loadedRunners(module: string): Promise<{ runners: Runner[]; close(): Promise<void> }> {
  const runners = await Promise.all((await importRunnerDefinitions(module)).map((d) => loadJsRunner(d)));
  return { runners, close: async () => { await Promise.all(runners.map((r) => r.close?.())); } };
}

/** A temporary serve config serving `module` (a JS/TS runner module) with this scheduling. */
function writeConfig(module: string, scheduling: Exclude<Scheduling, 'none'>): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'flight-runner-contract-'));
  const path = join(dir, 'serve.yaml');
  writeFileSync(path, ['runners:', `  - path: ${JSON.stringify(module)}`, `    scheduling: { isolation: ${scheduling} }`, ''].join('\n'));
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The runners of `module` as `serve` schedules them (pool, batchers, instances), loaded
 * in this process for `local()`. `close` stops them (their instances and workers).
 */
export async function scheduledRunners(module: string, scheduling: Exclude<Scheduling, 'none'>): Promise<{ runners: Runner[]; close(): Promise<void> }> {
  const config = writeConfig(module, scheduling);
  try {
    const [entry] = configFromTargets([config.path]).runners;
    const pending = await scheduledRunnersOf(entry!, () => ({}));
    const runners = await Promise.all(pending.map((p) => p.load()));
    return { runners, close: async () => { await Promise.all(runners.map((r) => r.close?.())); } };
  } finally {
    config.remove();
  }
}

/**
 * A real `flight-runner serve` process serving `module` with this scheduling, once every
 * runner is ready. `close` stops it with SIGTERM and throws if it does not exit 0.
 */
export async function servedRunners(module: string, scheduling: Exclude<Scheduling, 'none'>): Promise<{ uri: string; close(): Promise<void> }> {
  const config = writeConfig(module, scheduling);
  try {
    const server = await startServerProcess(['serve', config.path, '--port', '0', '--log-level', 'warn'], 120_000);
    try {
      await waitForRunners(server.uri);
    } catch (err) {
      await server.stop();
      throw err;
    }
    return {
      uri: server.uri,
      close: async () => {
        const code = await server.stop();
        if (code !== 0) throw new Error(`serve exited ${code}:\n${server.stderr()}`);
      },
    };
  } finally {
    // The config is read at start; the process no longer needs the file.
    config.remove();
  }
}
