/**
 * A runner behind a scheduler: a pool of instances, and per method a batcher in front
 * of it. It is itself a Runner, so the service, the registry and local() use it
 * unchanged; only where its calls go differs.
 */
import type { RecordBatch } from 'apache-arrow';
import type { CallParams, InvokeContext, Runner, RunnerMethod } from '../runner/runner.js';
import { Batcher, batchingDefaults, type BatcherObserver, type BatchingOptions } from './batcher.js';
import { InstancePool, type InstancePoolOptions, type InstanceStarter, type InstanceState } from './instance-pool.js';

/** Scheduling settings of a runner. */
export interface SchedulingOptions extends InstancePoolOptions {
  /** Batching for every method, or per method name. */
  batching?: Partial<BatchingOptions> & { methods?: Record<string, Partial<BatchingOptions>> };
}

/** A Runner whose calls are batched and spread over instances. */
export class ScheduledRunner implements Runner {
  readonly methods: RunnerMethod[];
  readonly batchers = new Map<string, Batcher>();
  // Read once: while every instance is restarting there is no runner to ask.
  readonly name: string;
  readonly platform: string;
  readonly versions: readonly string[];
  /** As its instances' runners: a merged batch is a copy, a one-piece call goes to an instance as it is. */
  readonly releasesInputs: boolean;

  private constructor(readonly pool: InstancePool, options: SchedulingOptions, observe: (method: string) => BatcherObserver) {
    const proto = pool.prototype;
    this.name = proto.name;
    this.platform = proto.platform;
    this.versions = proto.versions;
    this.releasesInputs = proto.releasesInputs === true;
    this.methods = proto.methods.map((m) => {
      const overrides = { ...options.batching, ...options.batching?.methods?.[m.signature.name] };
      // A method that takes at most N rows per call (a kserve model's max_batch_size) is
      // never handed more, whatever the config asks.
      const limit = m.signature.limits?.maxBatchRows;
      if (limit !== undefined) overrides.maxBatchRows = Math.min(overrides.maxBatchRows ?? limit, limit);
      const batcher = new Batcher(proto.name, m, pool, batchingDefaults(m.signature.batchable, overrides), observe(m.signature.name));
      this.batchers.set(m.signature.name, batcher);
      return {
        signature: m.signature,
        invoke: (input: RecordBatch, params: CallParams, ctx: InvokeContext) => batcher.submit(input, params, ctx),
      };
    });
    pool.onIdle = () => { for (const b of this.batchers.values()) b.pump(); };
  }

  /**
   * Starts `count` instances and the batchers.
   *
   * @example
   * const iris = await ScheduledRunner.start('iris', 2, inProcessStarter(() => loadOnnxRunner(path)));
   */
  static async start(
    name: string, count: number, starter: InstanceStarter, options: SchedulingOptions = {},
    observe: (method: string) => BatcherObserver = () => ({}),
  ): Promise<ScheduledRunner> {
    const pool = new InstancePool(name, count, starter, options);
    await pool.start();
    return new ScheduledRunner(pool, options, observe);
  }


  /** Each instance's state. */
  instanceStates(): InstanceState[] {
    return this.pool.states();
  }

  /** Drains the queues, then stops the instances. */
  async close(): Promise<void> {
    await Promise.all([...this.batchers.values()].map((b) => b.drain()));
    await this.pool.close();
  }
}
