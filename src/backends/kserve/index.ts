/**
 * The `kserve` backend: models on a V2 (KServe Open Inference Protocol) server such as
 * Triton or MLServer, called over gRPC. An entry's `path` is the server's address,
 * `grpc://host:port` (plaintext h2c) or `grpc+tls://host:port`; `options.model` names the
 * model there. Listing asks nothing of the server, so a server that is down makes the
 * runner fail to load (visible like any failed runner), not `serve` fail to start.
 */
import { readFileSync } from 'node:fs';
import { defineBackend, EntryError, type BackendEntry } from '../backend.js';
import { loadKserveRunner, type KserveRunnerOptions } from './kserve-runner.js';
import { kserveOptionsSchema, type KserveOptions } from './options.js';

export { loadKserveRunner, type KserveRunnerOptions } from './kserve-runner.js';
export { kserveOptionsSchema, type KserveOptions } from './options.js';

const ADDRESS = /^(grpc|grpc\+tls):\/\/([^/\s]+:\d{1,5})$/;

/** A PEM file named by option `key`; one that cannot be read is an error naming the key. */
function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new EntryError(key, `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The runner options of an entry: its address parsed, its token read from the environment. */
export function runnerOptionsOf(entry: BackendEntry<KserveOptions>, name: string): KserveRunnerOptions {
  const address = ADDRESS.exec(entry.path);
  if (!address) throw new EntryError('path', `expected the V2 server's gRPC address, grpc://host:port or grpc+tls://host:port; got ${JSON.stringify(entry.path)}`);
  const o = entry.options;
  let token: string | undefined;
  if (o.tokenEnv) {
    token = process.env[o.tokenEnv];
    if (!token) throw new EntryError('options.tokenEnv', `environment variable ${o.tokenEnv} is not set (or empty); it must hold the token for ${entry.path}`);
  }
  const tls = address[1] === 'grpc+tls';
  if (o.caFile && !tls) throw new EntryError('options.caFile', 'a CA file needs a grpc+tls:// address');
  if ((o.certFile || o.keyFile) && !tls) throw new EntryError(o.certFile ? 'options.certFile' : 'options.keyFile', 'a client certificate needs a grpc+tls:// address');
  if (o.certFile && !o.keyFile) throw new EntryError('options.certFile', 'a client certificate needs its private key too (options.keyFile)');
  if (o.keyFile && !o.certFile) throw new EntryError('options.keyFile', 'a private key needs its client certificate too (options.certFile)');
  return {
    name,
    url: address[2]!,
    model: o.model,
    ...(o.version !== undefined ? { version: o.version } : {}),
    ...(token ? { token } : {}),
    ...(tls ? { tls: {
      ...(o.caFile ? { ca: readPem(o.caFile, 'options.caFile') } : {}),
      ...(o.certFile && o.keyFile ? { cert: readPem(o.certFile, 'options.certFile'), key: readPem(o.keyFile, 'options.keyFile') } : {}),
    } } : {}),
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.maxAnswerBytes !== undefined ? { maxAnswerBytes: o.maxAnswerBytes } : {}),
    ...(o.batchable !== undefined ? { batchable: o.batchable } : {}),
    ...(o.outputs ? { outputs: o.outputs } : {}),
    ...(o.types ? { types: o.types } : {}),
  };
}

/** The kserve backend. */
export const kserveBackend = defineBackend<KserveOptions>({
  name: 'kserve',
  title: 'KServe V2',
  paths: {
    kind: 'url',
    // No `accepts`: a grpc:// address could be another kind of server, so the entry must name this backend.
    description: 'a V2 (Open Inference Protocol) server\'s gRPC address, grpc://host:port or grpc+tls://host:port, with `backend: kserve`',
  },
  options: kserveOptionsSchema,
  entryName: 'names the runner (default: the remote model\'s name)',
  // Its work is waiting on the network: the server's own thread does that best.
  defaultIsolation: 'in-process',
  async list(entry) {
    runnerOptionsOf(entry, entry.name ?? entry.options.model);
    return [{ name: entry.name ?? entry.options.model, methods: ['predict'] }];
  },
  load(entry, runner) {
    return loadKserveRunner(runnerOptionsOf(entry, runner));
  },
});
