/**
 * docs/configuration.md against the schema: its reference is the one generated from the
 * schema now, it lists exactly the keys a complete config (written out here by hand)
 * sets, and that complete config, like the doc's own example, is accepted.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { REFERENCE_BEGIN, REFERENCE_END, configReference } from '../../src/config/reference.js';
import { serveConfigSchema } from '../../src/config/schema.js';
import { ROOT } from '../helpers/serve-process.js';

const doc = readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8');

/** Every key a config can set, each once (maps of names use one name). */
const complete = {
  server: {
    host: '127.0.0.1', port: 0, httpPort: 0, socket: 'flight.sock', metricsPort: 0, metricsHost: '127.0.0.1', maxMessageBytes: 1024, maxIncomingBytes: 4096,
    auth: { tokens: ['ci:abc'], tokensFile: 'tokens' },
    tls: { cert: 'server.crt', key: 'server.key', clientCa: 'ca.crt' },
  },
  runners: [{
    path: 'model.onnx',
    backend: 'onnx',
    name: 'model',
    options: {
      intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionProviders: ['cpu'], deviceId: 0,
      methods: { predict: { outputs: ['y'], batchable: true, types: { x: { kind: 'tensor', dtype: 'float32', shape: [4] } }, default: true, doc: 'd' } },
      version: '2',
    },
    scheduling: {
      instances: { count: 2, kind: 'cpu', devices: [0], threadsPerInstance: 1 },
      isolation: 'in-process', hangTimeoutMs: 1000, minBackoffMs: 10, maxBackoffMs: 100,
      batching: {
        enabled: true, maxBatchRows: 64, maxQueueDelayMs: 1, preferredBatchRows: [32], maxQueueRows: 1024,
        methods: { predict: { enabled: true, maxBatchRows: 32, maxQueueDelayMs: 0, preferredBatchRows: [16], maxQueueRows: 512 } },
      },
    },
  }, {
    path: 'grpc://127.0.0.1:8001',
    backend: 'kserve',
    options: {
      model: 'm', version: '1', tokenEnv: 'PEER_TOKEN', caFile: '/ca.crt', certFile: '/client.crt', keyFile: '/client.key', timeoutMs: 1000, maxAnswerBytes: 1024, batchable: true, outputs: ['y'], types: { s: 'string' },
    },
  }],
};

/** Key paths of a value, as the doc writes them: `runners[].scheduling`, `methods.<name>`. */
function keyPaths(value: unknown, path: string, names: Set<string>, out: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const item of value) if (typeof item === 'object') keyPaths(item, `${path}[]`, names, out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const childPath = names.has(path.split('.').pop()!) ? `${path}.<name>` : path ? `${path}.${key}` : key;
      if (!names.has(path.split('.').pop()!)) out.push(childPath);
      keyPaths(child, childPath, names, out);
    }
  }
  return out;
}

test('docs/configuration.md holds the reference generated from the schema (run `npm run docs:config` after changing it)', (t) => {
  const begin = doc.indexOf(REFERENCE_BEGIN);
  const end = doc.indexOf(REFERENCE_END);
  t.true(begin >= 0 && end > begin, 'the doc has the reference markers');
  t.is(doc.slice(begin + REFERENCE_BEGIN.length, end).trim(), configReference().trim());
});

test('the reference lists exactly the keys of a complete config, and the complete config is accepted', (t) => {
  const parsed = serveConfigSchema.safeParse(complete);
  t.true(parsed.success, parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  // Keys under these are names (methods, tensors), not keys of the schema.
  const names = new Set(['methods', 'types']);
  const expected = keyPaths(complete, '', names);
  const reference = doc.slice(doc.indexOf(REFERENCE_BEGIN), doc.indexOf(REFERENCE_END));
  // A key several backends share (options.version) is documented once per backend.
  const documented = [...new Set([...reference.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!))].sort();
  t.deepEqual(documented, [...new Set(expected)].sort());
});

test('the example config at the top of docs/configuration.md is valid', (t) => {
  const example = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
  const parsed = serveConfigSchema.safeParse(parse(example));
  t.true(parsed.success, parsed.success ? '' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
});

test('examples/serve.yaml is valid', (t) => {
  const parsed = serveConfigSchema.safeParse(parse(readFileSync(join(ROOT, 'examples/serve.yaml'), 'utf8')));
  t.true(parsed.success);
});
