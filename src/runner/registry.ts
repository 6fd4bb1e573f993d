/**
 * The runners a server hosts, each loading, ready or failed. Loading happens in the
 * background so the server can answer `health` (ready: false) while models load.
 */
import { FlightError } from '../flight/index.js';
import { log } from '../util/log.js';
import type { Runner } from './runner.js';
import { NAME_PATTERN } from './signature.js';

/** A runner's state, as the `health` action reports it. */
export type RunnerState = 'loading' | 'ready' | 'failed';

interface Entry {
  state: RunnerState;
  runner?: Runner;
  error?: string;
  loading: Promise<void>;
}

/**
 * @example
 * const registry = new RunnerRegistry();
 * registry.add('iris', () => loadOnnxRunner('iris', 'models/iris.onnx'));
 * await registry.ready();
 */
export class RunnerRegistry {
  private readonly entries = new Map<string, Entry>();

  /** Starts loading a runner under `name`. */
  add(name: string, load: () => Promise<Runner>): void {
    if (!NAME_PATTERN.test(name)) throw new Error(`runner name ${JSON.stringify(name)} must match [A-Za-z0-9_.-]+`);
    if (this.entries.has(name)) throw new Error(`runner ${JSON.stringify(name)} is defined twice`);
    const entry: Entry = { state: 'loading', loading: Promise.resolve() };
    const started = Date.now();
    entry.loading = load().then(
      (runner) => {
        entry.runner = runner;
        entry.state = 'ready';
        log('info', 'runner ready', { runner: name, platform: runner.platform, methods: runner.methods.map((m) => m.signature.name), ms: Date.now() - started });
      },
      (err: unknown) => {
        entry.state = 'failed';
        entry.error = err instanceof Error ? err.message : String(err);
        log('error', 'runner failed to load', { runner: name, error: entry.error });
      },
    );
    this.entries.set(name, entry);
  }

  /** Adds an already loaded runner. */
  addRunner(runner: Runner): void {
    this.add(runner.name, async () => runner);
  }

  /** Waits until every runner has loaded or failed. */
  async ready(): Promise<void> {
    await Promise.all([...this.entries.values()].map((e) => e.loading));
  }

  /** Names of all runners, in the order they were added. */
  names(): string[] {
    return [...this.entries.keys()];
  }

  /** State of each runner. */
  states(): Record<string, RunnerState> {
    return Object.fromEntries([...this.entries].map(([name, e]) => [name, e.state]));
  }

  /** Why each failed runner failed to load, by name (only failed runners). */
  errors(): Record<string, string> {
    return Object.fromEntries([...this.entries].flatMap(([name, e]) => (e.state === 'failed' ? [[name, e.error ?? 'unknown error']] : [])));
  }

  /** Ready runners. */
  readyRunners(): Runner[] {
    return [...this.entries.values()].flatMap((e) => (e.runner && e.state === 'ready' ? [e.runner] : []));
  }

  /** The runner, or NOT_FOUND (listing runners) / UNAVAILABLE (loading or failed). */
  get(name: string): Runner {
    const entry = this.entries.get(name);
    if (!entry) {
      throw FlightError.notFound(`unknown runner '${name}'; runners: ${this.names().map((n) => `'${n}'`).join(', ') || 'none'}`);
    }
    if (entry.state === 'loading') throw FlightError.unavailable(`runner '${name}' is still loading`);
    if (entry.state === 'failed') throw FlightError.unavailable(`runner '${name}' failed to load: ${entry.error}`);
    return entry.runner!;
  }

  /** Closes every loaded runner. */
  async close(): Promise<void> {
    await this.ready();
    await Promise.all(this.readyRunners().map((r) => r.close?.()));
  }
}
