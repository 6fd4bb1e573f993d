/** The runner SDK: call runners by name, locally or over Flight, with plain values. */
export { connect, local, RunnerClient } from './connect.js';
export type { ConnectOptions } from './connection.js';
export { RunnerHandle, type StreamOptions } from './runner-handle.js';
export type { Caller, CallOptions, RunnerDescription } from './caller.js';
