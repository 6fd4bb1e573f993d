import test from 'ava';
import { FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { startServer } from '../helpers/memory-server.js';

test('a very long error message reaches the client with its own status, shortened', async (t) => {
  const s = await startServer({
    getFlightInfo() {
      throw FlightError.notFound(`missing: ${'x'.repeat(100_000)}`);
    },
  });
  try {
    const err = await t.throwsAsync(s.client.getFlightInfo(FlightDescriptor.path('a')), { instanceOf: FlightError });
    // Not RESOURCE_EXHAUSTED from an oversized grpc-message trailer.
    t.is(err!.code, Status.NOT_FOUND);
    t.true(err!.message.startsWith('missing: xxx'));
    t.regex(err!.message, /\(\d+ more characters\)$/);
    t.true(err!.message.length < 5000);
  } finally {
    await s.close();
  }
});
