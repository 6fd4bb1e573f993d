/**
 * Reading serve configs and credentials: valid configs come out as written (paths
 * resolved against the config's folder, the backend resolved); every kind of mistake is
 * a ConfigError naming the file, the key's path and the fix.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backends } from '../../src/backends/registry.js';
import { ConfigError } from '../../src/config/config-error.js';
import { loadCredentials, tokenFingerprint } from '../../src/config/credentials.js';
import { configFromTargets, readConfig } from '../../src/config/serve-config.js';
import { ROOT } from '../helpers/serve-process.js';

function configFile(t: { teardown(fn: () => void): void }, text: string): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'flight-runner-config-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'serve.yaml');
  writeFileSync(file, text);
  return { dir, file };
}

/** The lines of the ConfigError reading `text` throws. */
function problems(t: ExecutionContext, text: string): string[] {
  const { file } = configFile(t, text);
  const err = t.throws(() => readConfig(file), { instanceOf: ConfigError });
  return err!.message.split('\n').map((line) => {
    t.true(line.startsWith(`${file}: `), line);
    return line.slice(file.length + 2);
  });
}

test('examples/serve.yaml reads as written: paths resolved against its folder, backends from the extension', (t) => {
  const config = readConfig(join(ROOT, 'examples/serve.yaml'));
  t.deepEqual(config.server, { host: '127.0.0.1', port: 8815 });
  t.deepEqual(config.runners.map((r) => [r.path, r.backend]), [
    [join(ROOT, 'examples/models/iris.onnx'), 'onnx'],
    [join(ROOT, 'examples/models/tensor_model.onnx'), 'onnx'],
    [join(ROOT, 'examples/models/mlp_small.onnx'), 'onnx'],
    [join(ROOT, 'examples/models/scaler_fp16.onnx'), 'onnx'],
    [join(ROOT, 'examples/runners/loan-scorer.ts'), 'js'],
    [join(ROOT, 'examples/runners/text-tools.ts'), 'js'],
  ]);
  t.deepEqual(config.runners[0]!.options, {
    intraOpNumThreads: 1,
    methods: { predict: { outputs: ['label'], default: true }, predict_proba: { outputs: ['probabilities'] } },
  });
  t.deepEqual(config.runners[4]!.options, {});
  t.deepEqual(config.runners[2]!.source, { file: join(ROOT, 'examples/serve.yaml'), path: 'runners[2]' });
});

test('server paths are relative to the config file; scheduling and types come out as written', (t) => {
  const { dir, file } = configFile(t, [
    'server: { socket: run/flight.sock, auth: { tokensFile: secrets/tokens }, tls: { cert: tls/s.crt, key: tls/s.key, clientCa: /etc/ca.crt } }',
    'runners:',
    '  - path: m.onnx',
    '    options:',
    '      version: 3',
    '      methods: { embed: { types: { x: { kind: tensor, dtype: float32, shape: [-1, 4] }, n: { kind: scalar, dtype: int64 }, s: { kind: string } } } }',
    '    scheduling:',
    '      instances: { count: auto }',
    '      batching: { maxQueueDelayMs: 0.5, preferredBatchRows: [8, 32], methods: { embed: { enabled: false } } }',
    '',
  ].join('\n'));
  const config = readConfig(file);
  t.deepEqual(config.server, {
    socket: join(dir, 'run/flight.sock'),
    auth: { tokensFile: join(dir, 'secrets/tokens') },
    tls: { cert: join(dir, 'tls/s.crt'), key: join(dir, 'tls/s.key'), clientCa: '/etc/ca.crt' },
  });
  const runner = config.runners[0]!;
  t.is(runner.path, join(dir, 'm.onnx'));
  t.deepEqual(runner.scheduling, {
    instances: { count: 'auto' },
    batching: { maxQueueDelayMs: 0.5, preferredBatchRows: [8, 32], methods: { embed: { enabled: false } } },
  });
  t.deepEqual(runner.options, {
    version: '3',
    methods: { embed: { types: { x: { kind: 'tensor', dtype: 'float32', shape: [-1, 4] }, n: { kind: 'scalar', dtype: 'int64' }, s: { kind: 'string' } } } },
  });
});

test('wrong types, ranges and choices name the path, the rule and the value given', (t) => {
  t.deepEqual(problems(t, [
    'server: { port: "8815x", host: 7 }',
    'runners:',
    '  - path: m.onnx',
    '    backend: tensorflow',
    '  - path: m.onnx',
    '    options: { graphOptimizationLevel: max, methods: { p: { outputs: label, types: { x: { kind: tensor } } } } }',
    '    scheduling: { instances: { kind: tpu, devices: [-1] }, batching: { enabled: "yes", preferredBatchRows: [0] } }',
    '',
  ].join('\n')), [
    'server.host: expected a string (got 7)',
    'server.port: expected an integer in 0..65535 (got "8815x")',
    // Every registered backend is a choice (a new one joins the list).
    `runners[0].backend: must be one of ${backends().map((b) => JSON.stringify(b.name)).join(', ')} (got "tensorflow")`,
    'runners[1].options.graphOptimizationLevel: must be one of "disabled", "basic", "extended", "all" (got "max")',
    'runners[1].options.methods.p.outputs: expected a list (got "label")',
    'runners[1].options.methods.p.types.x.dtype: required for kind tensor',
    'runners[1].options.methods.p.types.x.shape: required for kind tensor',
    'runners[1].scheduling.instances.kind: must be one of "cpu", "gpu" (got "tpu")',
    'runners[1].scheduling.instances.devices[0]: must be an integer >= 0 (got -1)',
    'runners[1].scheduling.batching.enabled: expected true or false (got "yes")',
    'runners[1].scheduling.batching.preferredBatchRows[0]: must be an integer >= 1 (got 0)',
  ]);
});

test('cross-key rules: backoff order, payload types, backend options, paths no backend serves', (t) => {
  t.deepEqual(problems(t, [
    'runners:',
    '  - path: m.onnx',
    '    options: { methods: { p: { types: { x: { kind: tensor }, y: { kind: string, dtype: int8 } } } } }',
    '    scheduling: { minBackoffMs: 500, maxBackoffMs: 100 }',
    '  - path: r.ts',
    '    options: { intraOpNumThreads: 1 }',
    '  - path: model.pt',
    '',
  ].join('\n')), [
    'runners[0].options.methods.p.types.x.dtype: required for kind tensor',
    'runners[0].options.methods.p.types.x.shape: required for kind tensor',
    'runners[0].options.methods.p.types.y.dtype: only tensor and scalar take a dtype, not string (got "int8")',
    'runners[0].scheduling.minBackoffMs: must be <= maxBackoffMs (100) (got 500)',
    'runners[1].options.intraOpNumThreads: unknown key; nothing may be set here',
    'runners[2].path: no backend serves "model.pt": expected a .onnx model or a JS/TS module (.js, .mjs, .cjs, .ts, .mts, .cts), or set "backend"',
  ]);
});

test('unknown keys, including prototype names, are errors at their path; far-off names list the valid keys', (t) => {
  t.deepEqual(problems(t, [
    'severs: {}',
    'runners:',
    '  - path: m.onnx',
    '    constructor: 1',
    '    scheduling: { toString: 2, __proto__: { isolation: worker }, batching: { methods: { predict: { maxBatchRow: 4 } } } }',
    '',
  ].join('\n')), [
    'severs: unknown key; did you mean "server"?',
    'runners[0].constructor: unknown key; valid: "path", "backend", "name", "options", "scheduling"',
    'runners[0].scheduling.toString: unknown key; valid: "instances", "isolation", "hangTimeoutMs", "minBackoffMs", "maxBackoffMs", "batching"',
    'runners[0].scheduling.__proto__: unknown key; valid: "instances", "isolation", "hangTimeoutMs", "minBackoffMs", "maxBackoffMs", "batching"',
    'runners[0].scheduling.batching.methods.predict.maxBatchRow: unknown key; did you mean "maxBatchRows"?',
  ]);
});

test('a file that is not YAML, not a mapping, or lacks runners is a ConfigError naming it', (t) => {
  const yaml = problems(t, 'runners: [\n');
  t.is(yaml.length, 1);
  t.regex(yaml[0]!, /^not valid YAML: .* at line \d+, column \d+:?$/);
  t.deepEqual(problems(t, '- a\n- b\n'), ['expected a mapping with "runners" (and optional "server") (got ["a","b"])']);
  t.deepEqual(problems(t, 'server: { port: 1 }\n'), ['runners: required']);
  t.deepEqual(problems(t, ''), ['runners: required']);
  const missing = join(tmpdir(), 'flight-runner-no-such-config.yaml');
  t.throws(() => readConfig(missing), { instanceOf: ConfigError, message: new RegExp(`^${missing}: cannot read: ENOENT`) });
});

test('a command-line target no backend serves is a ConfigError naming it', (t) => {
  t.throws(() => configFromTargets(['model.pt']), {
    instanceOf: ConfigError,
    message: /^target "model\.pt": no backend serves ".*model\.pt": expected a \.onnx model/,
  });
});

test('credentials: tokens from flags, env, files and the config, with identities; mistakes name their source, never the token', async (t) => {
  const { dir } = configFile(t, '');
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, '# team\nci: tok-1\n\n  tok-2  \nops:tok-3\n', { mode: 0o600 });
  const creds = loadCredentials({ token: ['tok-4'], tokensFile: tokens }, 'tok-5', { server: { auth: { tokens: ['cfg:tok-6', 'tok-1'] } } });
  t.is(creds.tokens, 6);
  t.is(creds.tls, undefined);
  const who = async (token: string) => creds.auth!.validateToken(token);
  t.is(await who('tok-1'), 'ci');
  t.is(await who('tok-2'), tokenFingerprint('tok-2'));
  t.regex(tokenFingerprint('tok-2'), /^token-[0-9a-f]{8}$/);
  t.is(await who('tok-3'), 'ops');
  t.is(await who('tok-4'), tokenFingerprint('tok-4'));
  t.is(await who('tok-5'), tokenFingerprint('tok-5'));
  t.is(await who('tok-6'), 'cfg');
  t.is(await who('tok-7'), undefined);
  t.is(await who('ci'), undefined);

  t.deepEqual(loadCredentials({}, undefined), { tokens: 0, mutualTls: false });

  const bad = join(dir, 'bad-tokens');
  writeFileSync(bad, 'ok-token\nsecret with spaces\n', { mode: 0o600 });
  const err = t.throws(() => loadCredentials({ tokensFile: bad }, undefined), { instanceOf: ConfigError });
  t.is(err!.message, `--tokens-file: ${bad} line 2: a bearer token may hold only letters, digits, -._~+/ and trailing =`);
  t.notRegex(err!.message, /secret/);

  const empty = join(dir, 'empty-tokens');
  writeFileSync(empty, '# nobody yet\n', { mode: 0o600 });
  t.throws(() => loadCredentials({}, undefined, { server: { auth: { tokensFile: empty } }, authFile: '/x/serve.yaml' }), {
    instanceOf: ConfigError,
    message: `/x/serve.yaml: server.auth.tokensFile: ${empty} holds no token (one "token" or "identity:token" per line)`,
  });
  t.throws(() => loadCredentials({ tokensFile: tokens }, undefined, { server: { auth: { tokens: ['other:tok-1'] } } }), {
    instanceOf: ConfigError,
    message: 'server.auth.tokens[0]: a token is also given by --tokens-file with another identity (ci, here other)',
  });
  t.throws(() => loadCredentials({}, 'has:colon'), { instanceOf: ConfigError, message: /^FLIGHT_RUNNER_TOKEN: a token cannot contain ":"/ });
  t.throws(() => loadCredentials({ tlsKey: tokens, tlsClientCa: tokens }, undefined), {
    instanceOf: ConfigError,
    message: '--tls-key: needs a certificate too (--tls-cert or server.tls.cert)\n--tls-client-ca: mutual TLS needs the server\'s own certificate and key (--tls-cert, --tls-key)',
  });
});
