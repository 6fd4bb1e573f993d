// Check that every model in expected.json loads in onnxruntime-node and that its
// outputs match the Python onnxruntime results stored there.
//
//   node examples/models/verify_node.cjs
//
// Exits non-zero on any mismatch.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const dir = __dirname;
const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));

// float <-> IEEE half conversion (Node 20 has no Float16Array).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h += 1;
  return sign | h;
}
function fromHalf(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

function makeTensor(spec) {
  switch (spec.dtype) {
    case 'float32':
      return new ort.Tensor('float32', Float32Array.from(spec.data), spec.shape);
    case 'float16':
      return new ort.Tensor('float16', Uint16Array.from(spec.data.map(toHalf)), spec.shape);
    case 'int64':
      return new ort.Tensor('int64', BigInt64Array.from(spec.data.map(BigInt)), spec.shape);
    case 'string':
      return new ort.Tensor('string', spec.data.slice(), spec.shape);
    default:
      throw new Error(`unsupported dtype ${spec.dtype}`);
  }
}

function toNumbers(t) {
  if (t.type === 'float16') {
    // onnxruntime-node returns float16 data as Uint16Array (raw bits)
    return Array.from(t.data, fromHalf);
  }
  return Array.from(t.data, Number);
}

async function main() {
  let failures = 0;
  for (const [key, m] of Object.entries(expected.models)) {
    const session = await ort.InferenceSession.create(path.join(dir, m.file));
    const feeds = {};
    for (const [name, spec] of Object.entries(m.inputs)) feeds[name] = makeTensor(spec);
    const results = await session.run(feeds);
    const names = session.outputNames.join(',');
    for (const [name, spec] of Object.entries(m.outputs)) {
      const t = results[name];
      const problems = [];
      if (!t) problems.push('missing output');
      else {
        if (t.type !== spec.dtype) problems.push(`dtype ${t.type} != ${spec.dtype}`);
        if (JSON.stringify(t.dims) !== JSON.stringify(spec.shape))
          problems.push(`shape ${JSON.stringify(t.dims)} != ${JSON.stringify(spec.shape)}`);
        const tol = expected.tolerance[spec.dtype];
        let maxDiff = 0;
        // Strings match exactly (a difference counts as Infinity); numbers within tolerance.
        const got = t.type === 'string' ? Array.from(t.data) : toNumbers(t);
        for (let i = 0; i < spec.data.length; i++) {
          maxDiff = Math.max(maxDiff, t.type === 'string' ? (got[i] === spec.data[i] ? 0 : Infinity) : Math.abs(got[i] - spec.data[i]));
        }
        if (got.length !== spec.data.length) problems.push(`length ${got.length} != ${spec.data.length}`);
        if (!(maxDiff <= tol)) problems.push(`max abs diff ${maxDiff} > ${tol}`);
        console.log(
          `${problems.length ? 'FAIL' : 'ok  '} ${key}.${name} ${t.type}[${t.dims}] max|diff|=${maxDiff.toExponential(2)} (tol ${tol})` +
            (problems.length ? ' -- ' + problems.join('; ') : ''),
        );
      }
      if (problems.length) failures++;
    }
    console.log(`     ${key}: inputs=[${session.inputNames}] outputs=[${names}]`);
    if (typeof session.release === 'function') await session.release();
  }
  if (failures) {
    console.error(`${failures} output(s) did not match`);
    process.exit(1);
  }
  console.log('all outputs match expected.json');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
