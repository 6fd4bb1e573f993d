/**
 * What `flight-runner serve` serves: runners from targets on the command line (`.onnx`
 * files, JS/TS modules) or from a YAML config naming runners, backends, options and
 * server settings, checked against the schema (schema.ts). Relative paths in a config are
 * relative to the config file.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { BackendEntry } from '../backends/backend.js';
import { backendNamed } from '../backends/registry.js';
import { ConfigError, configErrorFromZod } from './config-error.js';
import { runnerEntrySchema, serveConfigSchema, type RunnerConfig, type ServeConfig, type ServerConfig } from './schema.js';

export type { RunnerConfig, ServeConfig, ServerConfig } from './schema.js';

/** A serve config with, for each server setting, the config file it came from. */
export interface LoadedServeConfig extends ServeConfig {
  /** The file each `server` key was read from (for messages about it). */
  serverSources: Partial<Record<keyof ServerConfig, string>>;
}

const CONFIG_EXTENSIONS = /\.ya?ml$/i;

/** True if a target is a YAML config rather than a model or module. */
export function isConfigFile(target: string): boolean {
  return CONFIG_EXTENSIONS.test(target);
}

/** True if the entry's backend reads `path` as a local file (not, say, a remote model's URL). */
function isFile(entry: RunnerConfig): boolean {
  return backendNamed(entry.backend).paths.kind === 'file';
}

/** The entry's path made absolute against `base` if it names a file; a URL stays as written. */
function resolvePath(entry: RunnerConfig, base: string): string {
  return isFile(entry) ? resolve(base, entry.path) : entry.path;
}

/** Server settings with their file paths made absolute (relative to the config's folder). */
function resolveServerPaths(server: ServerConfig, base: string): ServerConfig {
  const at = (p: string | undefined) => (p === undefined ? undefined : resolve(base, p));
  return {
    ...server,
    ...(server.socket !== undefined ? { socket: at(server.socket) } : {}),
    ...(server.auth ? { auth: { ...server.auth, ...(server.auth.tokensFile !== undefined ? { tokensFile: at(server.auth.tokensFile) } : {}) } } : {}),
    ...(server.tls ? {
      tls: Object.fromEntries(Object.entries(server.tls).map(([k, v]) => [k, at(v)])) as ServerConfig['tls'],
    } : {}),
  };
}

/**
 * Reads a YAML config, checks it against the schema and resolves its paths.
 * Throws a ConfigError naming the file and the path of every problem in it.
 */
export function readConfig(file: string): ServeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read: ${(err as Error).message}` }]);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    // The first line says what and where (line, column); the rest is a code frame.
    throw new ConfigError(file, [{ path: '', message: `not valid YAML: ${(err as Error).message.split('\n')[0]}` }]);
  }
  const checked = serveConfigSchema.safeParse(raw ?? {});
  if (!checked.success) throw configErrorFromZod(file, checked.error, raw);
  const base = dirname(resolve(file));
  return {
    server: resolveServerPaths(checked.data.server ?? {}, base),
    runners: checked.data.runners.map((r, i) => ({ ...r, path: resolvePath(r, base), source: { file, path: `runners[${i}]` } })),
  };
}

/** What an entry's backend reads of it: plain data, also what isolated instances receive. */
export function backendEntryOf(entry: RunnerConfig): BackendEntry {
  return { path: entry.path, ...(entry.name !== undefined ? { name: entry.name } : {}), options: entry.options };
}

/** Turns command-line targets into a config: YAML files are read, other targets become runners. */
export function configFromTargets(targets: string[]): LoadedServeConfig {
  const config: LoadedServeConfig = { server: {}, runners: [], serverSources: {} };
  for (const target of targets) {
    if (isConfigFile(target)) {
      const c = readConfig(target);
      config.server = { ...config.server, ...c.server };
      for (const key of Object.keys(c.server) as (keyof ServerConfig)[]) config.serverSources[key] = target;
      config.runners.push(...c.runners);
    } else {
      const checked = runnerEntrySchema.safeParse({ path: target });
      if (!checked.success) throw new ConfigError(undefined, [{ path: `target ${JSON.stringify(target)}`, message: checked.error.issues[0]!.message }]);
      config.runners.push({ ...checked.data, path: resolvePath(checked.data, process.cwd()) });
    }
  }
  return config;
}

/**
 * Throws a ConfigError naming every runner whose model or module file does not exist (for
 * backends whose path is a file), so that a mistyped path stops `serve` at once instead of
 * serving without that runner.
 */
export function checkRunnerPaths(config: ServeConfig): void {
  const missing = config.runners.filter((r) => isFile(r) && !existsSync(r.path));
  if (!missing.length) return;
  const files = new Set(missing.map((r) => r.source?.file));
  const line = (r: RunnerConfig) => ({
    path: r.source ? `${files.size > 1 ? `${r.source.file}: ` : ''}${r.source.path}.path` : 'target',
    message: `no such file: ${r.path}`,
  });
  throw new ConfigError(files.size === 1 ? [...files][0] : undefined, missing.map(line));
}
