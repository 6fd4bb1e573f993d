/**
 * Several instances of one runner, supervised. Each instance runs one batch at a time;
 * the pool hands out idle instances, notices one that crashes (its `exited` promise) or
 * hangs (a batch over `hangTimeoutMs`), fails that instance's batch with UNAVAILABLE
 * naming the cause, and restarts it with exponential backoff while the others serve.
 */
import { FlightError } from '../flight/index.js';
import type { InstanceState, Runner } from '../runner/runner.js';
import { log } from '../util/log.js';

/** A started instance. */
export interface StartedInstance {
  runner: Runner;
  /** Resolves with the cause when the instance dies on its own (crash); never for in-process runners. */
  exited: Promise<string>;
  /** Stops the instance (used for hangs and shutdown). */
  stop(): Promise<void>;
}

/** Starts instance number `index` (0-based). */
export type InstanceStarter = (index: number) => Promise<StartedInstance>;

/** An instance's state, as `health` reports it (defined by the runner layer, which reports it). */
export type { InstanceState } from '../runner/runner.js';

/** Pool settings. */
export interface InstancePoolOptions {
  /** A batch running longer than this marks the instance hung: it is stopped and restarted. */
  hangTimeoutMs?: number;
  /** First restart delay; doubles per consecutive failure up to `maxBackoffMs`. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

interface Slot {
  index: number;
  state: InstanceState;
  instance?: StartedInstance;
  failures: number;
  /** Rejects the running batch when the instance dies. */
  abortRunning?: (err: FlightError) => void;
}

/**
 * @example
 * const pool = new InstancePool('iris', 2, (i) => startInProcess(loadOnnxRunner(path)));
 * await pool.start();
 * const out = await pool.runOn(pool.idle()!, (runner) => runner.methods[0]!.invoke(batch, {}, {}));
 */
export class InstancePool {
  private readonly slots: Slot[];
  private closed = false;
  /** Called whenever an instance becomes idle (the batcher dispatches then). */
  onIdle: () => void = () => {};

  constructor(
    readonly name: string,
    count: number,
    private readonly starter: InstanceStarter,
    private readonly options: InstancePoolOptions = {},
  ) {
    this.slots = Array.from({ length: count }, (_, index) => ({ index, state: 'starting' as InstanceState, failures: 0 }));
  }

  /** Starts every instance; resolves once all started, rejects if none could. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.slots.map((slot) => this.startSlot(slot)));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    if (failed.length === this.slots.length) throw failed[0]!.reason;
    for (const [i, r] of results.entries()) if (r.status === 'rejected') this.scheduleRestart(this.slots[i]!, String(r.reason));
  }

  /** The runner of the first started instance (signatures are the same on every instance). */
  get prototype(): Runner {
    const slot = this.slots.find((s) => s.instance);
    if (!slot) throw FlightError.unavailable(`runner '${this.name}' has no running instance`);
    return slot.instance!.runner;
  }

  /** Number of instances. */
  get size(): number {
    return this.slots.length;
  }

  /** Each instance's state. */
  states(): InstanceState[] {
    return this.slots.map((s) => s.state);
  }

  /** An idle instance's index, if any. */
  idle(): number | undefined {
    // A loop, not find(): asked on every call's dispatch attempt.
    for (const slot of this.slots) if (slot.state === 'idle') return slot.index;
    return undefined;
  }

  /** True if no instance is up, nor coming back (all stopped). */
  get dead(): boolean {
    return this.slots.every((s) => s.state === 'stopped');
  }

  /**
   * Runs `work` on instance `index`, which must be idle. Rejects with UNAVAILABLE if the
   * instance crashes or hangs meanwhile; the instance is then restarted.
   */
  async runOn<T>(index: number, work: (runner: Runner) => Promise<T>): Promise<T> {
    const slot = this.slots[index]!;
    if (slot.state !== 'idle' || !slot.instance) throw new Error(`instance ${index} of '${this.name}' is ${slot.state}`);
    slot.state = 'busy';
    const instance = slot.instance;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await new Promise<T>((resolve, reject) => {
        slot.abortRunning = reject;
        if (this.options.hangTimeoutMs) {
          timer = setTimeout(() => {
            const cause = `hung: a batch ran longer than ${this.options.hangTimeoutMs} ms`;
            reject(this.unavailable(index, cause));
            void this.replace(slot, instance, cause);
          }, this.options.hangTimeoutMs);
        }
        work(instance.runner).then(resolve, reject);
      });
    } finally {
      clearTimeout(timer);
      slot.abortRunning = undefined;
      if (slot.state === 'busy' && slot.instance === instance) {
        slot.state = 'idle';
        slot.failures = 0;
        this.onIdle();
      }
    }
  }

  /** Stops every instance. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map(async (slot) => {
      slot.state = 'stopped';
      await slot.instance?.stop().catch(() => {});
    }));
  }

  private unavailable(index: number, cause: string): FlightError {
    return FlightError.unavailable(`runner '${this.name}' instance ${index} ${cause}; it is being restarted`);
  }

  private async startSlot(slot: Slot): Promise<void> {
    slot.state = slot.failures ? 'restarting' : 'starting';
    const instance = await this.starter(slot.index);
    if (this.closed) {
      await instance.stop();
      return;
    }
    slot.instance = instance;
    slot.state = 'idle';
    void instance.exited.then((cause) => {
      if (slot.instance !== instance || this.closed) return;
      slot.abortRunning?.(this.unavailable(slot.index, `exited: ${cause}`));
      this.scheduleRestart(slot, cause);
    });
    this.onIdle();
  }

  /** Stops a hung instance and starts a new one in its place. */
  private async replace(slot: Slot, instance: StartedInstance, cause: string): Promise<void> {
    if (slot.instance !== instance) return;
    slot.instance = undefined;
    await instance.stop().catch(() => {});
    this.scheduleRestart(slot, cause);
  }

  private scheduleRestart(slot: Slot, cause: string): void {
    if (this.closed) return;
    slot.instance = undefined;
    slot.state = 'restarting';
    slot.failures++;
    const min = this.options.minBackoffMs ?? 100;
    const delay = Math.min(this.options.maxBackoffMs ?? 10_000, min * 2 ** (slot.failures - 1));
    log('warn', 'instance down; restarting', { runner: this.name, instance: slot.index, cause, inMs: delay, failures: slot.failures });
    setTimeout(() => {
      if (this.closed) return;
      this.startSlot(slot).then(
        () => log('info', 'instance restarted', { runner: this.name, instance: slot.index }),
        (err: unknown) => this.scheduleRestart(slot, String(err instanceof Error ? err.message : err)),
      );
    }, delay).unref();
  }
}
