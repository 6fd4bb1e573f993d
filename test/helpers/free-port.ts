/**
 * Test helper: a TCP port free on loopback now, for a server that takes its port as a
 * flag (serve's --http-port) and cannot report the one it bound.
 */
import { createServer } from 'node:net';

/** A port nothing listens on at 127.0.0.1 (bound and released by the OS). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as { port: number };
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
