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

/**
 * A pollable source (as a server call's input is): `arrived` messages are at hand for
 * poll(); the rest come through next() on a later turn.
 */
function pollableSource(messages: Received[], arrived: number): AsyncIterable<Received> {
  let i = 0;
  const at = () => (i < messages.length ? { done: false as const, value: messages[i++]! } : { done: true as const, value: undefined });
  const iterator = {
    next: async () => {
      await new Promise((resolve) => setImmediate(resolve));
      return at();
    },
    poll: () => (i < arrived ? at() : undefined),
  };
  return { [Symbol.asyncIterator]: () => iterator };
}

test('pollSchema() gives the schema at hand without a promise turn, undefined when it has to be waited for', async (t) => {
  const messages = await messagesOf(2);
  t.is(new FlightReader(pollableSource(messages, 0)).pollSchema(), undefined);
  const reader = new FlightReader(pollableSource(messages, 1));
  t.deepEqual(reader.pollSchema()?.fields.map((f) => f.name), ['x']);
  // The batch that came with the schema is not lost: the iteration still yields both batches.
  const values: number[] = [];
  for await (const chunk of reader) values.push(chunk.batch!.getChild('x')!.get(0) as number);
  t.deepEqual(values, [0, 1]);
});

test('the iterator\'s poll() hands over the chunks at hand, then undefined; next() reads on; the end is polled too', async (t) => {
  const messages = await messagesOf(2);
  const reader = new FlightReader(pollableSource(messages, 2));
  const iterator = reader[Symbol.asyncIterator]();
  const first = iterator.poll();
  t.is(first?.done, false);
  t.is(first?.done === false && first.value.batch?.getChild('x')?.get(0), 0);
  t.is(iterator.poll(), undefined, 'the second batch has not arrived');
  const second = await iterator.next();
  t.is(second.done === false && second.value.batch?.getChild('x')?.get(0), 1);
  const all = new FlightReader(pollableSource(messages, messages.length + 1))[Symbol.asyncIterator]();
  t.false(all.poll()?.done);
  t.false(all.poll()?.done);
  t.true(all.poll()?.done, 'the end, already known, is polled as done');
});

test('poll() is undefined while a next() is pending, so chunks keep their order', async (t) => {
  const messages = await messagesOf(2);
  let open = false; // whether the source's poll() hands over what it has
  const inner = pollableSource(messages, Infinity)[Symbol.asyncIterator]() as AsyncIterator<Received> & { poll(): IteratorResult<Received> | undefined };
  const gated = { [Symbol.asyncIterator]: () => ({ next: () => inner.next(), poll: () => (open ? inner.poll() : undefined) }) };
  const iterator = new FlightReader(gated)[Symbol.asyncIterator]();
  const pending = iterator.next(); // waits for the source's next(): the schema
  open = true; // meanwhile the batches arrive
  t.is(iterator.poll(), undefined, 'a next() is pending');
  const first = await pending;
  t.is(first.done === false && first.value.batch?.getChild('x')?.get(0), 0);
  const second = iterator.poll();
  t.is(second?.done === false && second.value.batch?.getChild('x')?.get(0), 1);
});
