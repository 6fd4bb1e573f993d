/**
 * A Caller that runs runners in this process, through the runner layer's exchange
 * pipeline (runner/exchange.ts), the one the server runs each DoExchange through, so
 * local and remote calls behave the same: batches go in and come out as they are, with
 * no Flight encoding between.
 */
import type { RecordBatch } from 'apache-arrow';
import { FlightError, type FlightChunk } from '../flight/index.js';
import { methodOf } from '../runner/call.js';
import { exchangeChunks } from '../runner/exchange.js';
import type { Runner } from '../runner/runner.js';
import { isRunnerDefinition, type JsRunnerDefinition } from '../backends/js/define.js';
import { loadJsRunner } from '../backends/js/js-runner.js';
import type { CallOptions, Caller, RunnerDescription } from './caller.js';

/** What local() takes: a loaded runner, or a runner definition to load here. */
// Any state type: a definition's setup() returns its own state, which only it uses.
// biome-ignore lint/suspicious/noExplicitAny: each definition's state type is its own; unknown would reject them.
export type LocalRunner = Runner | JsRunnerDefinition<any>;

/** Runs the given runners in process. */
export class LocalCaller implements Caller {
  private readonly runners: Map<string, Runner>;

  /** `owned`: runners this caller loaded itself, closed by release(). */
  constructor(runners: Runner[], private readonly owned: Runner[] = []) {
    const names = runners.map((r) => r.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new TypeError(`two runners are named '${twice}'; runner names must be unique`);
    this.runners = new Map(runners.map((r) => [r.name, r]));
  }

  /** A caller for loaded runners and definitions; definitions are loaded (their setup runs). */
  static async load(items: LocalRunner[]): Promise<LocalCaller> {
    const owned: Runner[] = [];
    const runners: Runner[] = [];
    try {
      for (const item of items) {
        if (isRunnerDefinition(item)) {
          const runner = await loadJsRunner(item);
          owned.push(runner);
          runners.push(runner);
        } else if (isLoadedRunner(item)) {
          runners.push(item);
        } else {
          throw new TypeError('local() takes runners (loadJsRunner, loadOnnxRunner) or runner definitions (defineRunner); got an object that is neither');
        }
      }
      return new LocalCaller(runners, owned);
    } catch (err) {
      await Promise.all(owned.map((r) => r.close?.()));
      throw err;
    }
  }

  /** Names of the runners, in the order given. */
  get names(): string[] {
    return [...this.runners.keys()];
  }

  /** Closes the runners this caller loaded (their teardown runs). */
  async release(): Promise<void> {
    const owned = this.owned.splice(0);
    await Promise.all(owned.map((r) => r.close?.()));
  }

  async describe(): Promise<RunnerDescription[]> {
    return [...this.runners.values()].map((r) => ({ name: r.name, methods: r.methods.map((m) => m.signature) }));
  }

  async call(runner: string, method: string, batch: RecordBatch, options: CallOptions = {}): Promise<RecordBatch> {
    let result: RecordBatch | undefined;
    for await (const chunk of this.stream(runner, method, [{ batch }], options)) {
      if (chunk.batch) result = chunk.batch;
    }
    if (!result) throw FlightError.internal(`runner '${runner}' method '${method}' returned no batch`);
    return result;
  }

  async *stream(runnerName: string, methodName: string, input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>, options: CallOptions = {}): AsyncIterable<FlightChunk> {
    const runner = this.runners.get(runnerName);
    if (!runner) {
      throw FlightError.notFound(`unknown runner '${runnerName}'; runners: ${[...this.runners.keys()].map((n) => `'${n}'`).join(', ') || 'none'}`);
    }
    const method = methodOf(runner, methodName);
    const deadline = options.deadline === undefined ? undefined
      : options.deadline instanceof Date ? options.deadline : new Date(Date.now() + options.deadline);
    yield* exchangeChunks({ runner, method }, input, { ...(options.signal ? { signal: options.signal } : {}), ...(deadline ? { deadline } : {}) });
  }

  close(): void {
    void this.release();
  }
}

function isLoadedRunner(x: unknown): x is Runner {
  return typeof x === 'object' && x !== null && Array.isArray((x as { methods?: unknown }).methods) && typeof (x as { name?: unknown }).name === 'string';
}
