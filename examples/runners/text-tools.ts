/**
 * A JS runner over strings and JSON objects: strings in, JSON objects out, and a
 * call-level parameter (`lowercase`).
 */
import { defineRunner, types } from 'flight-runner';

export default defineRunner({
  name: 'text_tools',
  methods: {
    stats: {
      default: true,
      doc: 'Per text: character count, word count and the most frequent word.',
      inputs: { text: types.string() },
      outputs: { stats: types.json() },
      run: ({ text }, params) => (text as string[]).map((t) => {
        const source = params['lowercase'] === false ? t : t.toLowerCase();
        const words = source.split(/\W+/).filter(Boolean);
        const counts = new Map<string, number>();
        for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
        const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
        return { chars: t.length, words: words.length, top: top ? top[0] : null };
      }),
    },
    concat: {
      doc: 'Not batchable: joins every text of the batch into one string.',
      batchable: false,
      inputs: { text: types.string() },
      outputs: { joined: types.string() },
      run: ({ text }, params) => [(text as string[]).join(String(params['separator'] ?? ' '))],
    },
  },
});
