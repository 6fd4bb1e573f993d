/** Entry points of the SDK: `connect()` to a server, `local()` for runners in process. */
import { FlightError } from '../flight/index.js';
import type { Caller, RunnerDescription } from './caller.js';
import { connectionError, openFlightClient, type ConnectOptions } from './connection.js';
import { LocalCaller, type LocalRunner } from './local-caller.js';
import { RemoteCaller } from './remote-caller.js';
import { RunnerHandle } from './runner-handle.js';
import { checkValueOptions, type ValueOptions } from './results.js';

/** A set of runners (remote or local) to call by name. */
export class RunnerClient {
  private constructor(readonly caller: Caller, private descriptions: RunnerDescription[], private readonly values: ValueOptions) {}

  /** @internal */
  static async create(caller: Caller, values: ValueOptions = {}): Promise<RunnerClient> {
    return new RunnerClient(caller, await caller.describe(), values);
  }

  /** Names of every runner. */
  get runners(): string[] {
    return this.descriptions.map((d) => d.name);
  }

  /** A handle to call a runner; NOT_FOUND lists the runners if there is none by that name. */
  runner(name: string): RunnerHandle {
    const description = this.descriptions.find((d) => d.name === name);
    if (!description) {
      throw FlightError.notFound(`unknown runner '${name}'; runners: ${this.runners.map((n) => `'${n}'`).join(', ') || 'none'}`);
    }
    const unavailable = description.unavailable;
    if (unavailable) {
      // The same message the server gives a call to it (runner/registry.ts).
      throw FlightError.unavailable(unavailable.state === 'failed'
        ? `runner '${name}' failed to load: ${unavailable.error ?? 'no reason given'}`
        : `runner '${name}' is still ${unavailable.state}`);
    }
    return new RunnerHandle(this.caller, description, undefined, {}, this.values);
  }

  /** Re-reads the runners and signatures (after the server loaded new ones). */
  async refresh(): Promise<void> {
    this.descriptions = await this.caller.describe();
  }

  close(): void {
    this.caller.close();
  }
}

/**
 * Connects to a flight-runner server (or any server following the runner protocol) and
 * reads its runners. A server that cannot be reached fails at once with UNAVAILABLE
 * (`cannot connect to <location>: ...`); there is no retry.
 *
 * @example
 * const client = await connect('grpc://127.0.0.1:8815');
 * const iris = client.runner('iris');
 * console.log(await iris.run([5.1, 3.5, 1.4, 0.2]));
 *
 * @example
 * // A server with a bearer token and a self-signed certificate.
 * await connect('grpc+tls://models.internal:8815', { token: process.env.TOKEN, caFile: 'ca.pem' });
 */
export async function connect(location: string, options: ConnectOptions & ValueOptions = {}): Promise<RunnerClient> {
  const { int64, ...connection } = options;
  checkValueOptions({ int64 });
  const caller = new RemoteCaller(openFlightClient(location, connection));
  try {
    return await RunnerClient.create(caller, int64 ? { int64 } : {});
  } catch (err) {
    caller.close();
    throw connectionError(location, err);
  }
}

/**
 * The same interface for runners in this process: `local(runner).run(...)` behaves as a
 * remote call would, with the same validation, errors and values. Takes loaded runners
 * or runner definitions (`defineRunner(...)`), whose `setup` runs here; closing the handle
 * (or client) runs their `teardown`. Runners passed loaded stay the caller's to close.
 *
 * @example
 * const scaler = await local(defineRunner({ name: 'scaler', methods: { ... } }));
 * await scaler.run(x);
 * await scaler.close();
 */
export async function local(runner: LocalRunner, options?: ValueOptions): Promise<RunnerHandle>;
export async function local(runners: LocalRunner[], options?: ValueOptions): Promise<RunnerClient>;
export async function local(runners: LocalRunner | LocalRunner[], options: ValueOptions = {}): Promise<RunnerHandle | RunnerClient> {
  checkValueOptions(options);
  const list = Array.isArray(runners) ? runners : [runners];
  const caller = await LocalCaller.load(list);
  const client = await RunnerClient.create(caller, options);
  if (Array.isArray(runners)) return client;
  return client.runner(caller.names[0]!).withOwner(() => caller.release());
}
