/**
 * A runner for the V2 suite: every V2 datatype in and out. `echo` returns each input as
 * it received it, and `seen` says, per row, what the runner got (64-bit integers as
 * exact digits, float16 as the number it encodes), so a test checks the values that
 * reached the runner against values it computes itself, not only a round trip.
 */
import { defineRunner, type Tensor, types, type DType } from '../../../../src/index.js';

const DTYPES: DType[] = ['bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64', 'float16', 'float32', 'float64'];

const text = (v: unknown): string => (Array.isArray(v) ? v.map(text).join(' ') : String(v));

/** A method taking (and returning) a tensor of 2 values per dtype, a string and bytes. */
function echo(dtypes: DType[], doc: string, isDefault = false) {
  const tensors = Object.fromEntries(dtypes.map((d) => [d, types.tensor(d, [2])]));
  return {
    ...(isDefault ? { default: true } : {}),
    doc,
    inputs: { ...tensors, text: types.string(), blob: types.bytes() },
    outputs: { ...tensors, text: types.string(), blob: types.bytes(), seen: types.string() },
    run: (args: Record<string, unknown>) => {
      const rows = (args['text'] as string[]).length;
      const seen = Array.from({ length: rows }, (_, i) => [
        ...dtypes.map((d) => `${d}=${text((args[d] as Tensor).row(i).toArray())}`),
        `text=${(args['text'] as string[])[i]}`,
        `blob=${Buffer.from((args['blob'] as Uint8Array[])[i]!).toString('hex')}`,
      ].join(';'));
      return { ...args, seen };
    },
  };
}

export default defineRunner({
  name: 'v2_types',
  methods: {
    echo: echo(DTYPES, 'Each input back as it came, and what each row held.', true),
    // FP16 has no typed contents list in V2: this one takes every other dtype, for typed requests.
    typed: echo(DTYPES.filter((d) => d !== 'float16'), 'As echo, without float16.'),
  },
});
