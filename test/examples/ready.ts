/**
 * Waits until a server's runners have all loaded: `serve` prints its listening line
 * before its runners are ready, so an example started at once could find a runner
 * still loading.
 */
import { FlightClient } from '../../src/flight/index.js';

/** Polls the `health` action until it says ready (bounded by `timeoutMs`). */
export async function waitForRunners(uri: string, timeoutMs = 120_000): Promise<void> {
  const client = new FlightClient(uri);
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let health: { ready?: boolean } = {};
      for await (const r of client.doAction('health')) health = JSON.parse(new TextDecoder().decode(r)) as { ready?: boolean };
      if (health.ready) return;
      if (Date.now() > deadline) throw new Error(`runners of ${uri} not ready in ${timeoutMs} ms: ${JSON.stringify(health)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    client.close();
  }
}
