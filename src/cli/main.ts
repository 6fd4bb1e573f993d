/**
 * The `flight-runner` command: one subcommand per file, dispatched by name.
 */
import { ConfigError } from '../config/config-error.js';
import { UsageError } from './serve-process.js';
import { log } from '../util/log.js';

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

Run "flight-runner <command> --help" for a command's options.`;
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`flight-runner: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    process.exit(2);
  }
  const { help, run } = await command.load();
  try {
    await run(rest);
  } catch (err) {
    if (err instanceof ConfigError) {
      // The message names the file, the key and the fix: a stack would only bury it.
      process.stderr.write(`flight-runner ${name}: invalid configuration:\n${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`flight-runner ${name}: ${(err as Error).message}\n\n${help}\n`);
      process.exit(2);
    }
    log('error', 'command failed', { command: name, error: (err as Error).message });
    process.stderr.write(`flight-runner ${name}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
