/**
 * The inside of an isolated instance, shared by the worker-thread and child-process
 * entries: load the runner named by the first message, then answer invoke messages.
 * A runner that throws answers that one call with an error; the instance stays up.
 */
import { type RecordBatch, makeVector } from 'apache-arrow';
import { batchFromSchema } from '../codecs/batch.js';
import { FlightError, Status } from '../flight/index.js';
import { sameSchemaContent } from '../runner/call.js';
import type { Runner } from '../runner/runner.js';
import { outputSchema, tableOutput, type MethodSignature } from '../runner/signature.js';
import { batchFromBytes, batchToBytes } from './batch-transfer.js';
import { describeRunner, type FromInstance, type ToInstance } from './isolated-protocol.js';
import { loadRunnerSpec } from './runner-spec.js';

/** How the host talks to its scheduler (a worker's parentPort, a child's IPC channel). */
export interface HostPort {
  /** Sends a message; `transfer` lists buffers to move rather than copy (where supported). */
  send(message: FromInstance, transfer: ArrayBuffer[]): void;
  onMessage(listener: (message: ToInstance) => void): void;
  /** Ends the instance (the thread or the process). */
  exit(code: number): void;
}

/**
 * Serves one runner over `port` until told to stop.
 *
 * @example
 * hostRunner({ send: (m, t) => parentPort!.postMessage(m, t), onMessage: (l) => parentPort!.on('message', l), exit: process.exit });
 */
export function hostRunner(port: HostPort): void {
  let runner: Promise<Runner> | undefined;
  port.onMessage((message) => {
    switch (message.type) {
      case 'load':
        runner = loadRunnerSpec(message.spec);
        runner.then(
          (r) => port.send({ type: 'ready', runner: describeRunner(r) }, []),
          (err: unknown) => port.send({ type: 'load-error', message: messageOf(err) }, []),
        );
        return;
      case 'invoke':
        void invoke(runner, message, port);
        return;
      case 'stop':
        void stop(runner, port);
        return;
    }
  });
  port.send({ type: 'started' }, []);
}

async function invoke(runner: Promise<Runner> | undefined, message: Extract<ToInstance, { type: 'invoke' }>, port: HostPort): Promise<void> {
  const { id } = message;
  try {
    if (!runner) throw new Error('invoke before load');
    const method = (await runner).methods.find((m) => m.signature.name === message.method);
    if (!method) throw new Error(`no method '${message.method}'`);
    if (message.deadline !== undefined && Date.now() >= message.deadline) {
      throw new FlightError(Status.DEADLINE_EXCEEDED, `runner '${(await runner).name}' method '${message.method}': deadline passed before the instance could start the batch`);
    }
    const output = await method.invoke(batchFromBytes(message.batch), message.params, {});
    const bytes = encodeAnswer(method.signature, output);
    port.send({ type: 'result', id, batch: bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (err) {
    // A FlightError (from this or another copy of the library) keeps its status code.
    const code = err instanceof Error && err.name === 'FlightError' && typeof (err as { code?: unknown }).code === 'number'
      ? (err as unknown as { code: number }).code : undefined;
    port.send({ type: 'error', id, message: messageOf(err), ...(code !== undefined ? { code } : {}) }, []);
  }
}

/**
 * An instance's answer as the bytes it sends back (batch-transfer.ts), under the method's
 * declared output schema object when the answer has that schema's content (the server
 * checks it against that schema and writes that schema to the wire). Why: a runner builds
 * a new Schema for each answer (a JS runner's valuesToBatch does), and an encoded schema
 * message is remembered per Schema object (flight/encode.ts), so each answer's schema was
 * encoded again: a sixth of the codec work of a one-row call.
 *
 * @example
 * port.send({ type: 'result', id, batch: encodeAnswer(method.signature, output) }, []);
 */
export function encodeAnswer(sig: MethodSignature, output: RecordBatch): Uint8Array {
  return batchToBytes(withDeclaredSchema(sig, output));
}

function withDeclaredSchema(sig: MethodSignature, output: RecordBatch): RecordBatch {
  if (tableOutput(sig)) return output;
  const declared = outputSchema(sig);
  if (output.schema === declared || !sameSchemaContent(output.schema, declared)) return output;
  // The same columns (so a message remembered for them still applies), the declared schema.
  return batchFromSchema(declared, output.data.children.map((column) => makeVector(column)), output.numRows);
}

async function stop(runner: Promise<Runner> | undefined, port: HostPort): Promise<void> {
  try {
    await (await runner)?.close?.();
  } catch {
    // Exiting anyway: a teardown error must not keep a stopped instance alive.
  }
  port.exit(0);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
