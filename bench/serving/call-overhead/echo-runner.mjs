/**
 * The JS runner of call-overhead.ts's (w) server: `echo` returns its input tensor
 * (`x`, float32 [32], what the loadgen sends) as `y`, so the runner itself costs next to
 * nothing and the server's CPU is the path a request takes to a JS runner and back.
 *
 * Plain JavaScript with no import: the same file serves any checkout (the bench's
 * --baseline one too), and each server's worker gets that server's own codecs. The
 * symbol is what defineRunner() sets on a definition (src/backends/js/define.ts).
 */
const tensor = { kind: 'tensor', dtype: 'float32', shape: [32] };

export default {
  [Symbol.for('flight-runner.js-runner')]: true,
  name: 'echo',
  methods: {
    echo: {
      default: true,
      inputs: { x: tensor },
      outputs: { y: tensor },
      run: ({ x }) => x,
    },
  },
};
