import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { RecordBatch, Schema } from 'apache-arrow';
import { connect, type ConnectOptions, type RunnerClient } from '../client/index.js';
import { encodeCall } from '../client/arguments.js';
import { attachKept, checkKeep, takeKept, type KeptColumns } from '../client/keep.js';
import { connectionError } from '../client/connection.js';
import { RemoteCaller } from '../client/remote-caller.js';
import { FlightDescriptor, FlightError } from '../flight/index.js';
import { INPUT_EXTENSIONS, extensionOf, openInput, type InputSource } from '../io/input-source.js';
import { OUTPUT_EXTENSIONS, isOutputPath, openOutput } from '../io/output-sink.js';
import type { CallParams } from '../runner/runner.js';
import { NAME_PATTERN, tableInput, type MethodSignature } from '../runner/signature.js';
import { checkServerUri, joinNegativeValues } from './cli-errors.js';
import { connectOptionsFrom, connectionOptions } from './connection-flags.js';
import { planInputs } from './declared-inputs.js';
import { withStatus } from './list-command.js';
import { Progress, formatCount } from './progress.js';
import { UsageError } from './serve-process.js';

const DEFAULT_BATCH_ROWS = 65_536;

export const callHelp = `Usage: flight-runner call <uri> <runner>[/<method>] --input FILE [options]

Streams the rows of FILE through a runner method in one call (one DoExchange, batches
of --batch-rows rows) and writes one output row per input row, in order.

Arguments:
  <uri>                 the server, e.g. grpc://127.0.0.1:8815
  <runner>[/<method>]   what to call; the runner's default method if none is given

Options:
  --input FILE          the rows, by extension: ${INPUT_EXTENSIONS.join(' ')}
  --output FILE         where results go, by extension: ${OUTPUT_EXTENSIONS.join(' ')}
                        (default: JSON lines on stdout)
  --batch-rows N        rows per batch sent (default ${DEFAULT_BATCH_ROWS})
  --params JSON         call-level parameters, a JSON object, e.g. '{"threshold": 0.5}'
  --keep COLUMNS        input columns copied to the output, before the outputs, so results
                        join back by key (e.g. --keep id, or --keep id,region; repeatable).
                        The runner does not see them unless it declares them.
  --progress            draw a progress bar on stderr even when it is not a terminal
                        (on a terminal it is drawn for calls longer than a moment)
  --token T             a bearer token, for servers that require one
                        (default: the environment variable FLIGHT_RUNNER_TOKEN)
  --tls-ca FILE         for grpc+tls:// servers: trust the CA certificate(s) in
                        this PEM file (e.g. a self-signed server certificate)
  -h, --help            show this help

Input files:
  .json      an array of row objects, or ONE object of named arguments for a single call
             ({"features": [5.1, 3.5, 1.4, 0.2]} or {"features": [[...], [...]]})
  .jsonl     one row object per line
  .csv       a header row; columns of numbers are float64, or int64 when all whole
  .arrow .arrows .parquet   their own column types
Each declared input takes the column of its name (see "flight-runner list" for them):
  scalar      a column of numbers (cast to the declared dtype)
  tensor      a per-example shape S takes a list column (a JSON array per row, nested
              arrays flattened row-major; an Arrow/Parquet list; text holding a JSON
              array, e.g. a CSV cell "[5.1,3.5,1.4,0.2]"), or, with no column of
              that name, the N = product(S) columns NAME_0 .. NAME_{N-1}, row-major:
              features: tensor<float32>[4] <- features_0,features_1,features_2,features_3
  string      any column, as text; json: a JSON value per row (text is parsed as JSON)
  table       the whole row; declared columns are cast to their declared types
Other columns are ignored (use --keep to carry them to the output).

Output: a column per declared output. In CSV a tensor output of N values becomes the
columns NAME_0 .. NAME_{N-1}; in JSON it is a nested array of its shape; in Parquet a
list of its values (row-major). A one-line summary (rows, batches, seconds) goes to stderr.

Exit status: 0 on success; 1 if the call fails (stderr names the gRPC status, e.g.
NOT_FOUND, INVALID_ARGUMENT); 2 for a mistake on the command line.

Examples:
  flight-runner call grpc://127.0.0.1:8815 iris --input rows.json
  flight-runner call grpc://127.0.0.1:8815 iris/predict_proba --input rows.csv --output probs.parquet
  flight-runner call grpc://127.0.0.1:8815 loan_scorer --input applicants.csv --output scores.arrow --progress
  flight-runner call grpc://127.0.0.1:8815 loan_scorer --input applicants.parquet --keep id --output scores.parquet
  flight-runner call grpc://127.0.0.1:8815 text_tools/concat --input texts.jsonl --params '{"separator": " | "}'`;

/** The parsed command line of `call`. */
interface CallArgs {
  uri: string;
  runner: string;
  method?: string;
  input: string;
  output?: string;
  batchRows: number;
  params: CallParams;
  progress: boolean;
  connection: ConnectOptions;
  /** Input columns copied to the output (--keep). */
  keep: string[];
}

async function parseCallArgs(argv: string[]): Promise<CallArgs | undefined> {
  const { values, positionals } = parseArgs({
    args: joinNegativeValues(argv, ['batch-rows']),
    allowPositionals: true,
    options: {
      input: { type: 'string', short: 'i' },
      output: { type: 'string', short: 'o' },
      'batch-rows': { type: 'string' },
      params: { type: 'string' },
      progress: { type: 'boolean' },
      keep: { type: 'string', multiple: true },
      ...connectionOptions,
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  if (positionals.length !== 2) throw new UsageError('give the server <uri> and the <runner>[/<method>] to call');
  const [rawUri, target] = positionals as [string, string];
  const uri = checkServerUri(rawUri);
  const [runner, method, ...rest] = target.split('/');
  if (rest.length || !NAME_PATTERN.test(runner!) || (method !== undefined && !NAME_PATTERN.test(method))) {
    throw new UsageError(`bad target ${JSON.stringify(target)}: expected <runner> or <runner>/<method>, names of [A-Za-z0-9_.-]`);
  }
  if (!values.input) throw new UsageError('--input FILE is required');
  if (!INPUT_EXTENSIONS.includes(extensionOf(values.input))) {
    throw new UsageError(`--input ${values.input}: unknown format; use a file ending in ${INPUT_EXTENSIONS.join(' ')}`);
  }
  try {
    await access(values.input);
  } catch {
    throw new UsageError(`--input ${values.input}: no such file`);
  }
  if (values.output !== undefined && !isOutputPath(values.output)) {
    throw new UsageError(`--output ${values.output}: unknown format; use a file ending in ${OUTPUT_EXTENSIONS.join(' ')}`);
  }
  const batchRows = values['batch-rows'] === undefined ? DEFAULT_BATCH_ROWS : Number(values['batch-rows']);
  if (!Number.isInteger(batchRows) || batchRows < 1) throw new UsageError(`--batch-rows must be a positive integer, got ${JSON.stringify(values['batch-rows'])}`);
  let params: CallParams = {};
  if (values.params !== undefined) {
    try {
      params = JSON.parse(values.params) as CallParams;
    } catch (err) {
      throw new UsageError(`--params is not JSON: ${(err as Error).message}`);
    }
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new UsageError('--params must be a JSON object');
  }
  const keep = (values.keep ?? []).flatMap((v) => v.split(',')).map((k) => k.trim());
  if (keep.some((k) => k === '')) throw new UsageError(`--keep takes column names, e.g. --keep id or --keep id,region; got ${JSON.stringify(values.keep)}`);
  return {
    uri, runner: runner!, input: values.input, batchRows, params, progress: Boolean(values.progress), keep,
    connection: connectOptionsFrom(values),
    ...(method !== undefined ? { method } : {}),
    ...(values.output !== undefined ? { output: values.output } : {}),
  };
}

/** The input schema the server declares for a method: a table input's column types live there. */
async function declaredSchema(client: RunnerClient, runner: string, sig: MethodSignature): Promise<Schema | undefined> {
  if (!tableInput(sig) || !(client.caller instanceof RemoteCaller)) return undefined;
  return client.caller.client.getSchema(FlightDescriptor.path(runner, sig.name));
}

/**
 * The input batches of the call, converted to the method's declared inputs. Columns to
 * keep are taken off each source batch first (into `kept`, one entry per batch, in order).
 */
async function inputBatches(source: InputSource, sig: MethodSignature, tableSchema: Schema | undefined, args: CallArgs, kept: KeptColumns[]): Promise<AsyncIterable<RecordBatch>> {
  if (source.namedArguments) {
    if (args.keep.length) {
      throw new UsageError(`--keep needs rows, and ${args.input} holds one object of named arguments; give an array of row objects (or .jsonl, .csv, .arrow, .parquet)`);
    }
    // One call's named arguments: the SDK's own encoding (one example, or a batch of them).
    let batch: RecordBatch;
    try {
      batch = encodeCall(sig, [source.namedArguments], args.params).batch;
    } catch (err) {
      throw FlightError.invalidArgument(`${args.input}: ${(err as Error).message}`);
    }
    return (async function* () { yield batch; })();
  }
  const take = (batch: RecordBatch): RecordBatch => {
    if (!args.keep.length) return batch;
    let taken: ReturnType<typeof takeKept>;
    try {
      taken = takeKept(batch, args.keep, sig);
    } catch (err) {
      throw new UsageError(`--keep: ${args.input}: ${(err as Error).message.replace(/^keep: /, '')}`);
    }
    kept.push(taken.kept);
    return taken.send;
  };
  const batches = source.batches(args.batchRows)[Symbol.asyncIterator]();
  // The first batch is read before the call starts, so a file that does not fit the
  // method fails with a clear message instead of a cancelled exchange.
  const first = await batches.next();
  if (first.done) return (async function* () {})();
  const firstSent = take(first.value);
  const convert = planInputs(sig, firstSent.schema, tableSchema);
  const firstInput = convert(firstSent);
  return (async function* () {
    yield firstInput;
    for (let next = await batches.next(); !next.done; next = await batches.next()) yield convert(take(next.value));
  })();
}

/** `flight-runner call`. */
export async function callCommand(argv: string[]): Promise<void> {
  const args = await parseCallArgs(argv);
  if (!args) {
    process.stdout.write(`${callHelp}\n`);
    return;
  }
  let client: RunnerClient | undefined;
  try {
    client = await connect(args.uri, args.connection);
    const runner = client.runner(args.runner);
    const handle = args.method === undefined ? runner : runner.method(args.method);
    const sig = handle.signature;
    if (args.keep.length) {
      try {
        checkKeep(runner.name, sig, args.keep);
      } catch (err) {
        throw new UsageError(`--${(err as Error).message}`);
      }
    }
    const tableSchema = await declaredSchema(client, runner.name, sig);
    const source = await openInput(args.input);
    const progress = new Progress({
      ...(source.totalRows !== undefined ? { total: source.totalRows } : {}),
      enabled: args.progress || Boolean(process.stderr.isTTY),
      inPlace: Boolean(process.stderr.isTTY),
      delayMs: args.progress ? 0 : 500,
    });
    const kept: KeptColumns[] = [];
    const input = await inputBatches(source, sig, tableSchema, args, kept);
    const caller = source.namedArguments ? handle : handle.withParams(args.params);
    const sink = openOutput(args.output);
    try {
      for await (const out of caller.stream(input, { arrow: true })) {
        // One answer per input batch, in order, row-aligned (docs/protocol.md).
        const batch = args.keep.length ? attachKept(kept.shift()!, out as RecordBatch) : out as RecordBatch;
        await sink.write(batch);
        progress.update(batch.numRows);
      }
    } finally {
      await sink.close();
    }
    progress.finish();
    const seconds = progress.elapsed;
    process.stderr.write(`${formatCount(progress.rows)} rows, ${progress.batches} batch${progress.batches === 1 ? '' : 'es'} in ${seconds.toFixed(2)} s`
      + ` (${formatCount(progress.rows / Math.max(seconds, 1e-3))} rows/s)${args.output ? ` -> ${args.output}` : ''}\n`);
  } catch (err) {
    throw withStatus(connectionError(args.uri, err));
  } finally {
    client?.close();
  }
}
