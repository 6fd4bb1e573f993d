/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): busy share of the window, the top
 * functions by self time, and self time grouped by where the code lives (grpc-js,
 * apache-arrow, onnxruntime, our src/ folders, node internals, GC).
 *
 *   npx tsx bench/serving/profile-summary.ts /tmp/prof/a/CPU...cpuprofile [--top 30] [--last S]
 *
 * `--last S` keeps only the profile's last S seconds: the steady state of a benchmark run
 * that ends the server right after the load stops, without its start-up.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [--top N]');
const top = Number(process.argv[process.argv.indexOf('--top') + 1]) || 30;
const lastUs = process.argv.includes('--last') ? Number(process.argv[process.argv.indexOf('--last') + 1]) * 1e6 : Infinity;
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const end = profile.timeDeltas.reduce((a, b) => a + b, 0);
const self = new Map<number, number>();
const inclusive = new Map<string, number>();
let total = 0;
let t = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i] ?? 0;
  t += dt;
  if (end - t > lastUs) continue;
  total += dt;
  const id = profile.samples[i]!;
  self.set(id, (self.get(id) ?? 0) + dt);
  // Inclusive time: once per distinct function on the sample's stack.
  const seen = new Set<string>();
  for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
    const f = byId.get(n)!.callFrame;
    const key = `${f.functionName || '(anonymous)'}  ${f.url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${f.lineNumber + 1}`;
    if (seen.has(key)) continue;
    seen.add(key);
    inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
  }
}

/** Where a function lives, for grouping. */
function area(node: Node): string {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return '(idle)';
  if (functionName === '(garbage collector)') return '(gc)';
  if (functionName === '(program)') return '(program: native, outside JS)';
  const m = /node_modules\/(@[^/]+\/[^/]+|[^/]+)/.exec(url);
  if (m) return m[1]!;
  const s = /\/src\/([^/]+)\//.exec(url);
  if (s) return `src/${s[1]}`;
  if (url.startsWith('node:')) return 'node internals';
  if (!url) return `native: ${functionName || '(anonymous)'}`;
  return url.replace(/^file:\/\//, '');
}

const fnSelf = new Map<string, number>();
const areaSelf = new Map<string, number>();
for (const [id, us] of self) {
  const node = byId.get(id)!;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || '(anonymous)'}  ${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`;
  fnSelf.set(key, (fnSelf.get(key) ?? 0) + us);
  const a = area(node);
  areaSelf.set(a, (areaSelf.get(a) ?? 0) + us);
}
const idle = areaSelf.get('(idle)') ?? 0;
const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
console.log(`window ${(total / 1e6).toFixed(2)} s, busy ${((100 * busy) / total).toFixed(0)}% (percentages below are of busy time)`);
console.log('\nself time by area:');
for (const [a, us] of [...areaSelf].filter(([a]) => a !== '(idle)').sort((x, y) => y[1] - x[1]).slice(0, 20)) console.log(`${pct(us)}  ${a}`);
console.log(`\ntop ${top} functions by self time:`);
for (const [k, us] of [...fnSelf].filter(([k]) => !k.startsWith('(idle)')).sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
console.log(`\ntop ${top} functions by inclusive time:`);
for (const [k, us] of [...inclusive].filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(root)')).sort((x, y) => y[1] - x[1]).slice(0, top)) console.log(`${pct(us)}  ${k}`);
