/**
 * A relayed call end to end: a Flight client (the SDK) calls `flight-runner serve` whose
 * kserve runner relays to a second `flight-runner serve` of examples/models/mlp_small.onnx
 * (the V2 peer), beside the same client calling the peer directly over Flight. Reports
 * latency p50/p99, calls/s and the CPU per call of the serving process (the relay's own,
 * or the peer's for the direct rows), at concurrency 1 and 8. The relay has one instance
 * and batching off, so each call is one ModelInfer.
 *
 *   npx tsx bench/kserve/relay.ts [--calls 2000] [--instances 1]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect, Tensor } from '../../src/index.js';

const { values: flags } = parseArgs({ options: { calls: { type: 'string', default: '2000' }, instances: { type: 'string', default: '1' } } });
const root = resolve(import.meta.dirname, '../..');

interface Served { address: string; pid: number; stop: () => void }

/** `flight-runner serve ARGS` from the sources, once it listens. */
function serve(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', ...args, '--port', '0', '--log-level', 'warn'], {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((done, fail) => {
    child.once('exit', (code) => fail(new Error(`flight-runner serve ${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /listening on (grpc:\/\/\S+)/.exec(line);
      if (match) done({ address: match[1]!, pid: child.pid!, stop: () => child.kill('SIGTERM') });
    });
  });
}

/** CPU time (user + system) of a process so far, in microseconds. */
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const work = mkdtempSync(join(tmpdir(), 'bench-kserve-'));
const peer = await serve(['examples/models/mlp_small.onnx']);
let relay: Served | undefined;
try {
  const config = join(work, 'relay.yaml');
  writeFileSync(config, [
    'runners:', `  - path: ${peer.address}`, '    backend: kserve', '    name: relay', '    options: { model: mlp_small }',
    '    scheduling:', '      batching: { enabled: false }', `      instances: { count: ${Number(flags.instances)} }`, '',
  ].join('\n'));
  relay = await serve([config]);
  const x = new Tensor('float32', new Float32Array(32).fill(0.25), [1, 32]);
  const calls = Number(flags.calls);
  console.log(`mlp_small, one row per call, ${calls} calls per row; relay: ${flags.instances} instance(s), batching off`);
  console.log('path     conc   p50 ms   p99 ms  calls/s  server cpu us/call');
  for (const [label, target, runner] of [['direct', peer, 'mlp_small'], ['relay', relay, 'relay']] as const) {
    const client = await connect(target.address);
    const handle = client.runner(runner);
    // Also waits for the relay's runner to load.
    for (let i = 0; i < 300; i++) {
      try { await handle.run({ x }); } catch (err) { if (i > 200) throw err; await new Promise((r) => setTimeout(r, 50)); }
    }
    for (const concurrency of [1, 8]) {
      const latencies: number[] = [];
      let left = calls;
      const cpu = cpuUs(target.pid);
      const started = performance.now();
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (left-- > 0) {
          const t = performance.now();
          await handle.run({ x });
          latencies.push(performance.now() - t);
        }
      }));
      const wall = performance.now() - started;
      const used = cpuUs(target.pid) - cpu;
      latencies.sort((a, b) => a - b);
      console.log(`${label.padEnd(8)} ${String(concurrency).padStart(4)} ${latencies[calls >> 1]!.toFixed(2).padStart(8)} ${latencies[Math.floor(calls * 0.99)]!.toFixed(2).padStart(8)} ${String(Math.round(calls / (wall / 1000))).padStart(8)} ${String(Math.round(used / calls)).padStart(19)}`);
    }
    client.close();
  }
} finally {
  relay?.stop();
  peer.stop();
  rmSync(work, { recursive: true, force: true });
}
