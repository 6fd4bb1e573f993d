import test from 'ava';
import { tableFromArrays, vectorFromArray, Dictionary, Utf8, Int32, Table } from 'apache-arrow';
import { FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { startServer } from '../helpers/memory-server.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

test('DoPut stores a stream that ListFlights, GetFlightInfo, GetSchema and DoGet return', async (t) => {
  const s = await startServer();
  try {
    const table = tableFromArrays({ x: Float64Array.from([1, 2, 3]), y: Int32Array.from([4, 5, 6]) });
    const descriptor = FlightDescriptor.path('stored');
    await s.client.putTable(descriptor, table);

    const listed = [];
    for await (const info of s.client.listFlights()) listed.push(info);
    t.is(listed.length, 1);
    t.deepEqual(listed[0]!.descriptor, descriptor);
    t.is(listed[0]!.totalRecords, 3);

    const info = await s.client.getFlightInfo(descriptor);
    t.deepEqual(info.endpoints[0]!.locations, [s.location]);
    const schema = await s.client.getSchema(descriptor);
    t.deepEqual(schema?.fields.map((f) => f.name), ['x', 'y']);

    const back = await s.client.doGet(info.endpoints[0]!.ticket).readAll();
    t.deepEqual(back.toArray().map((r) => r.toJSON()), table.toArray().map((r) => r.toJSON()));
  } finally {
    await s.close();
  }
});

test('DoExchange echoes batches with their app_metadata, in order', async (t) => {
  const s = await startServer();
  try {
    const batches = Array.from({ length: 50 }, (_, i) => tableFromArrays({ i: Int32Array.from([i, i + 1]) }).batches[0]!);
    const out = [];
    for await (const chunk of s.client.exchange(FlightDescriptor.path('echo'),
      batches.map((batch, i) => ({ batch, appMetadata: utf8(`req-${i}`) })))) {
      out.push(chunk);
    }
    t.is(out.length, 50);
    out.forEach((chunk, i) => {
      t.deepEqual([...chunk.batch!.getChildAt(0)!], [i, i + 1]);
      t.is(new TextDecoder().decode(chunk.appMetadata), `req-${i}`);
    });
  } finally {
    await s.close();
  }
});

test('dictionary replacement mid-stream survives DoPut and DoGet', async (t) => {
  const s = await startServer();
  try {
    const type = new Dictionary(new Utf8(), new Int32());
    const first = new Table({ d: vectorFromArray(['a', 'b', 'a'], type) });
    const second = new Table({ d: vectorFromArray(['c', 'd', 'c'], type) });
    const table = new Table([first.batches[0]!, second.batches[0]!]);
    const descriptor = FlightDescriptor.path('dict');
    await s.client.putTable(descriptor, table);
    const info = await s.client.getFlightInfo(descriptor);
    const back = await s.client.doGet(info.endpoints[0]!.ticket).readAll();
    t.deepEqual(back.getChild('d')!.toArray(), ['a', 'b', 'a', 'c', 'd', 'c']);
  } finally {
    await s.close();
  }
});

test('unknown flight is NOT_FOUND naming what exists; the server keeps serving', async (t) => {
  const s = await startServer();
  try {
    await s.client.putTable(FlightDescriptor.path('there'), tableFromArrays({ a: Int32Array.from([1]) }));
    const err = await t.throwsAsync(s.client.getFlightInfo(FlightDescriptor.path('missing')), { instanceOf: FlightError });
    t.is(err!.code, Status.NOT_FOUND);
    t.regex(err!.message, /missing.*stored: path \["there"\]/);
    const actions = [];
    for await (const r of s.client.doAction('healthcheck')) actions.push(JSON.parse(new TextDecoder().decode(r)));
    t.deepEqual(actions, [{ status: 'ok', flights: 1 }]);
  } finally {
    await s.close();
  }
});
