/**
 * The `options` of a kserve runner entry (the entry's `path` is the V2 server's gRPC
 * address). The descriptions are the docs (docs/configuration.md).
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { bool, integer, list, mapOf, oneOf, strictObject, text } from '../../util/schema-helpers.js';

/** `options` of a kserve runner. */
export const kserveOptionsSchema = strictObject({
  model: text().describe('The model\'s name on the V2 server. Required.'),
  version: z.union([text(), z.number().finite()], { errorMap: () => ({ message: 'expected a version string' }) })
    .transform(String).optional().describe('The model version to call. Default: the server\'s choice (it reports its versions in model metadata).'),
  tokenEnv: text().optional().describe(
    'Name of an environment variable holding a bearer token sent to the server as `authorization: Bearer <token>` '
    + '(read when the runner loads; unset or empty is an error). Default: no token.',
  ),
  caFile: text().refine(isAbsolute, 'must be an absolute path').optional().describe(
    'For `grpc+tls://`: PEM CA certificate(s) to trust, as an absolute path. Default: the system\'s roots.',
  ),
  certFile: text().refine(isAbsolute, 'must be an absolute path').optional().describe(
    'For `grpc+tls://` to a server that requires client certificates (mutual TLS): this client\'s PEM certificate (chain), '
    + 'as an absolute path. Needs `keyFile`. Default: no client certificate.',
  ),
  keyFile: text().refine(isAbsolute, 'must be an absolute path').optional().describe(
    'The PEM private key of `certFile`, as an absolute path. Needs `certFile`.',
  ),
  timeoutMs: integer(1).optional().describe('Longest a call to the server (and each request while loading) may take, in ms; a call\'s own deadline, when shorter, wins. Default 30000.'),
  maxAnswerBytes: integer(1).optional().describe(
    'Largest answer accepted from the server, in bytes; a larger one fails its call RESOURCE_EXHAUSTED before it is read whole. '
    + 'Default 268435456 (256 MiB).',
  ),
  batchable: bool().optional().describe(
    'For servers without Triton\'s ModelConfig (MLServer): whether rows are examples. Default: derived from the metadata shapes '
    + '(batchable when every input and output starts with -1). With ModelConfig, `max_batch_size > 0` decides and this must agree.',
  ),
  outputs: list(text()).optional().describe('The model outputs the runner returns. Default: all of them.'),
  types: mapOf(oneOf(['bytes', 'string', 'json'])).optional().describe(
    'How BYTES inputs and outputs (one element per example) reach Arrow, by tensor name: `bytes` (binary, exact; the default), '
    + '`string` (utf8; an answer that is not valid UTF-8 is an error) or `json` (utf8 JSON text, checked).',
  ),
}).describe('Options of the `kserve` backend.');

/** Options of a kserve runner, as the code uses them. */
export type KserveOptions = z.output<typeof kserveOptionsSchema>;
