/**
 * A DoExchange the client cancels once the server has answered: what the tests of
 * cancellation (the handler's signal, CallContext.onAbort) start from.
 */
import { Int32, Table, vectorFromArray, type RecordBatch } from 'apache-arrow';
import { FlightDescriptor, type FlightClient } from '../../src/flight/index.js';

/** A 3-row table of one int32 column `n`, the input these exchanges send. */
export const small = new Table({ n: vectorFromArray([1, 2, 3], new Int32()) });

/**
 * Opens a DoExchange on path `x` with an AbortController, sends `small`'s schema, reads the
 * server's first answer, then aborts the call. Returns that first answer and the exchange.
 */
export async function cancelAfterFirstAnswer(client: FlightClient): Promise<{ first: RecordBatch | undefined; exchange: ReturnType<FlightClient['doExchange']> }> {
  const controller = new AbortController();
  const exchange = client.doExchange(FlightDescriptor.path('x'), { signal: controller.signal });
  await exchange.writer.begin(small.schema);
  const first = await exchange.reader.batches()[Symbol.asyncIterator]().next();
  controller.abort();
  return { first: first.value, exchange };
}
