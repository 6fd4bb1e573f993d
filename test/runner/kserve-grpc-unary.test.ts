/**
 * The kserve backend's unary gRPC client (src/backends/kserve/grpc-unary.ts) against a
 * real node:http2 server on loopback that answers the way a broken or hostile peer could:
 * each malformed answer must be a clear status, never a result built from what arrived.
 */
import test from 'ava';
import { createServer, type Http2Server, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { GrpcCallError, UnaryChannel } from '../../src/backends/kserve/grpc-unary.js';
import { Status } from '../../src/flight/index.js';

const GRPC = { ':status': 200, 'content-type': 'application/grpc+proto' };

function frame(body: Buffer, flag = 0, length = body.length): Buffer {
  const out = Buffer.alloc(5 + body.length);
  out[0] = flag;
  out.writeUInt32BE(length, 1);
  body.copy(out, 5);
  return out;
}

let server: Http2Server;
let address: string;
const seen = new Map<string, IncomingHttpHeaders>();

/** Each path answers in its own way. */
const answers: Record<string, (s: ServerHttp2Stream) => void> = {
  '/ok': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(frame(Buffer.from('hello')));
  },
  // The answer a byte at a time: the length prefix split across DATA frames.
  '/bytewise': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    const bytes = frame(Buffer.from('split answer'));
    let i = 0;
    const next = () => { if (i < bytes.length) s.write(bytes.subarray(i, ++i), next); else s.end(); };
    next();
  },
  '/empty-message': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(frame(Buffer.alloc(0)));
  },
  '/two-messages': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(Buffer.concat([frame(Buffer.from('one')), frame(Buffer.from('two'))]));
  },
  '/compressed': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(frame(Buffer.from('zzz'), 1));
  },
  // Announces 1 MB and sends none of it: refused from the prefix alone.
  '/huge': (s) => {
    s.respond(GRPC);
    s.write(frame(Buffer.alloc(0), 0, 1_000_000));
  },
  '/truncated': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end(frame(Buffer.from('abc'), 0, 10).subarray(0, 8));
  },
  '/no-message': (s) => {
    s.respond(GRPC, { waitForTrailers: true });
    s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
    s.end();
  },
  '/no-status': (s) => {
    s.respond(GRPC);
    s.end(frame(Buffer.from('hello')));
  },
  '/bad-status': (s) => {
    s.respond({ ...GRPC, 'grpc-status': '99' }, { endStream: true });
  },
  // Trailers-only, with a percent-encoded UTF-8 message.
  '/not-found': (s) => {
    s.respond({ ...GRPC, 'grpc-status': String(Status.NOT_FOUND), 'grpc-message': 'no model caf%C3%A9' }, { endStream: true });
  },
  '/http-503': (s) => {
    s.respond({ ':status': 503 }, { endStream: true });
  },
  '/hang': (s) => {
    s.respond(GRPC);
  },
};

test.before(async () => {
  server = createServer();
  server.on('stream', (stream: ServerHttp2Stream, headers) => {
    const path = String(headers[':path']);
    seen.set(path, headers);
    stream.on('error', () => {});
    stream.resume();
    stream.on('end', () => (answers[path] ?? answers['/ok']!)(stream));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

test.after.always(() => {
  server?.close();
});

const inAMinute = () => new Date(Date.now() + 60_000);

function channel(max = 1000): UnaryChannel {
  return new UnaryChannel({ address, metadata: { authorization: 'Bearer t0ken' }, maxReceiveMessageBytes: max });
}

async function failure(t: import('ava').ExecutionContext, path: string, options: { deadline?: Date; signal?: AbortSignal; max?: number } = {}): Promise<GrpcCallError> {
  const c = channel(options.max);
  try {
    const err = await t.throwsAsync(c.call(path, Buffer.from('req'), options.deadline ?? inAMinute(), options.signal), { instanceOf: GrpcCallError });
    return err!;
  } finally {
    c.close();
  }
}

test('a well-formed answer comes back whole, however it is split; the request carries the metadata and a grpc-timeout', async (t) => {
  const c = channel();
  try {
    t.is((await c.call('/ok', Buffer.from('req'), inAMinute())).toString(), 'hello');
    t.is((await c.call('/bytewise', Buffer.from('req'), inAMinute())).toString(), 'split answer');
    t.is((await c.call('/empty-message', Buffer.from('req'), inAMinute())).length, 0);
    const headers = seen.get('/ok')!;
    t.is(headers['authorization'], 'Bearer t0ken');
    t.is(headers['content-type'], 'application/grpc+proto');
    t.is(headers['te'], 'trailers');
    t.regex(String(headers['grpc-timeout']), /^\d{1,8}m$/);
  } finally {
    c.close();
  }
});

test('malformed answers are INTERNAL, naming what was wrong', async (t) => {
  t.is((await failure(t, '/two-messages')).code, Status.INTERNAL);
  t.regex((await failure(t, '/two-messages')).message, /more than one message/);
  t.regex((await failure(t, '/compressed')).message, /^INTERNAL: .*compression flag 1 though only identity was accepted/);
  t.regex((await failure(t, '/truncated')).message, /^INTERNAL: the server's answer ended after 3 of its 10 bytes/);
  t.regex((await failure(t, '/no-message')).message, /^INTERNAL: the server answered OK without a message/);
});

test('an answer longer than the limit is RESOURCE_EXHAUSTED from its length prefix', async (t) => {
  const err = await failure(t, '/huge', { max: 1000 });
  t.is(err.code, Status.RESOURCE_EXHAUSTED);
  t.regex(err.message, /answer is 1000000 bytes, more than the 1000 accepted/);
});

test('statuses: the peer\'s own (decoded), HTTP errors and a missing status', async (t) => {
  const notFound = await failure(t, '/not-found');
  t.is(notFound.code, Status.NOT_FOUND);
  t.is(notFound.details, 'no model café');
  t.is((await failure(t, '/http-503')).code, Status.UNAVAILABLE);
  t.regex((await failure(t, '/no-status')).message, /^UNKNOWN: the server ended the call without a grpc-status/);
  t.regex((await failure(t, '/bad-status')).message, /^UNKNOWN: the server sent grpc-status "99"/);
});

test('a deadline that passes is DEADLINE_EXCEEDED, an abort CANCELLED, a closed port UNAVAILABLE', async (t) => {
  t.is((await failure(t, '/hang', { deadline: new Date(Date.now() + 200) })).code, Status.DEADLINE_EXCEEDED);
  t.is((await failure(t, '/hang', { deadline: new Date(Date.now() - 1) })).code, Status.DEADLINE_EXCEEDED);
  const abort = new AbortController();
  const c = channel();
  const pending = c.call('/hang', Buffer.from('req'), inAMinute(), abort.signal);
  setTimeout(() => abort.abort(), 50);
  const cancelled = await t.throwsAsync(pending, { instanceOf: GrpcCallError });
  t.is(cancelled!.code, Status.CANCELLED);
  // The connection stays usable after a cancelled call.
  t.is((await c.call('/ok', Buffer.from('req'), inAMinute())).toString(), 'hello');
  c.close();
  const gone = createServer();
  await new Promise<void>((done) => gone.listen(0, '127.0.0.1', done));
  const port = (gone.address() as AddressInfo).port;
  await new Promise((done) => gone.close(done));
  const refused = new UnaryChannel({ address: `127.0.0.1:${port}`, maxReceiveMessageBytes: 1000 });
  const err = await t.throwsAsync(refused.call('/ok', Buffer.from('req'), inAMinute()), { instanceOf: GrpcCallError });
  t.is(err!.code, Status.UNAVAILABLE);
  t.regex(err!.message, /ECONNREFUSED/);
  refused.close();
});
