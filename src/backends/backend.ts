/**
 * Backends turn a model (a file, a module, a function) into a Runner. Each lives in
 * its own folder with an index.ts; the config loader picks one by name.
 */
import type { Runner } from '../runner/runner.js';

/** Options every backend understands, plus its own. */
export interface BackendOptions {
  /** The runner's name; defaults to the model file's base name. */
  name?: string;
  [option: string]: unknown;
}

/** A backend: loads runners from a target (path) and options. */
export interface Backend {
  readonly name: string;
  /** True if this backend loads `target` (by extension or content). */
  accepts(target: string): boolean;
  /** Loads every runner the target defines. */
  load(target: string, options: BackendOptions): Promise<Runner[]>;
}
