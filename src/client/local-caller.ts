/**
 * A Caller that runs runners in this process, through the same conform / invoke /
 * check pipeline the server uses, so local and remote calls behave the same.
 */
import type { RecordBatch, Schema } from 'apache-arrow';
import { FlightError, Status, type FlightChunk } from '../flight/index.js';
import { invokeChecked, methodOf } from '../runner/call.js';
import { planConform, type Conformer } from '../runner/conform.js';
import { paramsFromSchema } from '../runner/params.js';
import type { Runner } from '../runner/runner.js';
import type { CallOptions, Caller, RunnerDescription } from './caller.js';

/** Runs the given runners in process. */
export class LocalCaller implements Caller {
  private readonly runners: Map<string, Runner>;

  constructor(runners: Runner[]) {
    this.runners = new Map(runners.map((r) => [r.name, r]));
  }

  async describe(): Promise<RunnerDescription[]> {
    return [...this.runners.values()].map((r) => ({ name: r.name, methods: r.methods.map((m) => m.signature) }));
  }

  async call(runner: string, method: string, batch: RecordBatch, options: CallOptions = {}): Promise<RecordBatch> {
    let result: RecordBatch | undefined;
    for await (const chunk of this.stream(runner, method, [{ batch }], options)) result = chunk.batch;
    return result!;
  }

  async *stream(runnerName: string, methodName: string, input: AsyncIterable<FlightChunk> | Iterable<FlightChunk>, options: CallOptions = {}): AsyncIterable<FlightChunk> {
    const runner = this.runners.get(runnerName);
    if (!runner) {
      throw FlightError.notFound(`unknown runner '${runnerName}'; runners: ${[...this.runners.keys()].map((n) => `'${n}'`).join(', ') || 'none'}`);
    }
    const method = methodOf(runner, methodName);
    const deadline = options.deadline === undefined ? undefined
      : options.deadline instanceof Date ? options.deadline.getTime() : Date.now() + options.deadline;
    let schema: Schema | undefined;
    let conform: Conformer | undefined;
    let params = {};
    for await (const { batch, appMetadata } of input) {
      if (options.signal?.aborted) throw new FlightError(Status.CANCELLED, 'call cancelled');
      if (!batch) {
        if (appMetadata) yield { appMetadata };
        continue;
      }
      if (!schema) {
        schema = batch.schema;
        conform = planConform(runner.name, method.signature, schema);
        params = paramsFromSchema(schema);
      }
      if (deadline !== undefined && Date.now() >= deadline) {
        throw new FlightError(Status.DEADLINE_EXCEEDED, `deadline passed before runner '${runner.name}' method '${method.signature.name}' ran`);
      }
      const result = await invokeChecked(runner.name, method, method.invoke.bind(method), conform!(batch), params, { signal: options.signal, ...(deadline !== undefined ? { deadline: new Date(deadline) } : {}) });
      yield { batch: result, ...(appMetadata ? { appMetadata } : {}) };
    }
  }

  close(): void {}
}
