/**
 * What the kserve backend's client costs per call: a kserve runner's `invoke` (request
 * encoding, the gRPC unary call, the answer checked back into Arrow), called directly in
 * this process, against a V2 server in another process: `flight-runner serve` of
 * examples/models/mlp_small.onnx (the Open Inference Protocol on its Flight port), or any
 * V2 server given with --peer (Triton: `--peer 127.0.0.1:8001`).
 *
 * Reports client CPU per call (this process's user + system time over the run, every
 * thread, GC included) and latency p50/p99 at each concurrency. With --backend DIR,...
 * it measures several builds of the backend in the same run, alternating, e.g. the
 * current one against a copy of an older one placed beside it:
 *
 *   git show OLD:src/backends/kserve/... > src/backends/kserve-old/...   (see README.md)
 *   npx tsx bench/kserve/run.ts --backend src/backends/kserve,src/backends/kserve-old
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { valuesToBatch } from '../../src/codecs/columns.js';
import { Tensor, type Runner } from '../../src/index.js';

const { values: flags } = parseArgs({
  options: {
    peer: { type: 'string' },
    backend: { type: 'string', default: 'src/backends/kserve' },
    concurrency: { type: 'string', default: '1,8' },
    calls: { type: 'string', default: '3000' },
    rows: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
  },
});

const root = resolve(import.meta.dirname, '../..');

/** Starts `flight-runner serve` of mlp_small.onnx on a free port; resolves with its address and a stop function. */
async function startPeer(): Promise<{ address: string; stop: () => void }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', 'examples/models/mlp_small.onnx', '--port', '0', '--log-level', 'warn'], {
    cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`the peer exited with ${code}`)));
    lines.on('line', (line) => {
      const match = /listening on grpc:\/\/(\S+)/.exec(line);
      if (match) done(match[1]!);
    });
  });
  return { address, stop: () => child.kill('SIGTERM') };
}

interface Row { backend: string; concurrency: number; cpuUsPerCall: number; p50: number; p99: number; callsPerS: number }

async function measure(backend: string, runner: Runner, concurrency: number, calls: number, rows: number): Promise<Row> {
  const method = runner.methods[0]!;
  const batch = valuesToBatch(method.signature.inputs, {
    x: new Tensor('float32', Float32Array.from({ length: rows * 32 }, (_, i) => Math.sin(i)), [rows, 32]),
  });
  for (let i = 0; i < 200; i++) await method.invoke(batch, {}, {});
  const latencies: number[] = [];
  let left = calls;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (left-- > 0) {
      const t = performance.now();
      await method.invoke(batch, {}, {});
      latencies.push(performance.now() - t);
    }
  }));
  const wall = performance.now() - started;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    backend, concurrency,
    cpuUsPerCall: Math.round((used.user + used.system) / calls),
    p50: latencies[Math.floor(latencies.length / 2)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
    callsPerS: Math.round(calls / (wall / 1000)),
  };
}

const peer = flags.peer ? { address: flags.peer, stop: () => {} } : await startPeer();
try {
  const backends = flags.backend!.split(',');
  const runners = new Map<string, Runner>();
  for (const dir of backends) {
    const module = await import(resolve(root, dir, 'index.ts')) as { loadKserveRunner(o: object): Promise<Runner> };
    runners.set(dir, await module.loadKserveRunner({ url: peer.address, model: 'mlp_small' }));
  }
  const rows: Row[] = [];
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const concurrency of flags.concurrency!.split(',').map(Number)) {
      for (const dir of backends) rows.push(await measure(dir, runners.get(dir)!, concurrency, Number(flags.calls), Number(flags.rows)));
    }
  }
  console.log(`mlp_small, ${flags.rows} row(s) per call, ${flags.calls} calls per row, peer ${flags.peer ?? 'flight-runner serve (V2 on its Flight port)'}`);
  console.log('backend                         conc  cpu us/call   p50 ms   p99 ms  calls/s');
  for (const r of rows) {
    console.log(`${r.backend.padEnd(30)} ${String(r.concurrency).padStart(5)} ${String(r.cpuUsPerCall).padStart(12)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)} ${String(r.callsPerS).padStart(8)}`);
  }
  for (const runner of runners.values()) await runner.close?.();
} finally {
  peer.stop();
}
