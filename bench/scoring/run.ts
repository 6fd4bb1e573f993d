/**
 * The scoring benchmark: rows/s and peak RSS scoring a generated file (2M rows by default,
 * as CSV and as Parquet) with iris.onnx's predict_proba, keeping the id column, four ways
 * in the same run:
 *
 * - `flight-runner call URI iris/predict_proba --input FILE --keep id --output out.arrow`
 * - the SDK: sdk_score.ts (stream() with keep: ['id'], arrow: true)
 * - pandas + onnxruntime in one process (python_score.py pandas)
 * - pyarrow Flight calls to the same server (python_score.py flight)
 *
 * Every way writes id + probabilities to an Arrow IPC file; the outputs' checksums (sums of
 * ids, of the first probability, and of (id mod 1009) * that probability, which catches an id
 * on another row's score) must agree. Each way runs --runs times per format, in
 * a rotating order; the tables give medians. Client peak RSS comes from GNU time (%M);
 * the server's from its VmHWM, reset (clear_refs) before each run that uses it.
 *
 *   npx tsx bench/scoring/run.ts [--rows 2000000] [--runs 3] [--dir /tmp/...]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tableFromIPC } from 'apache-arrow';
import { median, table } from '../flight/stats.js';
import { here, root, startServer, stopServer } from '../serving/harness.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '2000000' }, runs: { type: 'string', default: '3' }, dir: { type: 'string' } },
});
const rows = Number(values.rows);
const runs = Number(values.runs);
const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'flight-runner-scoring-'));
const python = join(root, '.venv/bin/python');
const model = join(root, 'examples/models/iris.onnx');

/** One timed run of one way on one file. */
interface Sample {
  wallSeconds: number;
  /** The way's own time from reading to written (after process start and imports). */
  innerSeconds: number;
  clientRssMB: number;
  serverRssMB?: number;
  /** Sums of ids, of the first probability, and of (id mod 1009) * that probability (catches ids on the wrong rows). */
  checksum: { ids: number; p0: number; joined: number };
}

/** Runs a command under GNU time; resolves with its stdout, stderr, wall time and peak RSS. */
async function timed(command: string, args: string[]): Promise<{ stdout: string; stderr: string; wall: number; rssMB: number }> {
  const started = performance.now();
  const child = spawn('/usr/bin/time', ['-f', 'peak_rss_kb=%M', command, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const [code] = (await once(child, 'exit')) as [number | null];
  const wall = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${stderr}`);
  const kb = Number(/peak_rss_kb=(\d+)/.exec(stderr)?.[1]);
  return { stdout, stderr, wall, rssMB: kb / 1024 };
}

/** The checksum of an Arrow IPC output with an `id` column and a `probabilities` tensor column. */
function arrowChecksum(path: string): Sample['checksum'] {
  const t = tableFromIPC(readFileSync(path));
  let ids = 0n;
  let p0 = 0;
  let joined = 0;
  for (const batch of t.batches) {
    const idColumn = batch.getChild('id')!.toArray() as BigInt64Array;
    const p = batch.getChild('probabilities')!.data[0]!.children[0]!.values as Float32Array;
    for (let i = 0; i < batch.numRows; i++) {
      ids += idColumn[i]!;
      p0 += p[i * 3]!;
      joined += Number(idColumn[i]! % 1009n) * p[i * 3]!;
    }
  }
  return { ids: Number(ids), p0, joined };
}

const serverHwmMB = (pid: number): number => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const resetHwm = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, '5');

type Way = 'flight-runner call' | 'SDK stream()' | 'pandas + onnxruntime' | 'pyarrow Flight -> our server';
const ways: Way[] = ['flight-runner call', 'SDK stream()', 'pandas + onnxruntime', 'pyarrow Flight -> our server'];

process.stderr.write(`generating ${rows.toLocaleString()} rows in ${dir}\n`);
await timed(python, [join(here, '../scoring/generate.py'), dir, String(rows)]);
const config = join(dir, 'serve.yaml');
writeFileSync(config, [
  'server: { host: 127.0.0.1, port: 0 }',
  'runners:',
  `  - path: ${JSON.stringify(model)}`,
  '    options:',
  '      intraOpNumThreads: 1',
  '      methods:',
  '        predict: { outputs: [label], default: true }',
  '        predict_proba: { outputs: [probabilities] }',
  '',
].join('\n'));
const server = await startServer('flight-runner', 'flight-runner serve', process.execPath, [join(root, 'bin/flight-runner.js'), 'serve', config]);
const uri = `grpc://${server.address}`;
const serverPid = server.child.pid!;

async function once1(way: Way, input: string): Promise<Sample> {
  const output = join(dir, `out-${way.split(' ')[0]}.arrow`);
  const usesServer = way !== 'pandas + onnxruntime';
  if (usesServer) resetHwm(serverPid);
  let result: Awaited<ReturnType<typeof timed>>;
  let innerSeconds: number;
  let checksum: Sample['checksum'];
  switch (way) {
    case 'flight-runner call': {
      result = await timed(process.execPath, [join(root, 'bin/flight-runner.js'), 'call', uri, 'iris/predict_proba', '--input', input, '--keep', 'id', '--output', output]);
      innerSeconds = Number(/ in ([\d.]+) s/.exec(result.stderr)![1]);
      checksum = arrowChecksum(output);
      break;
    }
    case 'SDK stream()': {
      result = await timed(process.execPath, ['--import', 'tsx', join(here, '../scoring/sdk_score.ts'), uri, input, output]);
      const printed = JSON.parse(result.stdout.trim()) as { seconds: number; checksum: Sample['checksum'] };
      innerSeconds = printed.seconds;
      checksum = arrowChecksum(output);
      break;
    }
    default: {
      const mode = way === 'pandas + onnxruntime' ? ['pandas', model] : ['flight', uri];
      result = await timed(python, [join(here, '../scoring/python_score.py'), mode[0]!, mode[1]!, input, output]);
      const printed = JSON.parse(result.stdout.trim()) as { rows: number; seconds: number; checksum: Sample['checksum'] };
      if (printed.rows !== rows) throw new Error(`${way}: ${printed.rows} rows, expected ${rows}`);
      innerSeconds = printed.seconds;
      checksum = printed.checksum;
    }
  }
  return {
    wallSeconds: result.wall, innerSeconds, clientRssMB: result.rssMB, checksum,
    ...(usesServer ? { serverRssMB: serverHwmMB(serverPid) } : {}),
  };
}

const samples = new Map<string, Sample[]>();
try {
  for (const format of ['csv', 'parquet']) {
    const input = join(dir, `flowers.${format}`);
    for (let r = 0; r < runs; r++) {
      // A rotating order, so no way always runs first (cold caches) or last.
      for (let k = 0; k < ways.length; k++) {
        const way = ways[(k + r) % ways.length]!;
        const sample = await once1(way, input);
        process.stderr.write(`${format} run ${r + 1}/${runs} ${way}: ${sample.wallSeconds.toFixed(1)} s wall, ${sample.innerSeconds.toFixed(1)} s inner, `
          + `${sample.clientRssMB.toFixed(0)} MB${sample.serverRssMB !== undefined ? ` (server ${sample.serverRssMB.toFixed(0)} MB)` : ''}\n`);
        const key = `${format}\t${way}`;
        samples.set(key, [...(samples.get(key) ?? []), sample]);
      }
    }
  }
} finally {
  await stopServer(server);
}

// Every way must have produced the same scores for the same rows.
const all = [...samples.values()].flat();
const reference = all[0]!.checksum;
const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.abs(b) + 1e-3;
const mismatch = all.find((s) => s.checksum.ids !== reference.ids || !close(s.checksum.p0, reference.p0) || !close(s.checksum.joined, reference.joined));
if (mismatch) throw new Error(`outputs differ: ${JSON.stringify(mismatch.checksum)} vs ${JSON.stringify(reference)}`);

const header = ['input', 'way', 'rows/s (wall)', 'rows/s (after start)', 'client peak RSS MB', 'server peak RSS MB'];
const lines = [...samples.entries()].map(([key, s]) => {
  const [format, way] = key.split('\t') as [string, string];
  const server = s.filter((x) => x.serverRssMB !== undefined).map((x) => x.serverRssMB!);
  return [
    format, way,
    Math.round(rows / median(s.map((x) => x.wallSeconds))).toLocaleString('en-US'),
    Math.round(rows / median(s.map((x) => x.innerSeconds))).toLocaleString('en-US'),
    median(s.map((x) => x.clientRssMB)).toFixed(0),
    server.length ? median(server).toFixed(0) : '-',
  ];
});
console.log(`${rows.toLocaleString('en-US')} rows, medians of ${runs} runs; outputs agree (sum of ids ${reference.ids}, sum of p0 ${reference.p0.toFixed(3)}, `
  + `sum of (id mod 1009) * p0 ${reference.joined.toFixed(1)})\n`);
console.log(table([header, ...lines]));
console.log('\nmarkdown:\n');
console.log(`| ${header.join(' | ')} |\n|${header.map(() => ' --- ').join('|')}|`);
for (const l of lines) console.log(`| ${l.join(' | ')} |`);
if (!values.dir) rmSync(dir, { recursive: true, force: true });
