/**
 * Adaptive batching for one runner method (docs/scheduling.md). Calls queue as row
 * ranges; whenever an instance is idle, the batcher takes queued calls in arrival order
 * up to `maxBatchRows` rows, merges them into one backend call, and slices the output
 * back to each caller. A call larger than `maxBatchRows` is split into pieces that may
 * run on several instances at once. The queue is bounded in rows: when full, a new call
 * fails at once with RESOURCE_EXHAUSTED; so does a call that, by the learned cost of the
 * work queued and running ahead of it, cannot finish within its deadline. Calls whose
 * deadline passed (or will pass before the model could answer them), or that were
 * cancelled, are dropped before they cost model time.
 */
import type { FixedSizeList, RecordBatch, Schema, Vector } from 'apache-arrow';
import { concatBatches } from '../codecs/concat.js';
import { isVariableShapeStorage } from '../codecs/tensor.js';
import { FlightError, Status } from '../flight/index.js';
import { sliceBatch } from '../flight/record-batch.js';
import type { CallCancellation, CancellationWatcher } from '../runner/cancellation.js';
import type { CallParams, InvokeContext, Runner, RunnerMethod } from '../runner/runner.js';
import { ArrivalRate, CostModel } from './cost-model.js';
import type { InstancePool } from './instance-pool.js';

/** Batching settings of one method. */
export interface BatchingOptions {
  /** Merge concurrent calls (default true for batchable methods). */
  enabled: boolean;
  /**
   * Most rows in one backend call; larger calls are split (default 65,536: the batch size
   * pyarrow and `flight-runner call` stream, so a scoring batch runs whole; see
   * docs/scheduling.md for why this does not cost one-row calls their latency).
   */
  maxBatchRows: number;
  /** Longest a call waits for others to join it, in ms (default 5). */
  maxQueueDelayMs: number;
  /** Batch sizes the backend runs best at: reaching one dispatches at once. */
  preferredBatchRows: number[];
  /**
   * Most rows waiting; beyond it new calls get RESOURCE_EXHAUSTED. Default: 4 batches or
   * 262,144 rows, whichever is more, so that a few batch-scoring streams sending 65,536-row
   * batches do not push interactive calls out.
   */
  maxQueueRows: number;
}

/**
 * Default rows per backend call. Large, because splitting only costs: each backend call
 * pays a fixed cost (a 65,536-row batch of mlp_small split into 64 calls of 1,024 costs
 * about a fifth more CPU per row than one call, bench/batch-size; issue #10 measured 97-108k
 * against 144k rows/s), and merging small calls never waits for this many rows (a batch is
 * held at most one fixed backend cost).
 */
export const DEFAULT_MAX_BATCH_ROWS = 65_536;

/** Defaults for a method; `batchable: false` methods never merge. */
export function batchingDefaults(batchable: boolean, overrides: Partial<BatchingOptions> = {}): BatchingOptions {
  const maxBatchRows = overrides.maxBatchRows ?? DEFAULT_MAX_BATCH_ROWS;
  return {
    enabled: batchable && (overrides.enabled ?? true),
    maxBatchRows,
    maxQueueDelayMs: overrides.maxQueueDelayMs ?? 5,
    preferredBatchRows: [...(overrides.preferredBatchRows ?? [])].sort((a, b) => a - b),
    maxQueueRows: overrides.maxQueueRows ?? Math.max(4 * maxBatchRows, 262_144),
  };
}

/**
 * Backend calls observed before the cost model is trusted to refuse calls: the first
 * calls of a model are often slow (lazy initialisation), and one outlier must not turn
 * calls away.
 */
const MIN_COST_OBSERVATIONS = 3;

/**
 * The share of a call's remaining deadline its expected answer time may take. Under a
 * sustained flood the queue fills until the last call admitted is expected to finish
 * just in time, so without headroom every admitted call sits on the edge and any noise
 * in the model's time (a GC pause, a busy machine) makes it late: model time spent on
 * an answer nobody receives. Headroom costs no throughput while the queue stays
 * non-empty; it only shortens the queue.
 */
const ADMIT_SHARE = 0.8;

/** Observers of what the batcher does (stats, metrics). */
export interface BatcherObserver {
  /** A backend call of `rows` rows ran for `ms` (after waiting `queueMs` for the oldest piece). */
  batch?(rows: number, ms: number, queueMs: number): void;
  /** Rows waiting changed. */
  queueDepth?(rows: number): void;
  /**
   * A call was answered. Its time by phase, in ms: `queueMs` from admission until its
   * backend call was dispatched, `inputMs` merging its rows with the others' into the
   * backend's input, `computeMs` the backend call, `outputMs` from the backend's answer
   * to the call's own rows being handed back. A call larger than `maxBatchRows` ran in
   * pieces: each phase is the sum over its pieces.
   */
  call?(queueMs: number, inputMs: number, computeMs: number, outputMs: number): void;
}

/** One piece of a call: a row range of its input, queued until dispatched. */
interface Piece {
  call: PendingCall;
  index: number;
  batch: RecordBatch;
  /** Pieces share a backend call only if their row shapes agree (see shapeKey). */
  shapeKey: string;
  enqueuedAt: number;
}

/**
 * A call. A call of one piece (nearly all) is its own piece in the queue: one object per
 * call, not two.
 */
interface PendingCall extends Piece {
  params: CallParams;
  paramsKey: string;
  deadline: number | undefined;
  /** Its call's cancellation, which this batcher watches (InvokeContext.cancellation). */
  cancellation: CallCancellation | undefined;
  /** Without a cancellation: the call's signal, and its abort listener, removed when it settles (a stream's batches share one signal). */
  signal: AbortSignal | undefined;
  onAbort?: () => void;
  /** Each piece's answer, for a call of several pieces (undefined for one). */
  results: (RecordBatch | undefined)[] | undefined;
  remaining: number;
  settled: boolean;
  /** Its time by phase so far, summed over its pieces (BatcherObserver.call). */
  queueMs: number;
  inputMs: number;
  computeMs: number;
  /** When its last backend call answered (performance.now()). */
  answeredAt: number;
  resolve(batch: RecordBatch): void;
  reject(err: unknown): void;
}

/**
 * @example
 * const batcher = new Batcher('iris', method, pool, batchingDefaults(true, { maxBatchRows: 512 }));
 * const out = await batcher.submit(batch, {}, { signal });
 */
export class Batcher implements CancellationWatcher {
  private readonly queue: Piece[] = [];
  private queuedRows = 0;
  private timer?: NodeJS.Timeout;
  /** When `timer` fires (performance.now()). */
  private timerDue = 0;
  private readonly cost = new CostModel();
  private readonly arrivals = new ArrivalRate();
  /** This method's backend calls now running: their rows and start (performance.now()). */
  /** This batcher's method on each instance's runner (see methodOn). */
  private readonly methods = new WeakMap<Runner, RunnerMethod>();
  private readonly running = new Set<{ rows: number; started: number; pieces: Piece[] }>();
  private draining = false;
  /**
   * Calls with a deadline not yet settled (queued or running): while there are none, as
   * for most calls, the scan for expired ones before each dispatch is skipped.
   */
  private withDeadline = 0;
  /** `drain()` callers waiting for the queue to empty. */
  private readonly drained: (() => void)[] = [];

  constructor(
    readonly runner: string,
    readonly method: RunnerMethod,
    private readonly pool: InstancePool,
    readonly options: BatchingOptions,
    private readonly observer: BatcherObserver = {},
  ) {}

  /** Rows waiting. */
  get depth(): number {
    return this.queuedRows;
  }

  /** Runs `batch` (already conformed) as part of a merged backend call; resolves with its own rows. */
  submit(batch: RecordBatch, params: CallParams, ctx: InvokeContext): Promise<RecordBatch> {
    // Errors name the method with where(): no string built on an admitted call's path.
    if (this.draining) return Promise.reject(FlightError.unavailable(`${this.where()}: server is draining`));
    if (this.pool.dead) return Promise.reject(FlightError.unavailable(`${this.where()}: no instance is running`));
    if (this.queuedRows > 0 && this.queuedRows + batch.numRows > this.options.maxQueueRows) {
      return Promise.reject(FlightError.resourceExhausted(
        `${this.where()}: queue full (${this.queuedRows} rows waiting, limit ${this.options.maxQueueRows}); retry later`,
      ));
    }
    // A cancellation, when given, stands for the signal: reading ctx.signal would make one.
    const cancellation = ctx.cancellation;
    if (cancellation ? cancellation.aborted : ctx.signal?.aborted) return Promise.reject(this.cancelledError());
    if (ctx.deadline) {
      const late = this.refuseLate(batch.numRows, ctx.deadline.getTime() - Date.now());
      if (late) return Promise.reject(FlightError.resourceExhausted(`${this.where()}: ${late}`));
    }
    return new Promise<RecordBatch>((resolve, reject) => {
      const rowsPerPiece = this.options.enabled ? this.options.maxBatchRows : Math.max(1, batch.numRows);
      const pieces = Math.max(1, Math.ceil(batch.numRows / rowsPerPiece));
      const now = performance.now();
      const call: PendingCall = {
        call: undefined as unknown as PendingCall,
        index: 0,
        batch,
        shapeKey: pieces === 1 ? shapeKey(batch) : '',
        enqueuedAt: now,
        params,
        paramsKey: paramsKeyOf(params),
        deadline: ctx.deadline?.getTime(),
        cancellation,
        signal: cancellation ? undefined : ctx.signal,
        onAbort: undefined,
        results: pieces === 1 ? undefined : new Array(pieces),
        remaining: pieces,
        settled: false,
        queueMs: 0,
        inputMs: 0,
        computeMs: 0,
        answeredAt: 0,
        resolve,
        reject,
      };
      call.call = call;
      if (call.deadline !== undefined) this.withDeadline++;
      if (pieces === 1) {
        this.queue.push(call);
      } else {
        for (let i = 0; i < pieces; i++) {
          const slice = sliceBatch(batch, i * rowsPerPiece, Math.min(batch.numRows, (i + 1) * rowsPerPiece));
          this.queue.push({ call, index: i, batch: slice, shapeKey: shapeKey(slice), enqueuedAt: now });
        }
      }
      this.queuedRows += batch.numRows;
      this.arrivals.observe(batch.numRows, now);
      if (cancellation) {
        cancellation.watch(this);
      } else if (call.signal) {
        call.onAbort = () => this.fail(call, this.cancelledError());
        call.signal.addEventListener('abort', call.onAbort, { once: true });
      }
      this.queueChanged();
      this.pump();
    });
  }

  /**
   * Why a call of `rows` rows with `remainingMs` left before its deadline cannot finish
   * in time, or undefined if it can (or nothing is known against it). Its expected
   * answer time is the work ahead of it (what is left of the batches running, plus the
   * queued rows as backend calls, by the learned cost), spread over the instances, plus
   * its own backend time. Refusing it now lets the client retry elsewhere at once,
   * instead of waiting out its deadline in a queue while the model spends its time on
   * answers nobody will receive. A call with nothing ahead of it is always admitted:
   * it then also tells the cost model what the backend costs today.
   */
  private refuseLate(rows: number, remainingMs: number): string | undefined {
    if (this.cost.observations < MIN_COST_OBSERVATIONS) return undefined;
    if (this.queuedRows === 0 && this.pool.idle() !== undefined) return undefined;
    const { fixed, perRow } = this.cost.fit();
    const now = performance.now();
    let runningMs = 0;
    for (const b of this.running) runningMs += Math.max(0, fixed + perRow * b.rows - (now - b.started));
    const queuedCalls = this.options.enabled ? Math.ceil(this.queuedRows / this.options.maxBatchRows) : this.queue.length;
    const queuedMs = queuedCalls * fixed + perRow * this.queuedRows;
    const instances = Math.max(1, this.pool.size);
    const waitMs = (runningMs + queuedMs) / instances;
    const pieces = this.options.enabled ? Math.ceil(rows / this.options.maxBatchRows) : 1;
    const ownMs = (pieces * fixed + perRow * rows) / Math.min(pieces, instances);
    if (waitMs + ownMs <= remainingMs * ADMIT_SHARE) return undefined;
    return `cannot answer within the deadline: expected wait ${Math.round(waitMs)} ms (${this.queuedRows} rows queued ahead, `
      + `${this.running.size} backend calls running, ~${Math.round(fixed + perRow)} ms per one-row backend call) plus ${Math.round(ownMs)} ms `
      + `model time, against ${Math.max(0, Math.round(remainingMs))} ms left before the deadline; retry later, on another server, or with a longer deadline`;
  }

  /** Stops taking calls; waits until the queue is empty. */
  async drain(): Promise<void> {
    this.draining = true;
    if (this.queuedRows === 0) return;
    await new Promise<void>((resolve) => this.drained.push(resolve));
  }

  /** Reports the queue's depth; wakes `drain()` callers once it is empty. */
  private queueChanged(): void {
    this.observer.queueDepth?.(this.queuedRows);
    if (this.queuedRows === 0 && this.drained.length) {
      for (const resolve of this.drained.splice(0)) resolve();
    }
  }

  /** Dispatches while an instance is idle and the queue holds a batch worth sending. */
  pump(): void {
    for (;;) {
      this.dropExpired();
      if (!this.queue.length) return;
      const instance = this.pool.idle();
      if (instance === undefined) return;
      const waitMs = this.holdFor();
      if (waitMs > 0) {
        this.wakeIn(waitMs);
        return;
      }
      void this.dispatch(instance, this.take());
    }
  }

  /**
   * Makes sure pump() runs again within `ms`. A timer already due by then is kept: the
   * hold ends when the oldest queued piece has waited long enough, which later arrivals
   * do not change, and re-arming a timer on every call was 3% of a one-row call. A timer
   * that finds nothing to do (its queue went out meanwhile) just returns.
   */
  private wakeIn(ms: number): void {
    const due = performance.now() + ms;
    if (this.timer !== undefined && this.timerDue <= due) return;
    clearTimeout(this.timer);
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, ms);
  }

  /**
   * How much longer to hold the queue for more rows (0: dispatch now). Never past
   * `maxQueueDelayMs` after the oldest piece arrived; and only when rows are arriving
   * fast enough that another is expected within one fixed backend cost, since a wait
   * longer than the cost it saves only adds latency.
   */
  private holdFor(): number {
    if (!this.options.enabled) return 0;
    const rows = this.queuedRows;
    if (rows >= this.options.maxBatchRows) return 0;
    if (this.options.preferredBatchRows.includes(rows) || rows >= (this.options.preferredBatchRows.at(-1) ?? Infinity)) return 0;
    const now = performance.now();
    const fixed = this.cost.observations ? this.cost.fixedMs : this.options.maxQueueDelayMs;
    const expectedRows = this.arrivals.rowsPerMs(now) * fixed;
    if (expectedRows < 1) return 0;
    const budget = Math.min(this.options.maxQueueDelayMs, fixed);
    const age = now - this.queue[0]!.enqueuedAt;
    return Math.max(0, budget - age);
  }

  /** Takes pieces in arrival order up to maxBatchRows, with the first piece's params. */
  private take(): Piece[] {
    const first = this.queue[0]!;
    if (!this.options.enabled) {
      this.queue.shift();
      this.queuedRows -= first.batch.numRows;
      this.queueChanged();
      return [first];
    }
    const taken: Piece[] = [];
    const skipped: Piece[] = [];
    let rows = 0;
    let scanned = 0;
    for (; scanned < this.queue.length; scanned++) {
      const piece = this.queue[scanned]!;
      if (rows + piece.batch.numRows > this.options.maxBatchRows && taken.length) break;
      // Only calls with the same params, schema and row shapes share a backend call.
      if (piece.call.paramsKey !== first.call.paramsKey || piece.shapeKey !== first.shapeKey || !sameSchema(piece.batch, first.batch)) {
        skipped.push(piece);
      } else {
        taken.push(piece);
        rows += piece.batch.numRows;
      }
    }
    // One splice for the whole take (a splice per piece is quadratic under a flood):
    // skipped pieces stay at the front, in their order.
    this.queue.splice(0, scanned, ...skipped);
    this.queuedRows -= rows;
    this.queueChanged();
    return taken;
  }

  private async dispatch(instance: number, pieces: Piece[]): Promise<void> {
    const dispatched = performance.now();
    const input = concatBatches(pieces.map((p) => p.batch));
    const started = performance.now();
    const queueMs = started - pieces[0]!.enqueuedAt;
    const running = { rows: input.numRows, started, pieces };
    this.running.add(running);
    try {
      // The latest deadline of the batch's calls: an isolated instance will not start the
      // batch after it (the message may wait for a busy thread or process).
      let latest: number | undefined = 0;
      for (const p of pieces) latest = p.call.deadline === undefined || latest === undefined ? undefined : Math.max(latest, p.call.deadline);
      const ctx = latest !== undefined ? { deadline: new Date(latest) } : NO_DEADLINE;
      const output = await this.pool.runOn(instance, (runner) => this.methodOn(runner).invoke(input, pieces[0]!.call.params, ctx));
      const ms = performance.now() - started;
      this.cost.observe(input.numRows, ms);
      this.observer.batch?.(input.numRows, ms, queueMs);
      if (pieces.length > 1 && output.numRows !== input.numRows) {
        throw FlightError.internal(`runner '${this.runner}' method '${this.method.signature.name}' returned ${output.numRows} rows for ${input.numRows} input rows`);
      }
      const answeredAt = started + ms;
      let offset = 0;
      for (const piece of pieces) {
        const rows = piece.batch.numRows;
        const call = piece.call;
        call.queueMs += dispatched - piece.enqueuedAt;
        call.inputMs += started - dispatched;
        call.computeMs += ms;
        call.answeredAt = answeredAt;
        this.deliver(piece, pieces.length === 1 ? output : sliceBatch(output, offset, offset + rows));
        offset += rows;
      }
    } catch (err) {
      for (const piece of pieces) this.fail(piece.call, err);
    } finally {
      this.running.delete(running);
      this.pump();
    }
  }

  /**
   * A watched cancellation aborted: fails its calls, queued (their pieces leave the queue
   * before they cost model time) or running (their answer is then dropped), as an abort
   * listener per call would.
   */
  cancelled(cancellation: CallCancellation): void {
    const calls = new Set<PendingCall>();
    for (const piece of this.queue) if (piece.call.cancellation === cancellation) calls.add(piece.call);
    for (const batch of this.running) for (const piece of batch.pieces) if (piece.call.cancellation === cancellation) calls.add(piece.call);
    for (const call of calls) this.fail(call, this.cancelledError());
  }

  private cancelledError(): FlightError {
    return new FlightError(Status.CANCELLED, `${this.where()}: call cancelled`);
  }

  /** Marks a call settled and takes its abort listener off the signal, which may outlive it. */
  private settle(call: PendingCall): void {
    call.settled = true;
    if (call.deadline !== undefined) this.withDeadline--;
    if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
  }

  /** How errors name the method. */
  private where(): string {
    return `runner '${this.runner}' method '${this.method.signature.name}'`;
  }

  /** This batcher's method on one instance's runner (found once per runner, not per dispatch). */
  private methodOn(runner: Runner): RunnerMethod {
    let method = this.methods.get(runner);
    if (!method) {
      method = runner.methods.find((m) => m.signature.name === this.method.signature.name)!;
      this.methods.set(runner, method);
    }
    return method;
  }

  private deliver(piece: Piece, output: RecordBatch): void {
    const call = piece.call;
    if (call.settled) return;
    if (call.results) call.results[piece.index] = output;
    if (--call.remaining === 0) {
      this.settle(call);
      const answer = call.results ? concatBatches(call.results as RecordBatch[]) : output;
      this.observer.call?.(call.queueMs, call.inputMs, call.computeMs, performance.now() - call.answeredAt);
      call.resolve(answer);
    }
  }

  /** Fails a call and removes its queued pieces. */
  private fail(call: PendingCall, err: unknown): void {
    if (call.settled) return;
    this.settle(call);
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i]!.call === call) {
        this.queuedRows -= this.queue[i]!.batch.numRows;
        this.queue.splice(i, 1);
      }
    }
    this.queueChanged();
    call.reject(err);
  }

  /**
   * Fails, before they cost model time, queued calls whose deadline has passed, and
   * (once the cost is known) those whose deadline will pass before a backend call of
   * their rows alone could answer them: the client would never receive that answer.
   * Runs right before every dispatch.
   */
  private dropExpired(): void {
    if (this.withDeadline === 0 || !this.queue.some((p) => p.call.deadline !== undefined)) return;
    const now = Date.now();
    const known = this.cost.observations >= MIN_COST_OBSERVATIONS;
    const { fixed, perRow } = known ? this.cost.fit() : { fixed: 0, perRow: 0 };
    const name = this.where();
    const dropped = new Map<PendingCall, FlightError>();
    for (const piece of this.queue) {
      const call = piece.call;
      if (call.deadline === undefined || call.settled || dropped.has(call)) continue;
      if (call.deadline <= now) {
        dropped.set(call, new FlightError(Status.DEADLINE_EXCEEDED, `${name}: deadline passed while queued`));
        continue;
      }
      const needMs = fixed + perRow * piece.batch.numRows;
      if (known && now + needMs > call.deadline) {
        dropped.set(call, new FlightError(Status.DEADLINE_EXCEEDED, `${name}: deadline would pass before the model could answer `
          + `(${call.deadline - now} ms left while queued, a backend call takes ~${Math.round(needMs)} ms)`));
      }
    }
    if (!dropped.size) return;
    // One pass over the queue for all of them (failing them one by one rescans it per call).
    let kept = 0;
    for (const piece of this.queue) {
      if (dropped.has(piece.call)) this.queuedRows -= piece.batch.numRows;
      else this.queue[kept++] = piece;
    }
    this.queue.length = kept;
    this.queueChanged();
    for (const [call, err] of dropped) {
      this.settle(call);
      call.reject(err);
    }
  }
}

/** Same column names and types, and the same field metadata (a fixed_shape_tensor's shape is there). */
function sameSchema(a: RecordBatch, b: RecordBatch): boolean {
  if (a.schema === b.schema) return true;
  const fa = a.schema.fields;
  const fb = b.schema.fields;
  return fa.length === fb.length && fa.every((f, i) => f.name === fb[i]!.name && String(f.type) === String(fb[i]!.type)
    && sameMetadata(f.metadata, fb[i]!.metadata));
}

function sameMetadata(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}

let raggedPieces = 0;

/** The context of a backend call whose calls have no deadline (shared: nothing writes it). */
const NO_DEADLINE: InvokeContext = Object.freeze({});

/** What params must agree on to share a backend call; most calls have none (no JSON.stringify then). */
function paramsKeyOf(params: CallParams): string {
  for (const _ in params) return JSON.stringify(params);
  return '{}';
}

/** Per schema, the indices of its variable-shape tensor columns (usually none). */
const variableShapeColumns = new WeakMap<Schema, number[]>();

/**
 * What the rows of a piece must agree on with another's to share a backend call, beyond
 * the schema: for each variable-shape tensor column (a free dimension), the one shape
 * all its rows have. A backend such as onnxruntime takes one tensor per input, so rows
 * of a sequence model with T = 2 and with T = 3 cannot be stacked together; each caller's
 * rows can. A piece whose own rows differ in shape gets a key of its own: it runs alone,
 * exactly as its caller sent it, and the backend answers it as it would unbatched.
 */
function shapeKey(batch: RecordBatch): string {
  let columns = variableShapeColumns.get(batch.schema);
  if (!columns) {
    columns = batch.schema.fields.flatMap((field, i) => (isVariableShapeStorage(field.type) ? [i] : []));
    variableShapeColumns.set(batch.schema, columns);
  }
  let key = '';
  for (const i of columns) key += `${i}:${uniformRowShape(batch.getChildAt(i)!) ?? `ragged#${++raggedPieces}`};`;
  return key;
}

/** The shape every row of a variable_shape_tensor column has, or undefined if they differ. */
function uniformRowShape(column: Vector): string | undefined {
  let first: Int32Array | undefined;
  for (const data of column.data) {
    const shapes = data.children[1]!;
    const ndim = (shapes.type as FixedSizeList).listSize;
    // As readVariableShapeColumn reads them: a sliced struct's children are sliced.
    const values = (shapes.children[0]!.values as Int32Array).subarray(0, data.length * ndim);
    for (let row = 0; row < data.length; row++) {
      const shape = values.subarray(row * ndim, (row + 1) * ndim);
      if (!first) first = shape;
      else if (!shape.every((d, k) => d === first![k])) return undefined;
    }
  }
  return first ? first.join('x') : 'empty';
}


