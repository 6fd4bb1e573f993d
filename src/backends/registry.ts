/**
 * Backends by name. A runner config names one, or the first that accepts the path is
 * used. New backends plug in with `registerBackend`.
 */
import type { Runner } from '../runner/runner.js';
import type { Backend, BackendOptions } from './backend.js';
import { jsBackend } from './js/index.js';
import { onnxBackend } from './onnx/index.js';

const backends = new Map<string, Backend>([[onnxBackend.name, onnxBackend], [jsBackend.name, jsBackend]]);

/** Adds (or replaces) a backend. */
export function registerBackend(backend: Backend): void {
  backends.set(backend.name, backend);
}

/** The backend named, or the first that accepts `path`; an error lists the choices. */
export function backendFor(path: string, name?: string): Backend {
  if (name) {
    const backend = backends.get(name);
    if (!backend) throw new Error(`unknown backend '${name}'; backends: ${[...backends.keys()].join(', ')}`);
    return backend;
  }
  const found = [...backends.values()].find((b) => b.accepts(path));
  if (!found) throw new Error(`no backend serves ${path}: expected a .onnx model or a JS/TS module (.js, .mjs, .ts)`);
  return found;
}

/** Loads the runners of one path. */
export function loadRunners(path: string, backend?: string, options: BackendOptions = {}): Promise<Runner[]> {
  return backendFor(path, backend).load(path, options);
}
