/** A Caller over Arrow Flight: discovery through ListFlights, calls through DoExchange. */
import type { RecordBatch } from 'apache-arrow';
import { FlightClient, FlightDescriptor, FlightError, type FlightChunk, type FlightClientOptions } from '../flight/index.js';
import { signatureFromJSON } from '../runner/signature.js';
import type { CallOptions, Caller, RunnerDescription } from './caller.js';

/** Calls runners served at a Flight location. */
export class RemoteCaller implements Caller {
  constructor(readonly client: FlightClient) {}

  static async connect(location: string, options: FlightClientOptions = {}): Promise<RemoteCaller> {
    return new RemoteCaller(await FlightClient.connect(location, options));
  }

  async describe(): Promise<RunnerDescription[]> {
    const byRunner = new Map<string, RunnerDescription>();
    for await (const info of this.client.listFlights()) {
      if (!info.appMetadata) continue;
      const json = JSON.parse(new TextDecoder().decode(info.appMetadata)) as Record<string, unknown>;
      const runner = String(json['runner']);
      if (typeof json['method'] !== 'string') {
        // A runner that is loading or failed to load: listed with its state, no methods.
        byRunner.set(runner, {
          name: runner, methods: [],
          unavailable: { state: String(json['state']), ...(typeof json['error'] === 'string' ? { error: json['error'] } : {}) },
        });
        continue;
      }
      let entry = byRunner.get(runner);
      if (!entry) byRunner.set(runner, (entry = { name: runner, methods: [] }));
      entry.methods.push(signatureFromJSON(json));
    }
    return [...byRunner.values()];
  }

  async call(runner: string, method: string, batch: RecordBatch, options: CallOptions = {}): Promise<RecordBatch> {
    let result: RecordBatch | undefined;
    for await (const chunk of this.stream(runner, method, [{ batch }], options)) {
      if (chunk.batch) result = chunk.batch;
    }
    if (!result) throw FlightError.internal(`runner '${runner}' method '${method}' returned no batch`);
    return result;
  }

  stream(runner: string, method: string, input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>, options: CallOptions = {}): AsyncIterable<FlightChunk> {
    return this.client.exchange(FlightDescriptor.path(runner, method), input, options);
  }

  close(): void {
    this.client.close();
  }
}
