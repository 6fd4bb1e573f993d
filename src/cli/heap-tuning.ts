/**
 * V8 heap tuning for serving processes, which stream large Arrow messages through
 * Buffers (ArrayBuffers whose memory lies outside the V8 heap).
 *
 * Why: V8 counts the ArrayBuffer memory a process allocates and does not free in a
 * young-generation GC towards its old-generation limit, and sets that limit from the live
 * heap size. A server's live heap is small (~11 MB for `memory-server` when this was
 * measured; ~8.5 MB since it stopped loading the Flight client), and V8 left it ~9 MB of
 * room: every ~9 MB of request messages that outlived a scavenge started a full
 * mark-compact GC. Measured on a 16 MiB-batch DoExchange echo from pyarrow: about one
 * full GC per batch (38 for 33 batches), whose marking threads burned more CPU than the
 * echo itself (3.5-4.6 s of server CPU per GiB echoed, pyarrow's C++ server 1.1-1.4).
 * With the heap given 64 MB of room (or 4x, whichever is more) the full GCs drop to what
 * V8's fixed 64 MB external-memory limit triggers and the server's CPU per GiB by 30-65%
 * (bench/flight/README.md, "Issue #11 item 8").
 *
 * Memory stays bounded: a small heap may grow by 64 MB before a full GC, a large one to
 * 4x its live size (the largest factor V8's own heuristics pick, for a heap whose GC is
 * cheap; for the 11 MB heap they picked ~1.8); V8 still caps the limit at halfway between
 * the live size and the heap's maximum, and ArrayBuffer memory still forces a full GC
 * every 64 MB.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/**
 * Room the heap should have above its live size before a full GC: V8's fixed
 * external-memory step (64 MB), so that ArrayBuffer memory, not the old-generation
 * limit of a small heap, sets the pace of full GCs.
 */
export const HEAP_ROOM_BYTES = 64 * 1024 * 1024;
/** The least growing factor set, as a percent over the live size: 4x, the largest V8's own heuristics pick. */
export const MIN_HEAP_GROWING_PERCENT = 300;
/** The most: 10x (for live heaps under ~7 MB, whose room is then below HEAP_ROOM_BYTES). */
export const MAX_HEAP_GROWING_PERCENT = 900;

/**
 * The growing percent for a heap of `liveBytes`: enough for HEAP_ROOM_BYTES of room,
 * at least MIN_HEAP_GROWING_PERCENT, at most MAX_HEAP_GROWING_PERCENT. A large heap
 * gets 4x, which it may also get from V8 itself.
 */
export function heapGrowingPercent(liveBytes: number): number {
  const wanted = Math.ceil((HEAP_ROOM_BYTES / Math.max(liveBytes, 1)) * 100);
  return Math.min(MAX_HEAP_GROWING_PERCENT, Math.max(MIN_HEAP_GROWING_PERCENT, wanted));
}

/**
 * Sets V8's heap growing factor for this process from its heap size now (call it once
 * the process has loaded what it serves), unless the process was started with its own
 * `--heap-growing-percent`. Returns the percent set (undefined: left to the user's flag).
 *
 * V8 reads this flag each time it recomputes the heap limit after a full GC, so setting
 * it once the process runs takes effect at the next one.
 */
export function tuneHeapForStreaming(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent\b/.test(arg))) return undefined;
  const percent = heapGrowingPercent(getHeapStatistics().used_heap_size);
  setFlagsFromString(`--heap-growing-percent=${percent}`);
  return percent;
}
