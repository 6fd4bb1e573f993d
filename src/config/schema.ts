/**
 * The schema of a `flight-runner serve` YAML config: every key, its type, its range and
 * what it means. The loader checks configs against it, the code uses the types inferred
 * from it, and docs/configuration.md is generated from its descriptions (reference.ts),
 * so the three cannot disagree. A key the schema does not know is an error.
 */
import { z } from 'zod';
import { acceptedPaths, backendNamed, backendOfPath, backends } from '../backends/registry.js';
import { bool, integer, list, mapOf, number, oneOf, strictObject, text } from '../util/schema-helpers.js';

// ---------------------------------------------------------------- server

/** `server.auth`: who may call. */
export const authSchema = strictObject({
  tokens: list(text()).optional().describe(
    'Bearer tokens the server accepts, each `token` or `identity:token` (the identity names the caller in logs and to '
    + 'handlers; default `token-` and 8 hex digits of the token\'s SHA-256). A secret written here is readable by whoever '
    + 'reads the config: prefer `tokensFile`.',
  ),
  tokensFile: text().optional().describe(
    'File of bearer tokens, one `token` or `identity:token` per line; blank lines and lines starting with `#` are '
    + 'skipped. Relative to the config file. Same as `--tokens-file`.',
  ),
}).describe('Bearer-token authentication: every call must carry `authorization: Bearer <token>` with one of these tokens. '
  + 'Tokens from here, `--token`, `--tokens-file` and `FLIGHT_RUNNER_TOKEN` are all accepted.');

/** `server.tls`: the server's certificate, and the CA of client certificates for mutual TLS. */
export const tlsSchema = strictObject({
  cert: text().optional().describe('PEM certificate (chain) the server presents. Needs `key`. Relative to the config file. Same as `--tls-cert`.'),
  key: text().optional().describe('PEM private key of `cert`. Relative to the config file. Same as `--tls-key`.'),
  clientCa: text().optional().describe(
    'PEM CA certificate(s): clients must present a certificate signed by one of them (mutual TLS); others cannot connect. '
    + 'Needs `cert` and `key`. Relative to the config file. Same as `--tls-client-ca`.',
  ),
}).describe('Serve `grpc+tls://` instead of plaintext.');

/** `server`: where and how the server listens. Command-line flags override these. */
export const serverSchema = strictObject({
  host: text().optional().describe('Address to bind. Default `127.0.0.1`. Binding a non-loopback address without auth logs a warning.'),
  port: integer(0, 65535).optional().describe('TCP port; 0 picks a free one. Default 8815.'),
  socket: text().optional().describe('Also serve `grpc+unix://` on this unix socket path, for same-host clients. Relative to the config file. Not with TLS (the socket would speak TLS, which `grpc+unix://` clients do not dial).'),
  httpPort: integer(0, 65535).optional().describe(
    'Serve the Open Inference Protocol (KServe V2) over HTTP/REST on this port (0: a free one, logged), at the same host, with the same '
    + 'auth, TLS and message limit as the gRPC port (docs/oip.md). Default: no REST endpoint (V2 over gRPC is always on the main port). Same as `--http-port`.',
  ),
  metricsPort: integer(0, 65535).optional().describe('Serve Prometheus metrics at `http://<metricsHost>:<metricsPort>/metrics` (0: a free port, logged). Default: no metrics endpoint.'),
  metricsHost: text().optional().describe(
    'Address the metrics endpoint binds. Default `127.0.0.1`, whatever `host` is: metrics have no authentication, so '
    + 'exposing them is a separate choice. A non-loopback address logs a warning.',
  ),
  maxMessageBytes: integer(1).optional().describe('Largest request message in bytes, before and after decompression; larger is RESOURCE_EXHAUSTED before anything is allocated. Default 2147483647. Same as `--max-message-bytes`.'),
  maxIncomingBytes: integer(1).optional().describe('Budget in bytes for request messages not yet read by their calls, all callers together; a message past it is RESOURCE_EXHAUSTED. Default a quarter of the machine\'s (or container\'s) memory. Same as `--max-incoming-bytes`.'),
  auth: authSchema.optional(),
  tls: tlsSchema.optional(),
}).describe('Server settings. Command-line flags override them.');

// ---------------------------------------------------------------- scheduling

const batchingShape = {
  enabled: bool().optional().describe('Merge concurrent calls into one backend call. Only batchable methods merge. Default true.'),
  maxBatchRows: integer(1).optional().describe('Most rows in one backend call; larger calls are split. Default 65536, so the batches of a scoring stream run whole (see docs/scheduling.md).'),
  maxQueueDelayMs: number(0).optional().describe('Longest a call waits for others to join it, in ms. Default 5.'),
  preferredBatchRows: list(integer(1)).optional().describe('Batch sizes the backend runs best at: reaching one dispatches at once. Default none.'),
  maxQueueRows: integer(1).optional().describe(
    'Most rows waiting in the method\'s queue; beyond it new calls get RESOURCE_EXHAUSTED at once. '
    + 'Default max(4 x maxBatchRows, 262144).',
  ),
};

/** Batching settings of one method (the `methods` overrides). */
export const methodBatchingSchema = strictObject(batchingShape);

/** `scheduling.batching`. */
export const batchingSchema = strictObject({
  ...batchingShape,
  methods: mapOf(methodBatchingSchema).optional().describe(
    'Per-method overrides of the settings above, by method name. A name that is no method of the runner is an error '
    + '(checked when the runner\'s methods are known: ONNX methods from `options.methods`, JS methods from the module).',
  ),
}).describe('Adaptive batching (docs/scheduling.md), for every method of the runner.');

const COUNT_MESSAGE = 'must be an integer >= 1 or "auto"';

/** `scheduling.instances`. */
export const instancesSchema = strictObject({
  count: z.union([z.literal('auto'), z.number().int(COUNT_MESSAGE).min(1, COUNT_MESSAGE)], { errorMap: () => ({ message: COUNT_MESSAGE }) })
    .optional().describe('Number of instances, or `auto`: min(cores, 4) on CPU, one per device on GPU. Default 1 (GPU: one per device).'),
  kind: oneOf(['cpu', 'gpu']).optional().describe('Where instances run. Default `cpu`. `gpu` needs a GPU (`/dev/nvidia<N>`).'),
  devices: list(integer(0)).optional().describe('GPU device ids to use (kind `gpu`). Default: every GPU found.'),
  threadsPerInstance: integer(1).optional().describe('Threads per instance, handed to the backend (onnx: intra-op threads). Default floor(cores / count) on CPU, 1 on GPU.'),
}, 'expected a mapping such as { count: auto } or { count: 2 }').describe('How many loaded copies of the runner serve calls, and where.');

/** `scheduling`: batching, instances, isolation, supervision. */
export const schedulingSchema = strictObject({
  instances: instancesSchema.optional(),
  isolation: oneOf(['in-process', 'worker', 'process']).optional().describe(
    'Where instances run: `in-process` (the server\'s thread), `worker` (worker threads), `process` (child processes). '
    + `Default: the backend's, ${backends().map((b) => `\`${b.defaultIsolation}\` for ${b.name}`).join(', ')}.`
    + backends().filter((b) => b.inProcessWarning).map((b) => ` A ${b.title} runner in process logs a warning: ${b.inProcessWarning}.`).join(''),
  ),
  hangTimeoutMs: integer(1).optional().describe('A batch running longer than this marks its instance hung: it is stopped and restarted, its calls fail UNAVAILABLE. Default: no limit.'),
  minBackoffMs: integer(1).optional().describe('First restart delay after an instance fails; doubles per consecutive failure. Default 100.'),
  maxBackoffMs: integer(1).optional().describe('Longest restart delay. Default 10000.'),
  batching: batchingSchema.optional(),
}).superRefine((s, ctx) => {
  if (s.minBackoffMs !== undefined && s.maxBackoffMs !== undefined && s.minBackoffMs > s.maxBackoffMs) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['minBackoffMs'], message: `must be <= maxBackoffMs (${s.maxBackoffMs})` });
  }
}).describe('Scheduling of the runner\'s calls (docs/scheduling.md).');

// ---------------------------------------------------------------- runners

/** The backends a config can name (src/backends/registry.ts). */
const BACKEND_NAMES = backends().map((b) => b.name) as [string, ...string[]];

/**
 * One entry of `runners`. Its `backend` is resolved (from the path if not given) and its
 * `options` checked by that backend's own schema, so this file names no backend.
 */
export const runnerEntrySchema = strictObject({
  path: text().describe(
    `What to serve, by backend: ${backends().map((b) => `${b.name}, ${b.paths.description}`).join('; ')}. `
    + 'A file is relative to the config file.',
  ),
  backend: oneOf(BACKEND_NAMES).optional().describe('The backend. Default: the first that accepts the path (by its extension).'),
  name: text().optional().describe(`Runner name. ${backends().map((b) => `${b.name}: ${b.entryName}.`).join(' ')}`),
  options: z.unknown().optional().describe('Backend options: see `runners[].options` for each backend below.'),
  scheduling: schedulingSchema.optional(),
}, 'expected a runner: a mapping with "path"', (entry, ctx) => {
  // Options are checked against the backend's schema here, on the raw entry, so that
  // their problems are reported along with those of the other keys.
  if (typeof entry['path'] !== 'string') return;
  const named = BACKEND_NAMES.includes(entry['backend'] as string) ? backendNamed(entry['backend'] as string) : undefined;
  if (entry['backend'] !== undefined && !named) return;
  const backend = named ?? backendOfPath(entry['path']);
  if (!backend) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['path'], message: `no backend serves ${JSON.stringify(entry['path'])}: expected ${acceptedPaths()}, or set "backend"` });
    return;
  }
  const parsed = backend.options.safeParse(entry['options'] ?? {});
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, path: ['options', ...issue.path] } as z.IssueData);
  }
}).transform((entry) => {
  // Checked by the refinement above: the backend is known and the options fit it.
  const { options, ...rest } = entry;
  const backend = entry.backend ? backendNamed(entry.backend) : backendOfPath(entry.path)!;
  return { ...rest, backend: backend.name, options: backend.options.parse(options ?? {}) };
}).describe('A runner to serve.');

/** The whole serve config file. */
export const serveConfigSchema = strictObject({
  server: serverSchema.optional(),
  runners: list(runnerEntrySchema).describe('The runners to serve.'),
}, 'expected a mapping with "runners" (and optional "server")');

/** Server settings, as the code uses them. */
export type ServerConfig = z.output<typeof serverSchema>;
/** Scheduling of one runner. */
export type SchedulingConfig = z.output<typeof schedulingSchema>;
/** Batching settings (runner-wide, with per-method overrides). */
export type BatchingConfig = z.output<typeof batchingSchema>;
/** Instance group settings. */
export type InstancesConfig = z.output<typeof instancesSchema>;
/** Where a runner entry came from, for error messages: the file and the path in it. */
export interface ConfigSource {
  file: string;
  path: string;
}
/**
 * One runner entry, checked, with its backend resolved and (in configs) its source. Its
 * `options` are what the backend's schema made of them: only that backend reads them.
 */
export type RunnerConfig = z.output<typeof runnerEntrySchema> & { source?: ConfigSource };
/** A whole serve config. */
export interface ServeConfig {
  server: ServerConfig;
  runners: RunnerConfig[];
}
