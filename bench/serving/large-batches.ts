/**
 * `npx tsx bench/serving/large-batches.ts`: scoring large batches through `serve`, the
 * data teams' case: a pyarrow client streams batches of mlp_small's input (16 MiB each by
 * default) through one DoExchange while it reads the answers. Reported per server: input
 * MiB/s and server CPU seconds per GiB (all threads, /proc), medians over repetitions that
 * alternate the servers. The model's own work (onnxruntime, one thread) is most of it; what
 * is left is the transport, the codec and the garbage collector.
 *
 * Flags: --reps N (5), --batch-mib N (16), --total-mib N (512), --baseline DIR (another
 * built checkout served the same way, measured in the same repetitions, for before/after).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuSeconds, runToEnd, startServer, type ServerProcess } from '../flight/servers.js';
import { fmt, median, table } from '../flight/stats.js';
import { root, runnerConfig } from './harness.js';

const { values: flags } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    'batch-mib': { type: 'string', default: '16' },
    'total-mib': { type: 'string', default: '512' },
    baseline: { type: 'string' },
  },
});

const python = existsSync(join(root, '.venv/bin/python')) ? join(root, '.venv/bin/python') : 'python3';
const client = join(root, 'bench/serving/large_batch_client.py');

interface Samples { mibPerS: number[]; cpuPerGiB: number[] }

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-large-batches-'));
  const config = join(work, 'mlp.yaml');
  // One in-process instance, batching off: each batch is one onnxruntime run on one thread.
  writeFileSync(config, runnerConfig(join(root, 'examples/models/mlp_small.onnx'), 1, 'in-process', { enabled: false }));
  const serve = (checkout: string) => [join(checkout, 'bin/flight-runner.js'), 'serve', config, '--port', '0', '--log-level', 'warn'];
  const servers: { label: string; process: ServerProcess; samples: Samples }[] = [];
  try {
    servers.push({ label: 'this checkout', process: await startServer('this checkout', process.execPath, serve(root)), samples: { mibPerS: [], cpuPerGiB: [] } });
    if (flags.baseline) {
      servers.push({ label: 'baseline', process: await startServer('baseline', process.execPath, serve(resolve(flags.baseline))), samples: { mibPerS: [], cpuPerGiB: [] } });
    }
    const args = (location: string, totalMib: string) => [client, location, '--batch-mib', flags['batch-mib']!, '--total-mib', totalMib];
    // Warm-up: code paths, allocators, ort's arena.
    for (const s of servers) await runToEnd(python, args(s.process.location, String(4 * Number(flags['batch-mib']))));
    const reps = Number(flags.reps);
    for (let rep = 0; rep < reps; rep++) {
      for (const s of rep % 2 ? [...servers].reverse() : servers) {
        const pid = s.process.child.pid!;
        const before = cpuSeconds(pid);
        const result = JSON.parse(await runToEnd(python, args(s.process.location, flags['total-mib']!))) as { batches: number; batch_mib: number; mib_per_s: number };
        const after = cpuSeconds(pid);
        s.samples.mibPerS.push(result.mib_per_s);
        if (before !== undefined && after !== undefined) s.samples.cpuPerGiB.push((after - before) / ((result.batches * result.batch_mib) / 1024));
      }
      process.stderr.write(`  repetition ${rep + 1}/${reps} done\n`);
    }
  } finally {
    for (const s of servers) await s.process.stop();
    rmSync(work, { recursive: true, force: true });
  }
  const rows = [['server', 'input MiB/s', 'server CPU s per GiB']];
  for (const s of servers) rows.push([s.label, fmt(median(s.samples.mibPerS), 0), fmt(median(s.samples.cpuPerGiB), 2)]);
  process.stdout.write(`${table(rows)}\n(mlp_small, ${flags['batch-mib']} MiB batches, ${flags['total-mib']} MiB per repetition, medians of ${flags.reps} repetitions${flags.baseline ? `; baseline: ${resolve(flags.baseline)}` : ''})\n`);
}

await main();
