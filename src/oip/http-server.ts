/**
 * The Open Inference Protocol (KServe V2) over HTTP/REST, on its own port (`--http-port`):
 * health, server and model metadata, Triton's model config and statistics, and
 * inference with JSON tensors or the binary tensor data extension
 * (`Inference-Header-Content-Length`). Same runners, credentials and size limits as the
 * gRPC port; errors are `{"error": "..."}` with the HTTP status Triton uses.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { ServerAuth } from '../flight/auth.js';
import { FlightError, Status } from '../flight/index.js';
import type { ReceiveBudget } from '../flight/receive-budget.js';
import { SERVER_NAME, SERVER_VERSION } from '../runner/service.js';
import { log } from '../util/log.js';
import { authenticateV2 } from './auth.js';
import { OIP_EXTENSIONS, rawOutput } from './grpc-service.js';
import { infer, PROTOCOL_PARAMETERS, type InferRequest, type OipBackend } from './infer.js';
import { modelReady, resolveModel, v2Config, v2Metadata, v2Statistics } from './models.js';
import { flattenData, jsonDataText } from './rest-json.js';
import type { V2Input } from './tensors.js';

/** Options of the REST endpoint. */
export interface OipHttpOptions {
  auth?: ServerAuth;
  /** Largest request body, in bytes (the gRPC port's message limit). */
  maxBodyBytes: number;
  /** The gRPC port's budget for bytes of requests being received: bodies count against it too. */
  budget?: ReceiveBudget;
  /** Serve HTTPS with the gRPC port's key pair (and client CA for mutual TLS). */
  tls?: { certChain: Buffer; privateKey: Buffer; rootCerts?: Buffer };
}

/** HTTP status of each gRPC status, as Triton's HTTP endpoint maps its errors. */
const HTTP_STATUS: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.FAILED_PRECONDITION]: 400,
  [Status.OUT_OF_RANGE]: 400,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.UNAUTHENTICATED]: 401,
  [Status.PERMISSION_DENIED]: 403,
  [Status.RESOURCE_EXHAUSTED]: 429,
  [Status.CANCELLED]: 499,
  [Status.DEADLINE_EXCEEDED]: 504,
  [Status.UNIMPLEMENTED]: 501,
  [Status.UNAVAILABLE]: 503,
};

/** An answer of the router: a JSON value, or a status with no body (health). */
type Answer = { json: unknown } | { status: number } | { text: string; binary?: Uint8Array[]; headerLength?: number };

/**
 * A running V2 REST endpoint.
 *
 * @example
 * const rest = await startOipHttpServer(backend, { maxBodyBytes: 64 << 20 }, { host: '127.0.0.1', port: 8000 });
 */
export class OipHttpServer {
  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(backend: OipBackend, options: OipHttpOptions, address: { host: string; port: number }): Promise<OipHttpServer> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void serve(backend, options, req, res);
    const server = options.tls
      ? createHttpsServer({
        key: options.tls.privateKey, cert: options.tls.certChain,
        ...(options.tls.rootCerts ? { ca: options.tls.rootCerts, requestCert: true, rejectUnauthorized: true } : {}),
      }, handler)
      : createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    return new OipHttpServer(server, (server.address() as AddressInfo).port);
  }

  /** Stops accepting connections and waits for open requests (at most `graceMs`). */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), graceMs);
    timer.unref();
    await closed;
    clearTimeout(timer);
  }
}

async function serve(backend: OipBackend, options: OipHttpOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const controller = new AbortController();
  // The client went away before its answer: the call is cancelled, as a cancelled gRPC call.
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new FlightError(Status.CANCELLED, 'the HTTP client closed the connection'));
  });
  try {
    const identity = await authenticateV2(options.auth, req.headers.authorization);
    const answer = await route(backend, options, req, controller.signal, identity);
    if ('status' in answer) {
      res.writeHead(answer.status, { 'content-length': 0 }).end();
    } else if ('json' in answer) {
      const body = Buffer.from(JSON.stringify(answer.json));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.byteLength }).end(body);
    } else {
      const head = Buffer.from(answer.text);
      const binary = answer.binary ?? [];
      const length = head.byteLength + binary.reduce((n, b) => n + b.byteLength, 0);
      res.writeHead(200, {
        'content-type': binary.length ? 'application/octet-stream' : 'application/json',
        'content-length': length,
        ...(binary.length ? { 'inference-header-content-length': head.byteLength } : {}),
      });
      res.write(head);
      for (const b of binary) res.write(b);
      res.end();
    }
  } catch (err) {
    const error = err instanceof FlightError ? err : FlightError.internal(err instanceof Error ? err.message : String(err), err);
    if (error.code === Status.INTERNAL) log('warn', 'V2 HTTP request failed', { path: req.url, error: error.message });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const body = Buffer.from(JSON.stringify({ error: error.message }));
    res.writeHead(HTTP_STATUS[error.code] ?? 500, { 'content-type': 'application/json', 'content-length': body.byteLength }).end(body);
    // A body left unread would be parsed as the next request on this connection.
    if (!req.complete) req.resume();
  }
}

const MODEL_PATH = /^\/v2\/models\/([^/]+)(?:\/versions\/([^/]+))?(?:\/(ready|infer|config|stats))?$/;

async function route(
  backend: OipBackend, options: OipHttpOptions, req: IncomingMessage, signal: AbortSignal, identity: string | undefined,
): Promise<Answer> {
  const path = (req.url ?? '/').split('?')[0]!;
  const method = req.method ?? 'GET';
  const want = (allowed: string) => {
    if (method !== allowed) throw new FlightError(Status.UNIMPLEMENTED, `${method} ${path.slice(0, 100)}: use ${allowed}`);
  };
  const { registry, stats } = backend;
  switch (path) {
    case '/v2':
      want('GET');
      return { json: { name: SERVER_NAME, version: SERVER_VERSION, extensions: OIP_EXTENSIONS } };
    case '/v2/health/live':
      want('GET');
      return { status: 200 };
    case '/v2/health/ready':
      want('GET');
      return { status: Object.values(registry.states()).every((s) => s === 'ready') ? 200 : 400 };
    case '/v2/models/stats':
      want('GET');
      return { json: { model_stats: v2Statistics(registry, stats, '', '') } };
  }
  const match = MODEL_PATH.exec(path);
  if (!match) throw FlightError.notFound(`no V2 endpoint ${method} ${path.slice(0, 100)}: see docs/oip.md`);
  const model = decodeSegment(match[1]!);
  const version = match[2] === undefined ? '' : decodeSegment(match[2]);
  switch (match[3]) {
    case undefined:
      want('GET');
      return { json: v2Metadata(resolveModel(registry, model, version)) };
    case 'ready':
      want('GET');
      return { status: modelReady(registry, model, version) ? 200 : 400 };
    case 'config':
      want('GET');
      return { json: v2Config(resolveModel(registry, model, version)) };
    case 'stats':
      want('GET');
      return { json: { model_stats: v2Statistics(registry, stats, model, version) } };
    default: {
      want('POST');
      // Resolved before the body is read: an unknown model costs no upload.
      resolveModel(registry, model, version);
      const body = await readBody(req, options);
      const { request, binaryOutputs, perOutput } = parseInfer(model, version, req.headers['inference-header-content-length'], body);
      const result = await infer(backend, request, { metadata: { get: () => [] } as never, peer: req.socket.remoteAddress ?? '', signal, ...(identity !== undefined ? { identity } : {}) });
      const binary: Uint8Array[] = [];
      const outputs = result.outputs.map((o) => {
        const asBinary = perOutput.get(o.name) ?? binaryOutputs;
        const head = `{"name":${JSON.stringify(o.name)},"datatype":"${o.datatype}","shape":[${o.shape.join(',')}]`;
        if (!asBinary) return `${head},"data":${jsonDataText(o, `model '${model}' output '${o.name}'`)}}`;
        const bytes = rawOutput(o);
        binary.push(bytes);
        return `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
      });
      const text = `{"model_name":${JSON.stringify(result.model)},"model_version":${JSON.stringify(result.version)}${result.id ? `,"id":${JSON.stringify(result.id)}` : ''},"outputs":[${outputs.join(',')}]}`;
      return { text, binary };
    }
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw FlightError.invalidArgument(`path segment ${JSON.stringify(segment.slice(0, 60))} is not valid percent-encoding`);
  }
}

/** The request body, refused past the size limit (before reading it when Content-Length says so). */
async function readBody(req: IncomingMessage, options: OipHttpOptions): Promise<Buffer> {
  const limit = options.maxBodyBytes;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') {
    throw new FlightError(Status.UNIMPLEMENTED, `Content-Encoding ${JSON.stringify(encoding.slice(0, 20))} is not supported: send the body uncompressed`);
  }
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (declared > limit) throw FlightError.resourceExhausted(`request body of ${declared} bytes is larger than the limit of ${limit} bytes (--max-message-bytes)`);
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > limit) throw FlightError.resourceExhausted(`request body is larger than the limit of ${limit} bytes (--max-message-bytes)`);
      options.budget?.reserve(chunk.byteLength);
      chunks.push(chunk);
    }
  } finally {
    options.budget?.release(chunks.reduce((n, c) => n + c.byteLength, 0));
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The inference request of a REST body: a JSON header, then (binary tensor data
 * extension) the binary inputs in order, each `binary_data_size` bytes. Also which
 * outputs are wanted as binary: `parameters.binary_data_output` for all, an output's
 * `parameters.binary_data` for itself.
 */
export function parseInfer(model: string, version: string, headerLength: string | string[] | undefined, body: Buffer): {
  request: InferRequest; binaryOutputs: boolean; perOutput: Map<string, boolean>;
} {
  let jsonEnd = body.byteLength;
  if (headerLength !== undefined) {
    const n = Number(headerLength);
    if (!Number.isSafeInteger(n) || n < 0 || n > body.byteLength) {
      throw FlightError.invalidArgument(`Inference-Header-Content-Length is ${JSON.stringify(String(headerLength).slice(0, 20))}; it must be the byte length of the JSON header, at most the body's ${body.byteLength} bytes`);
    }
    jsonEnd = n;
  }
  let header: unknown;
  try {
    header = JSON.parse(body.subarray(0, jsonEnd).toString('utf8'));
  } catch (err) {
    throw FlightError.invalidArgument(`the inference request is not valid JSON${headerLength === undefined ? '' : ' (its first Inference-Header-Content-Length bytes)'}: ${(err as Error).message}`);
  }
  if (!isObject(header)) throw FlightError.invalidArgument('the inference request must be a JSON object with "inputs"');
  if (!Array.isArray(header['inputs'])) throw FlightError.invalidArgument('the inference request needs "inputs": an array of {name, shape, datatype, data}');
  const parameters = isObject(header['parameters']) ? header['parameters'] : {};
  let offset = jsonEnd;
  const inputs: V2Input[] = header['inputs'].map((input: unknown, i: number) => {
    if (!isObject(input) || typeof input['name'] !== 'string' || typeof input['datatype'] !== 'string' || !Array.isArray(input['shape'])) {
      throw FlightError.invalidArgument(`inputs[${i}] must be {"name": string, "datatype": string, "shape": [int...], "data" or parameters.binary_data_size}`);
    }
    const where = `model '${model}' input '${input['name'].slice(0, 60)}'`;
    const shape = input['shape'].map((d) => {
      if (typeof d !== 'number') throw FlightError.invalidArgument(`${where} has shape ${JSON.stringify(input['shape']).slice(0, 60)}: dimensions are integers`);
      return d;
    });
    const size = isObject(input['parameters']) ? input['parameters']['binary_data_size'] : undefined;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw FlightError.invalidArgument(`${where}: parameters.binary_data_size must be a byte count`);
      if (input['data'] !== undefined) throw FlightError.invalidArgument(`${where} has both "data" and binary data: send one`);
      if (size > body.byteLength - offset) {
        throw FlightError.invalidArgument(`${where}: binary_data_size ${size} runs past the end of the body (${body.byteLength - offset} bytes of binary data left)`);
      }
      const raw = body.subarray(offset, offset + size);
      offset += size;
      return { name: input['name'], datatype: input['datatype'], shape, data: { raw } };
    }
    if (input['data'] === undefined) throw FlightError.invalidArgument(`${where} has no "data" and no parameters.binary_data_size`);
    return { name: input['name'], datatype: input['datatype'], shape, data: { values: flattenData(input['data'], where) } };
  });
  if (offset !== body.byteLength) {
    throw FlightError.invalidArgument(`the body has ${body.byteLength - offset} bytes after the binary inputs: binary_data_size values must add up to the binary part of the body`);
  }
  const perOutput = new Map<string, boolean>();
  const outputs: string[] = [];
  if (header['outputs'] !== undefined) {
    if (!Array.isArray(header['outputs'])) throw FlightError.invalidArgument('"outputs" must be an array of {"name": string}');
    header['outputs'].forEach((o: unknown, i: number) => {
      if (!isObject(o) || typeof o['name'] !== 'string') throw FlightError.invalidArgument(`outputs[${i}] must be {"name": string, "parameters"?: {"binary_data": bool}}`);
      outputs.push(o['name']);
      const binary = isObject(o['parameters']) ? o['parameters']['binary_data'] : undefined;
      if (typeof binary === 'boolean') perOutput.set(o['name'], binary);
    });
  }
  const params = Object.fromEntries(Object.entries(parameters).filter(([key]) => !PROTOCOL_PARAMETERS.has(key)));
  const id = header['id'];
  if (id !== undefined && typeof id !== 'string') throw FlightError.invalidArgument('"id" must be a string');
  return {
    request: { model, version, id: id ?? '', inputs, outputs, params },
    binaryOutputs: parameters['binary_data_output'] === true,
    perOutput,
  };
}
