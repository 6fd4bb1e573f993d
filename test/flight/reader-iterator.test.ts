/**
 * FlightReader's batch iterator (a hand-written iterator, not an async generator, since
 * a generator layer costs a one-row call several promise turns): it must keep a
 * generator's contract. Messages come from a FlightWriter in memory, no gRPC.
 */
import test from 'ava';
import { tableFromArrays } from 'apache-arrow';
import { FlightError, FlightReader, FlightWriter, Status, decodeFlightData, encodeFlightData } from '../../src/flight/index.js';

type Received = ReturnType<typeof decodeFlightData>;

async function messagesOf(batches: number, metadataAfterFirst = false): Promise<Received[]> {
  const sent: Received[] = [];
  // As the wire carries them: encoded, then decoded (the body one contiguous view).
  const writer = new FlightWriter(async (data) => { sent.push(decodeFlightData(encodeFlightData(data))); });
  for (let i = 0; i < batches; i++) {
    await writer.write(tableFromArrays({ x: Float64Array.of(i) }).batches[0]!, new TextEncoder().encode(`m${i}`));
    if (i === 0 && metadataAfterFirst) await writer.writeMetadata(new TextEncoder().encode('alone'));
  }
  return sent;
}

/** A source that hands out each message on a later turn, so reads overlap. */
function slowSource(messages: Received[], failAt?: number): AsyncIterable<Received> {
  let i = 0;
  return {
    [Symbol.asyncIterator]: () => ({
      next: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        if (i === failAt) throw new FlightError(Status.INVALID_ARGUMENT, 'bad message');
        return i < messages.length ? { done: false, value: messages[i++]! } : { done: true, value: undefined };
      },
    }),
  };
}

test('next() called again before the previous one settled yields the chunks in order, as a generator would', async (t) => {
  const iterator = new FlightReader(slowSource(await messagesOf(3, true)))[Symbol.asyncIterator]();
  const results = await Promise.all([iterator.next(), iterator.next(), iterator.next(), iterator.next(), iterator.next()]);
  const text = (m?: Uint8Array) => (m ? new TextDecoder().decode(m) : undefined);
  t.deepEqual(results.map((r) => (r.done ? 'done' : `${r.value.batch?.getChild('x')?.get(0) ?? '-'} ${text(r.value.appMetadata)}`)),
    ['0 m0', '- alone', '1 m1', '2 m2', 'done']);
});

test('after a failed read the iterator is done, as a generator would be', async (t) => {
  const iterator = new FlightReader(slowSource(await messagesOf(3), 2))[Symbol.asyncIterator]();
  t.false((await iterator.next()).done);
  await t.throwsAsync(iterator.next(), { message: /bad message/ });
  t.true((await iterator.next()).done);
});

test('return() ends the iteration', async (t) => {
  const iterator = new FlightReader(slowSource(await messagesOf(3)))[Symbol.asyncIterator]();
  t.false((await iterator.next()).done);
  await iterator.return!();
  t.true((await iterator.next()).done);
});
