/**
 * CallContext.onAbort against a real server: a handler that only needs telling of an
 * abort (the runner service) is told of a client's cancel and of its deadline, with the
 * reason ctx.signal would give, without reading ctx.signal; a listener added after the
 * abort is told at once.
 */
import test from 'ava';
import { FlightDescriptor, FlightError, Status, type CallContext, type FlightHandlers } from '../../src/flight/index.js';
import { cancelAfterFirstAnswer, small } from '../helpers/cancelled-exchange.js';
import { startServer } from '../helpers/memory-server.js';

/**
 * A DoExchange handler that answers one batch, then waits until onAbort tells it the call
 * ended (or 20 s, so a broken onAbort fails the test instead of hanging it). It reports
 * the reasons its listeners got: one added while the call runs, one added after the abort.
 */
function abortedHandlers() {
  let report!: (reasons: unknown[]) => void;
  const reasons = new Promise<unknown[]>((resolve) => { report = resolve; });
  const handlers: FlightHandlers = {
    async doExchange(input, output, ctx: CallContext) {
      await input.schema();
      await output.write(small.batches[0]!);
      const first = await new Promise<unknown>((resolve) => {
        const timer = setTimeout(() => resolve(new Error('onAbort was not called within 20 s')), 20_000);
        ctx.onAbort!((reason) => { clearTimeout(timer); resolve(reason); });
      });
      const late: unknown[] = [];
      ctx.onAbort!((reason) => late.push(reason));
      report([first, ...late]);
    },
  };
  return { handlers, reasons };
}

test('onAbort tells the handler of a client cancel, and a listener added after it at once', async (t) => {
  const { handlers, reasons } = abortedHandlers();
  const s = await startServer(handlers);
  try {
    const { first } = await cancelAfterFirstAnswer(s.client);
    t.is(first?.numRows, 3);
    const [during, after, ...more] = await reasons;
    t.true(during instanceof FlightError, String(during));
    t.is((during as FlightError).code, Status.CANCELLED);
    t.is((during as FlightError).message, 'client cancelled the call');
    t.is(after, during, 'a listener added after the abort gets the same reason at once');
    t.is(more.length, 0);
  } finally {
    await s.close();
  }
});

test('onAbort tells the handler when the client deadline passes', async (t) => {
  const { handlers, reasons } = abortedHandlers();
  const s = await startServer(handlers);
  try {
    const ex = s.client.doExchange(FlightDescriptor.path('x'), { deadline: 300 });
    await ex.writer.begin(small.schema);
    const err = await t.throwsAsync(ex.reader.readAll(), { instanceOf: FlightError });
    t.is(err?.code, Status.DEADLINE_EXCEEDED);
    const [during] = await reasons;
    t.true(during instanceof FlightError, String(during));
    // The server's deadline timer and the client's own (which resets the stream) race.
    t.true([Status.DEADLINE_EXCEEDED, Status.CANCELLED].includes((during as FlightError).code), String(during));
  } finally {
    await s.close();
  }
});
