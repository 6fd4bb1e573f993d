/**
 * The `flight-runner` command: one subcommand per file, dispatched by name.
 */
import { memoryServerCommand, memoryServerHelp } from './memory-server-command.js';
import { serveCommand, serveHelp } from './serve-command.js';
import { UsageError } from './serve-process.js';
import { log } from '../util/log.js';

interface Command {
  summary: string;
  help: string;
  run(argv: string[]): Promise<void>;
}

const commands: Record<string, Command> = {
  serve: {
    summary: 'serve runners (.onnx models, JS/TS modules, a YAML config) over Arrow Flight',
    help: serveHelp,
    run: serveCommand,
  },
  'memory-server': {
    summary: 'an in-memory Flight server (DoPut/DoGet/DoExchange echo), for trying clients',
    help: memoryServerHelp,
    run: memoryServerCommand,
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
  try {
    await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`flight-runner ${name}: ${(err as Error).message}\n\n${command.help}\n`);
      process.exit(2);
    }
    log('error', 'command failed', { command: name, error: (err as Error).message });
    process.stderr.write(`flight-runner ${name}: ${(err as Error).message}\n`);
    process.exit(1);
  }
}

await main(process.argv.slice(2));
