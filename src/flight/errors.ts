import type { ServiceError } from '@grpc/grpc-js';

/**
 * The gRPC status codes (grpc/doc/statuscodes.md), the same numbers and names as
 * grpc-js's `status`; defined here so the server needs no gRPC library.
 */
export enum Status {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/**
 * The one error type of the Flight layer. It carries the gRPC status code it maps to,
 * so a handler that throws it answers the client with exactly that status and message.
 *
 * @example
 * throw new FlightError(Status.NOT_FOUND, 'no flight at path ["missing"]');
 */
export class FlightError extends Error {
  readonly code: Status;

  constructor(code: Status, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FlightError';
    this.code = code;
  }

  /** The status name, e.g. `INVALID_ARGUMENT`. */
  get codeName(): string {
    return Status[this.code] ?? String(this.code);
  }

  static invalidArgument(message: string, cause?: unknown): FlightError {
    return new FlightError(Status.INVALID_ARGUMENT, message, { cause });
  }
  static notFound(message: string): FlightError {
    return new FlightError(Status.NOT_FOUND, message);
  }
  static unimplemented(message: string): FlightError {
    return new FlightError(Status.UNIMPLEMENTED, message);
  }
  static internal(message: string, cause?: unknown): FlightError {
    return new FlightError(Status.INTERNAL, message, { cause });
  }
  static resourceExhausted(message: string): FlightError {
    return new FlightError(Status.RESOURCE_EXHAUSTED, message);
  }
  static unavailable(message: string): FlightError {
    return new FlightError(Status.UNAVAILABLE, message);
  }
  static unauthenticated(message: string): FlightError {
    return new FlightError(Status.UNAUTHENTICATED, message);
  }
}

/** A call's final status: its code and message (grpc-message). */
export interface GrpcStatusObject {
  code: Status;
  details: string;
}

/**
 * Maps anything a handler threw to the status the client sees. A FlightError keeps its
 * code; anything else is a bug or a failure we did not anticipate, so it is INTERNAL
 * and its message is passed on rather than hidden.
 */
export function toGrpcStatus(err: unknown): GrpcStatusObject {
  if (err instanceof FlightError) return { code: err.code, details: capped(err.message) };
  if (isServiceError(err)) return { code: err.code as number as Status, details: capped(err.details) };
  const message = err instanceof Error ? err.message : String(err);
  return { code: Status.INTERNAL, details: capped(message) };
}

/**
 * The message travels in the grpc-message trailer, and clients refuse trailers over
 * their metadata limit (16 KiB in gRPC C++), turning any status into RESOURCE_EXHAUSTED.
 * Keep messages well under it.
 */
const MAX_MESSAGE_CHARS = 4096;

function capped(message: string): string {
  if (message.length <= MAX_MESSAGE_CHARS) return message;
  return `${message.slice(0, MAX_MESSAGE_CHARS)}... (${message.length - MAX_MESSAGE_CHARS} more characters)`;
}

/** Turns a grpc-js client error into a FlightError with the same code and message. */
export function fromGrpcError(err: unknown): FlightError {
  if (err instanceof FlightError) return err;
  if (isServiceError(err)) {
    return new FlightError(err.code as number as Status, err.details || err.message, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new FlightError(Status.INTERNAL, message, { cause: err });
}

function isServiceError(err: unknown): err is ServiceError {
  return typeof err === 'object' && err !== null && typeof (err as ServiceError).code === 'number'
    && 'details' in err;
}
