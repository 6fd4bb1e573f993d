/**
 * Entry of a child-process instance (process-instance.ts forks it): hosts one runner
 * over the IPC channel, whose 'advanced' serialization carries the batch bytes as
 * binary. A native crash here kills this process only.
 */
import { hostRunner } from './instance-host.js';
import type { ToInstance } from './isolated-protocol.js';

if (!process.send) throw new Error('process-entry runs as a forked child with an IPC channel (started by process-instance.ts)');
// Name the exception in the exit cause (a process exit code alone says only "1"), then
// die as Node would have.
process.on('uncaughtException', (err) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  const exit = () => process.exit(1);
  if (!process.connected) exit();
  else process.send!({ type: 'fatal', message: `uncaught exception: ${err.message}` }, undefined, {}, exit);
});
// The scheduler is gone (it crashed or was killed): nobody is left to serve.
process.on('disconnect', () => process.exit(0));
hostRunner({
  send: (message) => {
    // A failed send means the parent went away; 'disconnect' ends the process.
    process.send!(message, undefined, {}, () => {});
  },
  onMessage: (listener) => process.on('message', (message) => listener(message as ToInstance)),
  exit: (code) => process.exit(code),
});
