/**
 * Entry of a worker-thread instance (worker-instance.ts starts it): hosts one runner
 * over the worker's parent port. `process.exit` here ends this thread only.
 */
import { parentPort } from 'node:worker_threads';
import { hostRunner } from './instance-host.js';
import type { ToInstance } from './isolated-protocol.js';

const port = parentPort;
if (!port) throw new Error('worker-entry runs in a worker thread (started by worker-instance.ts)');
hostRunner({
  send: (message, transfer) => port.postMessage(message, transfer),
  onMessage: (listener) => port.on('message', (message: ToInstance) => listener(message)),
  exit: (code) => process.exit(code),
});
