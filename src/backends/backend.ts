/**
 * What a backend is: the one description `serve` (and everything else) uses to turn a
 * config entry into runners. Each backend lives in its own folder (src/backends/<name>/)
 * and is listed once in registry.ts; config checking, listing, in-process instances and
 * the instances inside worker threads and child processes all go through it, by name.
 */
import type { z } from 'zod';
import type { Runner } from '../runner/runner.js';

/** Where a runner's instances run (config `scheduling.isolation`). */
export type Isolation = 'in-process' | 'worker' | 'process';

/**
 * A config entry as a backend sees it, after the config was checked: plain data, so it
 * can be posted to a worker thread or a child process (structured clone) unchanged.
 */
export interface BackendEntry<Options = unknown> {
  /** The entry's `path`: an absolute file path for `file` backends, as written for `url` ones. */
  path: string;
  /** The entry's `name`, if it set one (what it means is the backend's: a name, a filter). */
  name?: string;
  /** The entry's `options`, as the backend's own schema parsed them. */
  options: Options;
}

/** One runner an entry serves, known before any instance of it loads. */
export interface RunnerListing {
  name: string;
  /** Its method names, for config checks (per-method batching overrides). */
  methods: string[];
}

/** Instance N of a runner, as the placement decided it (scheduling/placement.ts). */
export interface InstanceSettings {
  /** 0-based instance number. */
  index: number;
  /** Threads the instance may use for one call (intra-op threads). */
  threads: number;
  /** The GPU device of this instance, when the placement put it on a GPU. */
  device?: number;
}

/**
 * A backend. `Options` is what its `options` schema outputs: plain data (structured
 * clonable), since isolated instances receive it in a message.
 *
 * @example
 * export const echoBackend = defineBackend({
 *   name: 'echo', title: 'echo', defaultIsolation: 'in-process', entryName: 'names the runner (default: echo)',
 *   paths: { kind: 'file', description: 'an .echo file', accepts: (p) => p.endsWith('.echo') },
 *   options: strictObject({}),
 *   list: async (entry) => [{ name: entry.name ?? 'echo', methods: ['predict'] }],
 *   load: async (entry, runner, instance) => echoRunner(runner, entry.path),
 * });
 */
export interface Backend<Options = unknown> {
  /** The name a config's `backend` key gives. */
  readonly name: string;
  /** How messages name its runners: `JS`, `ONNX`. */
  readonly title: string;
  /** What `path` names. */
  readonly paths: {
    /**
     * `file`: a local file, resolved against the config file's folder, that must exist
     * before serve starts. `url`: used as written (a remote model's address).
     */
    kind: 'file' | 'url';
    /** For the docs and (if it `accepts` paths) "no backend serves ..." messages: `a .onnx model`. */
    description: string;
    /**
     * True if this backend serves `path` when the entry names no backend. Without it, an
     * entry must name the backend (`backend: <name>`), and "no backend serves" messages
     * do not offer its paths.
     */
    accepts?(path: string): boolean;
  };
  /**
   * Its `options` (a zod schema). Build it with strictObject (util/schema-helpers.ts) so an
   * unknown key is an error naming the nearest valid one; its descriptions are the docs.
   */
  readonly options: z.ZodType<Options, z.ZodTypeDef, unknown>;
  /** What the entry's `name` does, for the docs: `names the runner (default: the file's base name)`. */
  readonly entryName: string;
  /** Isolation when the entry sets none. */
  readonly defaultIsolation: Isolation;
  /** Why running it `in-process` is risky, if it is: serve then logs a warning naming the runner. */
  readonly inProcessWarning?: string;
  /**
   * The runners an entry serves and their methods, without loading a model (it may read
   * a module or ask a remote server). A mistake in the entry throws EntryError.
   */
  list(entry: BackendEntry<Options>): Promise<RunnerListing[]>;
  /** Loads instance `instance.index` of runner `runner` (one of `list`'s) in the calling thread or process. */
  load(entry: BackendEntry<Options>, runner: string, instance: InstanceSettings): Promise<Runner>;
}

/** A backend whatever its options (the registry holds these). */
export type AnyBackend = Backend<unknown>;

/**
 * Types a backend by its options schema and erases that type for the registry (the
 * registry only passes a backend options its own schema produced).
 */
export function defineBackend<Options>(backend: Backend<Options>): AnyBackend {
  return backend as unknown as AnyBackend;
}

/**
 * A mistake in one key of a config entry that only the backend can see (a `name` the
 * module does not export, a remote model that does not exist). Serve reports it as a
 * config error at that key, like a schema error, and exits 2 before listening.
 */
export class EntryError extends Error {
  override readonly name = 'EntryError';
  /** The key under the entry, e.g. `name` or `options.model`. */
  constructor(readonly key: string, message: string) {
    super(message);
  }
}
