/** The runner SDK: call runners by name, locally or over Flight, with plain values. */
export { connect, local, RunnerClient } from './connect.js';
export type { ConnectOptions } from './connection.js';
export { RunnerHandle, type HandleOptions, type StreamOptions } from './runner-handle.js';
export type { ValueOptions } from './results.js';
export type { LocalRunner } from './local-caller.js';
export type { Caller, CallOptions, RunnerDescription } from './caller.js';
