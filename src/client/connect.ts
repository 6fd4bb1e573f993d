/** Entry points of the SDK: `connect()` to a server, `local()` for runners in process. */
import { FlightError } from '../flight/index.js';
import type { Runner } from '../runner/runner.js';
import type { Caller, RunnerDescription } from './caller.js';
import { connectionError, openFlightClient, type ConnectOptions } from './connection.js';
import { LocalCaller } from './local-caller.js';
import { RemoteCaller } from './remote-caller.js';
import { RunnerHandle } from './runner-handle.js';

/** A set of runners (remote or local) to call by name. */
export class RunnerClient {
  private constructor(readonly caller: Caller, private descriptions: RunnerDescription[]) {}

  /** @internal */
  static async create(caller: Caller): Promise<RunnerClient> {
    return new RunnerClient(caller, await caller.describe());
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
    return new RunnerHandle(this.caller, description);
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
export async function connect(location: string, options: ConnectOptions = {}): Promise<RunnerClient> {
  const caller = new RemoteCaller(openFlightClient(location, options));
  try {
    return await RunnerClient.create(caller);
  } catch (err) {
    caller.close();
    throw connectionError(location, err);
  }
}

/**
 * The same interface for runners in this process: `local(runner).run(...)` behaves as a
 * remote call would, with the same validation and errors.
 *
 * @example
 * const scaler = await local(await loadJsRunner(scalerDefinition));
 * await scaler.run(x);
 */
export async function local(runner: Runner): Promise<RunnerHandle>;
export async function local(runners: Runner[]): Promise<RunnerClient>;
export async function local(runners: Runner | Runner[]): Promise<RunnerHandle | RunnerClient> {
  const list = Array.isArray(runners) ? runners : [runners];
  const client = await RunnerClient.create(new LocalCaller(list));
  return Array.isArray(runners) ? client : client.runner(list[0]!.name);
}
