/**
 * The backends, by name: the one list config checking, `serve`, and isolated instances
 * (worker threads, child processes) read. Adding a backend is its folder and one line in
 * BACKENDS. Order matters only for paths several backends accept: the first wins.
 *
 * The list is static on purpose: a worker thread or child process imports this module
 * afresh, so a backend added at run time would exist in the server and not in its instances.
 */
import type { AnyBackend } from './backend.js';
import { jsBackend } from './js/index.js';
import { kserveBackend } from './kserve/index.js';
import { onnxBackend } from './onnx/index.js';

const BACKENDS: readonly AnyBackend[] = [
  onnxBackend,
  jsBackend,
  kserveBackend,
];

/** Every backend, in registration order. */
export function backends(): readonly AnyBackend[] {
  return BACKENDS;
}

/** The backend named `name`; an error lists the backends there are. */
export function backendNamed(name: string): AnyBackend {
  const backend = BACKENDS.find((b) => b.name === name);
  if (!backend) throw new Error(`unknown backend '${name}'; backends: ${BACKENDS.map((b) => b.name).join(', ')}`);
  return backend;
}

/** The first backend that accepts `path`, if any (backends an entry must name never do). */
export function backendOfPath(path: string): AnyBackend | undefined {
  return BACKENDS.find((b) => b.paths.accepts?.(path));
}

/** What the backends serve by path, for "no backend serves ..." messages: `a .onnx model or a JS/TS module (...)`. */
export function acceptedPaths(): string {
  return BACKENDS.filter((b) => b.paths.accepts).map((b) => b.paths.description).join(' or ');
}
