/**
 * The callers of the overload scenario, run in their own process (see scenario.ts) so
 * that their work does not compete with the server's event loop: `callers` loops, each
 * calling `work(x = call id)` with a deadline as soon as its previous call settled, for
 * `durationMs`; a caller refused with RESOURCE_EXHAUSTED waits `backoffMs` first. Prints
 * one JSON line: calls made, outcomes by status, the ids whose answers arrived (and
 * were right), and one message per status.
 *
 * Usage: tsx bench/overload/callers.ts URI CALLERS DEADLINE_MS DURATION_MS BACKOFF_MS
 */
import { connect } from '../../src/client/index.js';
import { FlightError } from '../../src/flight/index.js';

const [uri, callersArg, deadlineArg, durationArg, backoffArg] = process.argv.slice(2);
if (!uri || !callersArg || !deadlineArg || !durationArg || !backoffArg) {
  throw new Error('usage: callers.ts URI CALLERS DEADLINE_MS DURATION_MS BACKOFF_MS');
}
const backoffMs = Number(backoffArg);
const client = await connect(uri);
const slow = client.runner('slow').withOptions({ deadline: Number(deadlineArg) });

// Warm up (module loading, JIT, the connection) before the clock starts, so that a cold
// client is not what makes the first calls late. Its id is negative: not counted.
if ((await client.runner('slow').run(-1)) !== -2) throw new Error('warm-up call got a wrong answer');

const codes: Record<string, number> = {};
const messages: Record<string, string> = {};
const delivered: number[] = [];
let nextId = 0;
const end = performance.now() + Number(durationArg);
const caller = async () => {
  while (performance.now() < end) {
    const id = nextId++;
    let code = 'OK';
    try {
      const y = await slow.run(id);
      if (y !== 2 * id) throw new Error(`call ${id} got ${String(y)}, expected ${2 * id}`);
      delivered.push(id);
    } catch (err) {
      if (!(err instanceof FlightError)) throw err;
      code = err.codeName;
      messages[code] ??= err.message;
    }
    codes[code] = (codes[code] ?? 0) + 1;
    if (code === 'RESOURCE_EXHAUSTED' && backoffMs) await new Promise((r) => setTimeout(r, backoffMs));
  }
};
await Promise.all(Array.from({ length: Number(callersArg) }, caller));
client.close();
process.stdout.write(`${JSON.stringify({ calls: nextId, codes, messages, delivered })}\n`);
