/**
 * What a server lets its callers make it hold: the largest message it accepts, and a
 * server-wide budget of bytes held in messages not yet complete.
 *
 * Why both: a gRPC message announces its length in its 5-byte prefix, and the reader
 * allocates the message at that length (one buffer, one copy of each received chunk).
 * The per-message limit refuses a single absurd announcement (a 4 GiB prefix) before
 * anything is allocated; the budget bounds what many callers together can make the
 * server hold, whatever each one announces, so a crowd of half-sent messages costs
 * RESOURCE_EXHAUSTED for the caller that would overflow it, never the process.
 */
import { totalmem } from 'node:os';
import { FlightError } from './errors.js';

/** gRPC's own ceiling for one message (a signed 32-bit length), as Arrow C++ Flight uses. */
export const DEFAULT_MAX_MESSAGE_BYTES = 2 ** 31 - 1;

/** The machine's memory, or the container's limit when it has a smaller one. */
function availableMemoryBytes(): number {
  const total = totalmem();
  // The cgroup limit (0 or undefined when there is none).
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  return constrained && constrained > 0 && constrained < total ? constrained : total;
}

/**
 * The default budget for incomplete messages: a quarter of the memory the process may
 * use, so the rest stays for the models, decoded batches and answers. 24 GiB gives 6 GiB.
 */
export function defaultReceiveBudgetBytes(): number {
  return Math.floor(availableMemoryBytes() / 4);
}

/**
 * A server-wide count of bytes reserved by messages being received. A reader reserves a
 * message's announced length before allocating it and releases it once the message is
 * complete (handed to its call) or dropped (the call ended, failed or was cancelled).
 * Receive buffers a call gave back for reuse (GrpcMessageReader.recycle) are reserved too
 * while they wait for a later message.
 */
export class ReceiveBudget {
  private held = 0;

  constructor(readonly limitBytes: number = defaultReceiveBudgetBytes()) {}

  /** Bytes reserved now. */
  get heldBytes(): number {
    return this.held;
  }

  /**
   * Reserves `bytes` or throws RESOURCE_EXHAUSTED naming the budget, so the caller's
   * stream ends and every other call goes on.
   */
  reserve(bytes: number): void {
    if (bytes <= 0) return;
    if (this.held + bytes > this.limitBytes) {
      throw FlightError.resourceExhausted(
        `server is holding ${this.held} bytes of incomplete messages and its budget is ${this.limitBytes}: `
        + `a message of ${bytes} bytes does not fit now; retry later or send smaller batches `
        + '(servers raise it with the receiveBudgetBytes option, `--max-incoming-bytes` on the command line)',
      );
    }
    this.held += bytes;
  }

  /** Reserves `bytes` if they fit, else reserves nothing and returns false (for memory a reader may do without). */
  tryReserve(bytes: number): boolean {
    if (bytes <= 0) return true;
    if (this.held + bytes > this.limitBytes) return false;
    this.held += bytes;
    return true;
  }

  /** Returns bytes reserved earlier. */
  release(bytes: number): void {
    if (bytes > 0) this.held = Math.max(0, this.held - bytes);
  }
}
