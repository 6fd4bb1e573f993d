/**
 * The `flight-runner` command: one subcommand per file, dispatched by name.
 *
 * Every error ends here as ONE line on stderr (`flight-runner <command>: <message>`), no
 * stack trace: exit 2 for a mistake on the command line (with the command's usage line),
 * 1 for anything else. Set FLIGHT_RUNNER_LOG_LEVEL=debug to also get the stack.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/config-error.js';
import { isUsageError } from './cli-errors.js';

/** A subcommand, loaded only when it runs: `list` need not load onnxruntime or danfo. */
interface Command {
  summary: string;
  load(): Promise<{ help: string; run(argv: string[]): Promise<void> }>;
}

const commands: Record<string, Command> = {
  serve: {
    summary: 'serve runners (.onnx models, JS/TS modules, a YAML config) over Arrow Flight',
    load: async () => { const m = await import('./serve-command.js'); return { help: m.serveHelp, run: m.serveCommand }; },
  },
  list: {
    summary: 'list the runners and methods of a server, with their inputs and outputs',
    load: async () => { const m = await import('./list-command.js'); return { help: m.listHelp, run: m.listCommand }; },
  },
  call: {
    summary: 'stream a file (JSON, CSV, Arrow, Parquet) through a runner method, write the results',
    load: async () => { const m = await import('./call-command.js'); return { help: m.callHelp, run: m.callCommand }; },
  },
  'memory-server': {
    summary: 'an in-memory Flight server (DoPut/DoGet/DoExchange echo), for trying clients',
    load: async () => { const m = await import('./memory-server-command.js'); return { help: m.memoryServerHelp, run: m.memoryServerCommand }; },
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: flight-runner <command> [options]

Serve and call ML models ("runners") over Apache Arrow Flight.

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help
  -V, --version  print the version of flight-runner

Run "flight-runner <command> --help" for a command's options.`;
}

/**
 * The version in this package's package.json. The file sits two levels up from
 * src/cli/ and three from dist/src/cli/, so look upwards for it.
 */
function packageVersion(): string {
  for (let dir = new URL('./', import.meta.url); ; dir = new URL('../', dir)) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'flight-runner' && pkg.version) return pkg.version;
    } catch {
      // no package.json at this level: keep looking
    }
    if (dir.pathname === '/') return 'unknown';
  }
}

/** Writes one error line (and, with FLIGHT_RUNNER_LOG_LEVEL=debug, the stack) and exits. */
function fail(prefix: string, err: unknown, code: number, extra = ''): never {
  const message = err instanceof Error ? err.message : String(err);
  const stack = process.env['FLIGHT_RUNNER_LOG_LEVEL'] === 'debug' && err instanceof Error && err.stack ? `\n${err.stack}` : '';
  process.stderr.write(`${prefix}: ${message}${extra}${stack}\n`);
  process.exit(code);
}

/**
 * grpc-js passes an IP address as the TLS server name when dialling grpc+tls://127.0.0.1:P,
 * and Node warns about it (DEP0123) on stderr, before the command's own output. The
 * connection is fine (the certificate is checked against the IP), so the CLI drops
 * that one warning; every other warning still prints.
 */
function dropTlsServerNameWarning(): void {
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((...args: unknown[]) => {
    const [, typeOrOptions, code] = args;
    const warningCode = typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as { code?: string }).code : code;
    if (warningCode !== 'DEP0123') emit(...args);
  }) as typeof process.emitWarning;
}

async function main(argv: string[]): Promise<void> {
  dropTlsServerNameWarning();
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  if (name === '-V' || name === '--version' || name === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`flight-runner: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    process.exit(2);
  }
  let help = '';
  try {
    const loaded = await command.load();
    help = loaded.help;
    await loaded.run(rest);
  } catch (err) {
    // The message names the file, the key and the fix: a stack would only bury it.
    if (err instanceof ConfigError) fail(`flight-runner ${name}`, new Error(`invalid configuration:\n${err.message}`), 2);
    if (isUsageError(err)) {
      // The usage line, not the whole help: the error stays on screen.
      const usageLine = help.split('\n', 1)[0];
      fail(`flight-runner ${name}`, err, 2, `\n\n${usageLine}\nRun "flight-runner ${name} --help" for the options.`);
    }
    fail(`flight-runner ${name}`, err, 1);
  }
}

await main(process.argv.slice(2));
