/**
 * The receive limits from the command line and the config, on real server processes: a
 * message over `--max-message-bytes` is RESOURCE_EXHAUSTED naming the limit, a half-sent
 * message past `--max-incoming-bytes` too, the config's `server:` keys apply to `serve`,
 * and a nonsense size is a usage error.
 */
import test from 'ava';
import { Status } from '../../src/flight/index.js';
import { RawHttp2Client, grpcPrefix } from '../helpers/raw-http2.js';
import { CLI_ARGS, ROOT, run, startServerProcess, writeServeConfig } from '../helpers/serve-process.js';

const IRIS = `${ROOT}/examples/models/iris.onnx`;

async function announce(uri: string, bytes: number) {
  const raw = new RawHttp2Client(uri);
  try {
    return await raw.call('DoExchange', [grpcPrefix(bytes), Buffer.alloc(16)], { keepOpen: true, timeoutMs: 20_000 }).result;
  } finally {
    raw.close();
  }
}

test.serial('memory-server --max-message-bytes and --max-incoming-bytes refuse what is over them', async (t) => {
  const server = await startServerProcess(['memory-server', '--port', '0', '--max-message-bytes', '1MiB', '--max-incoming-bytes', '512KiB']);
  try {
    const tooLarge = await announce(server.uri, 2 * 1024 * 1024);
    t.is(tooLarge.code, Status.RESOURCE_EXHAUSTED, tooLarge.message);
    t.regex(tooLarge.message, /Received message larger than max \(2097152 vs\. 1048576\)/);
    const overBudget = await announce(server.uri, 768 * 1024);
    t.is(overBudget.code, Status.RESOURCE_EXHAUSTED, overBudget.message);
    t.regex(overBudget.message, /budget is 524288/);
    t.regex(server.stderr(), /"msg":"request input refused".*"peer":"127\.0\.0\.1:\d+"/);
  } finally {
    await server.stop();
  }
});

test.serial('serve takes server.maxMessageBytes from the config', async (t) => {
  const config = writeServeConfig(t, ['server:', '  maxMessageBytes: 4096', 'runners:', `  - path: ${IRIS}`]);
  const server = await startServerProcess(['serve', config, '--port', '0']);
  try {
    const r = await announce(server.uri, 8192);
    t.is(r.code, Status.RESOURCE_EXHAUSTED, r.message);
    t.regex(r.message, /\(8192 vs\. 4096\)/);
  } finally {
    await server.stop();
  }
});

test('a size that is not a positive byte count is a usage error', async (t) => {
  for (const value of ['0', '-5', 'lots', '1.5GiB']) {
    const r = await run(process.execPath, [...CLI_ARGS, 'memory-server', '--port', '0', `--max-message-bytes=${value}`], 60_000);
    t.is(r.code, 2, `${value}: ${r.stderr}`);
    t.regex(r.stderr, /--max-message-bytes must be a positive number of bytes such as 268435456 or 256MiB/);
  }
});
