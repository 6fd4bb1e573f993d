/**
 * A caller's AbortSignal shared by many calls of one FlightClient: each finished call must
 * take its abort listener off the signal (they held their calls until the signal went, and
 * Node warned past 10), and aborting must still cancel the calls in flight.
 */
import test from 'ava';
import { getEventListeners } from 'node:events';
import { Float64, Table, vectorFromArray } from 'apache-arrow';
import { FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { startServer } from '../helpers/memory-server.js';

const sample = new Table({ x: vectorFromArray([1, 2, 3], new Float64()) });

test('finished calls leave no abort listener on a shared signal; aborting still cancels', async (t) => {
  const s = await startServer();
  try {
    const controller = new AbortController();
    const { signal } = controller;
    await s.client.putTable(FlightDescriptor.path('t'), sample, { signal });
    for (let i = 0; i < 10; i++) {
      const info = await s.client.getFlightInfo(FlightDescriptor.path('t'), { signal });
      t.is((await s.client.doGet(info.endpoints[0]!.ticket, { signal }).readAll()).numRows, 3);
      for await (const _ of s.client.exchange(FlightDescriptor.path('echo'), sample.batches, { signal })) { /* drain */ }
      for await (const _ of s.client.listActions({ signal })) { /* drain */ }
    }
    // grpc-js emits 'status' right after the last message; give it that turn.
    await new Promise((r) => setTimeout(r, 50));
    t.is(getEventListeners(signal, 'abort').length, 0, 'no listener left by 41 finished calls');

    const pending = s.client.doExchange(FlightDescriptor.path('echo'), { signal });
    await pending.writer.write(sample.batches[0]!);
    controller.abort();
    const err = await t.throwsAsync(pending.reader.readAll(), { instanceOf: FlightError });
    t.is(err?.code, Status.CANCELLED);
  } finally {
    await s.close();
  }
});
