/**
 * V8 heap tuning for serving processes, which stream large Arrow messages through
 * Buffers (ArrayBuffers whose memory lies outside the V8 heap).
 *
 * Why: V8 counts the ArrayBuffer memory a process allocates and does not free in a
 * young-generation GC towards its old-generation limit, and sets that limit from the live
 * heap size. A server's live heap is small (~11 MB for `memory-server`), and V8 left it
 * ~9 MB of room: every ~9 MB of request messages that outlived a scavenge started a full
 * mark-compact GC. Measured on a 16 MiB-batch DoExchange echo from pyarrow: about one
 * full GC per batch (38 for 33 batches), whose marking threads burned more CPU than the
 * echo itself (3.5-4.6 s of server CPU per GiB echoed, pyarrow's C++ server 1.1-1.4).
 * With a growing factor of 4 the full GCs drop to what V8's fixed 64 MB external-memory
 * limit triggers (10-14 per 32 batches) and the CPU to 2.0-2.7 s per GiB
 * (bench/flight/README.md, "Issue #11 item 8").
 *
 * Memory stays bounded: the old generation may grow to 4x its live size before a full
 * GC (4 is the largest factor V8's own heuristics pick, for a heap whose GC is cheap;
 * for this small heap they picked ~1.8), V8 still caps the limit at halfway between the
 * live size and the heap's maximum, and ArrayBuffer memory still forces a full GC every
 * 64 MB.
 */
import { setFlagsFromString } from 'node:v8';

/** The heap growing factor set, as V8's --heap-growing-percent (300: the limit is 4x the live heap). */
export const HEAP_GROWING_PERCENT = 300;

/**
 * Sets V8's heap growing factor for this process, unless the process was started with
 * its own `--heap-growing-percent`. Returns the percent now in effect (undefined: V8's
 * own heuristics, left alone because the user chose).
 *
 * V8 reads this flag each time it recomputes the heap limit after a full GC, so setting
 * it once the process runs takes effect at the next one.
 */
export function tuneHeapForStreaming(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
