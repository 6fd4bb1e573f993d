/**
 * CLI cold start: wall time of `flight-runner --help` (and `--version`, and `list` against
 * a port nothing listens on) from the built package (bin/flight-runner.js -> dist/),
 * against `node -e 0` (the floor: starting Node itself) and against the CLI run from the
 * sources through tsx (how bin/ ran before the package was compiled). Runs alternate, so
 * the shared machine's noise falls on all of them alike; medians of --runs (default 9).
 *
 *   npm run bench:cli [-- --runs 15]
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '9' } } });
const runs = Number(values.runs);

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const down = `grpc://127.0.0.1:${await closedPort()}`;
const bin = join(root, 'bin/flight-runner.js');
const sources = ['--import', 'tsx', join(root, 'src/cli/main.ts')];
const cases: [string, string[], number][] = [
  ['node -e 0', ['-e', '0'], 0],
  ['flight-runner --help (dist)', [bin, '--help'], 0],
  ['flight-runner --version (dist)', [bin, '--version'], 0],
  [`flight-runner list <down server> (dist)`, [bin, 'list', down], 1],
  ['flight-runner --help (src via tsx, before)', [...sources, '--help'], 0],
  [`flight-runner list <down server> (src via tsx, before)`, [...sources, 'list', down], 1],
];

const times = new Map<string, number[]>(cases.map(([name]) => [name, []]));
for (let r = 0; r < runs; r++) {
  for (const [name, args, expected] of cases) {
    const start = process.hrtime.bigint();
    const result = spawnSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.status !== expected) throw new Error(`${name} exited ${result.status}: ${result.stderr.toString()}`);
    times.get(name)!.push(ms);
  }
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const floor = median(times.get('node -e 0')!);
const width = Math.max(...cases.map(([n]) => n.length));
console.log(`node ${process.version}, ${runs} runs each, medians (ms)\n`);
console.log(`${'command'.padEnd(width)}  median ms    min ms  minus node -e 0`);
for (const [name] of cases) {
  const xs = times.get(name)!;
  console.log(`${name.padEnd(width)}  ${median(xs).toFixed(0).padStart(9)}  ${Math.min(...xs).toFixed(0).padStart(8)}  ${(median(xs) - floor).toFixed(0).padStart(15)}`);
}
