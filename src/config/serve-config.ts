/**
 * What `flight-runner serve` serves: runners from targets on the command line (`.onnx`
 * files, JS/TS modules) or from a YAML config naming runners, backends, options and
 * server settings. Relative paths in a config are relative to the config file.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';

/** One runner entry of a config. */
export interface RunnerConfig {
  /** Model file or module. */
  path: string;
  /** Backend name (`onnx`, `js`); default chosen by the path. */
  backend?: string;
  /** Runner name (onnx: default the file's base name; js: the module's runner names). */
  name?: string;
  /** Backend options (onnx: threads, methods, execution providers). */
  options?: Record<string, unknown>;
  /** Scheduling (batching, instances) for this runner. */
  scheduling?: Record<string, unknown>;
}

/** Server settings a config may set; command-line flags override them. */
export interface ServerConfig {
  host?: string;
  port?: number;
  socket?: string;
  metricsPort?: number;
}

/** A whole serve configuration. */
export interface ServeConfig {
  server: ServerConfig;
  runners: RunnerConfig[];
}

const CONFIG_EXTENSIONS = /\.ya?ml$/i;

/** True if a target is a YAML config rather than a model or module. */
export function isConfigFile(target: string): boolean {
  return CONFIG_EXTENSIONS.test(target);
}

/** Reads a YAML config, checking its shape and resolving paths. Errors name the file and the entry. */
export function readConfig(file: string): ServeConfig {
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
  const doc = (raw ?? {}) as { server?: unknown; runners?: unknown };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new Error(`${file}: expected a mapping with "runners" (and optional "server")`);
  const base = dirname(resolve(file));
  if (!Array.isArray(doc.runners)) throw new Error(`${file}: "runners" must be a list`);
  const runners = doc.runners.map((entry: unknown, i: number): RunnerConfig => {
    const r = entry as Partial<RunnerConfig>;
    if (!r || typeof r.path !== 'string') throw new Error(`${file}: runners[${i}] needs a "path"`);
    return { ...r, path: resolve(base, r.path) } as RunnerConfig;
  });
  const server = (doc.server ?? {}) as ServerConfig;
  if (typeof server !== 'object' || Array.isArray(server)) throw new Error(`${file}: "server" must be a mapping`);
  return { server: server.socket ? { ...server, socket: resolve(base, server.socket) } : server, runners };
}

/** Turns command-line targets into a config: YAML files are read, other targets become runners. */
export function configFromTargets(targets: string[]): ServeConfig {
  const config: ServeConfig = { server: {}, runners: [] };
  for (const target of targets) {
    if (isConfigFile(target)) {
      const c = readConfig(target);
      config.server = { ...config.server, ...c.server };
      config.runners.push(...c.runners);
    } else {
      config.runners.push({ path: resolve(target) });
    }
  }
  return config;
}
