/**
 * One call's cancellation as the runner layer passes it down to a scheduler: aborted
 * once, with the FlightError that ends the call. It stands in for an AbortSignal on the
 * path of every call: a transport that can tell its handler of an abort without one
 * (the Flight server's CallContext.onAbort) spares the AbortController per call, and a
 * scheduler spares an abort listener per queued call (together ~10 us of a one-row
 * call's server CPU, and garbage). An AbortSignal is still made on demand, for a runner
 * that reads `InvokeContext.signal`.
 */
import type { FlightError } from '../flight/index.js';
import type { InvokeContext } from './runner.js';

/** Told once when a cancellation it watches aborts (a scheduler drops that call's work). */
export interface CancellationWatcher {
  cancelled(cancellation: CallCancellation): void;
}

/**
 * @example
 * const cancellation = new CallCancellation();
 * ctx.onAbort?.((reason) => cancellation.abort(reason));
 * await method.invoke(batch, params, new CancellableInvokeContext(cancellation, deadline));
 */
export class CallCancellation {
  private why: FlightError | undefined;
  private controller: AbortController | undefined;
  /** Each watcher once: a stream's batches go to one scheduler, which watches once. */
  private watchers: CancellationWatcher[] | undefined;

  /** Whether the call was aborted. */
  get aborted(): boolean {
    return this.why !== undefined;
  }

  /** Why the call was aborted, once it was. */
  get reason(): FlightError | undefined {
    return this.why;
  }

  /** An AbortSignal that aborts with this cancellation, made on first read. */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.why) this.controller.abort(this.why);
    }
    return this.controller.signal;
  }

  /**
   * Aborts the call (once; later calls are ignored) and tells the watchers. A property, so
   * it can be handed to a transport's onAbort as it is.
   */
  readonly abort = (reason: FlightError): void => {
    if (this.why) return;
    this.why = reason;
    this.controller?.abort(reason);
    const watchers = this.watchers;
    this.watchers = undefined;
    if (watchers) for (const watcher of watchers) watcher.cancelled(this);
  };

  /**
   * Tells `watcher` when the call aborts (at once if it has). Watching again with the
   * same watcher is a no-op, so a scheduler can watch on every batch of a stream; nothing
   * is removed when a batch settles (the cancellation lives as long as its call).
   */
  watch(watcher: CancellationWatcher): void {
    if (this.why) {
      watcher.cancelled(this);
      return;
    }
    const watchers = (this.watchers ??= []);
    if (!watchers.includes(watcher)) watchers.push(watcher);
  }
}

/** An InvokeContext with a cancellation, whose `signal` is made only if a runner reads it. */
export class CancellableInvokeContext implements InvokeContext {
  constructor(readonly cancellation: CallCancellation, readonly deadline?: Date) {}

  get signal(): AbortSignal {
    return this.cancellation.signal;
  }
}
