import { parseArgs } from 'node:util';
import type { Schema } from 'apache-arrow';
import { dtypeOf } from '../codecs/dtypes.js';
import { connectionError, openFlightClient } from '../client/connection.js';
import { FlightError, Status, type FlightClient } from '../flight/index.js';
import { describePayload } from '../codecs/payload.js';
import { signatureFromJSON, type MethodSignature, type ParamSpec } from '../runner/signature.js';
import { checkServerUri } from './cli-errors.js';
import { connectOptionsFrom, connectionOptions } from './connection-flags.js';
import { UsageError } from './serve-process.js';
import { formatTable } from './text-table.js';

export const listHelp = `Usage: flight-runner list <uri> [--json] [--token T] [--tls-ca FILE]

Lists every runner and method a server offers, with its inputs and outputs.

Arguments:
  <uri>          the server, e.g. grpc://127.0.0.1:8815 or grpc+unix:///tmp/fr.sock

Options:
  --json         print the method signatures as JSON (an array, as the server sends them;
                 a runner that is loading or failed is {"runner", "state", "error"})
  --token T      a bearer token, for servers that require one
                 (default: the environment variable FLIGHT_RUNNER_TOKEN)
  --tls-ca FILE  for grpc+tls:// servers: trust the CA certificate(s) in
                 this PEM file (e.g. a self-signed server certificate)
  -h, --help     show this help

In the table, * marks a runner's default method (what <runner> alone calls), and a
payload reads e.g. features: tensor<float32>[4] (per-example shape), label: scalar<int64>,
applicants: table{income: float64, ...}. Runners that cannot be called are listed
after the table, one line each: "<runner>: failed: <reason>" or "<runner>: loading".

Examples:
  flight-runner list grpc://127.0.0.1:8815
  flight-runner list grpc://127.0.0.1:8815 --json | jq '.[].method'`;

/** One method as the server describes it: its signature JSON and its input schema. */
export interface ListedMethod {
  json: Record<string, unknown>;
  signature: MethodSignature;
  runner: string;
  inputSchema?: Schema;
}

/** A runner the server lists as not callable: loading, or failed with its reason. */
export interface UnavailableRunner {
  json: Record<string, unknown>;
  runner: string;
  state: string;
  error?: string;
}

/**
 * Every runner method of a server, from ListFlights (in the server's order). Runners
 * that are loading or failed (listed without a method) go to `unavailable`.
 */
export async function listMethods(client: FlightClient, unavailable: UnavailableRunner[] = []): Promise<ListedMethod[]> {
  const methods: ListedMethod[] = [];
  for await (const info of client.listFlights()) {
    // Flights without a signature are not runner methods (the protocol puts one on each).
    if (!info.appMetadata?.length) continue;
    const json = JSON.parse(new TextDecoder().decode(info.appMetadata)) as Record<string, unknown>;
    if (typeof json['method'] !== 'string') {
      unavailable.push({ json, runner: String(json['runner']), state: String(json['state']), ...(typeof json['error'] === 'string' ? { error: json['error'] } : {}) });
      continue;
    }
    methods.push({ json, signature: signatureFromJSON(json), runner: String(json['runner']), inputSchema: info.schema });
  }
  return methods;
}

/** A parameter for the table: `name: type`; a table lists its columns with their types. */
function describeParam(p: ParamSpec, schema?: Schema): string {
  if (p.type.kind === 'table' && schema?.fields.length) {
    // A column that may hold nulls reads with a trailing ?, as nullable payloads do.
    const columns = schema.fields.map((f) => `${f.name}: ${dtypeOf(f.type) ?? String(f.type).toLowerCase()}${f.nullable ? '?' : ''}`);
    return `${p.name}: table{${columns.join(', ')}}`;
  }
  return `${p.name}: ${describePayload(p.type)}`;
}

/** The table `list` prints. */
export function methodsTable(methods: ListedMethod[]): string {
  const perRunner = new Map<string, number>();
  for (const m of methods) perRunner.set(m.runner, (perRunner.get(m.runner) ?? 0) + 1);
  const rows = methods.map((m) => {
    const sig = m.signature;
    // A runner with one method calls it by default even if it is not marked.
    const isDefault = sig.isDefault || perRunner.get(m.runner) === 1;
    return [
      m.runner,
      `${sig.name}${isDefault ? '*' : ''}`,
      sig.batchable ? 'yes' : 'no',
      sig.inputs.map((p) => describeParam(p, m.inputSchema)).join(', '),
      sig.outputs.map((p) => describeParam(p)).join(', '),
    ];
  });
  return formatTable(['RUNNER', 'METHOD', 'BATCHABLE', 'INPUTS', 'OUTPUTS'], rows);
}

/** `flight-runner list`. */
export async function listCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      ...connectionOptions,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${listHelp}\n`);
    return;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give exactly one <uri>' : 'give the server <uri>, e.g. grpc://127.0.0.1:8815');
  const uri = checkServerUri(positionals[0]!);
  const client = openFlightClient(uri, connectOptionsFrom(values));
  try {
    const unavailable: UnavailableRunner[] = [];
    const methods = await listMethods(client, unavailable);
    if (values.json) {
      process.stdout.write(`${JSON.stringify([...methods.map((m) => m.json), ...unavailable.map((u) => u.json)], null, 2)}\n`);
    } else if (!methods.length && !unavailable.length) {
      process.stdout.write('no runners\n');
    } else {
      if (methods.length) process.stdout.write(`${methodsTable(methods)}\n* default method\n`);
      // Runners that cannot be called, with why: a failed load is never silent.
      for (const u of unavailable) process.stdout.write(`${u.runner}: ${u.state}${u.error ? `: ${u.error}` : ''}\n`);
    }
  } catch (err) {
    throw withStatus(connectionError(uri, err));
  } finally {
    client.close();
  }
}

/**
 * A FlightError as an Error whose message starts with the gRPC status name (NOT_FOUND: ...);
 * a refused credential also names the flags that give one.
 */
export function withStatus(err: unknown): unknown {
  if (!(err instanceof FlightError)) return err;
  const hint = err.code === Status.UNAUTHENTICATED ? ' (give the token with --token T or FLIGHT_RUNNER_TOKEN)' : '';
  return new Error(`${err.codeName}: ${err.message}${hint}`, { cause: err });
}
