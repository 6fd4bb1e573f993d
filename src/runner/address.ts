/**
 * Which runner method a descriptor names: PATH `[runner]` or `[runner, method]`, or a
 * CMD holding JSON `{"runner", "method", "params"}`.
 */
import { FlightDescriptor, FlightError } from '../flight/index.js';
import type { CallParams } from './runner.js';

/** A resolved address (a PATH descriptor's is shared by its calls: read only). */
export interface MethodAddress {
  readonly runner: string;
  readonly method?: string;
  readonly params: Readonly<CallParams>;
}

/** Params of a PATH address: none, one shared object (frozen: exchanges merge, never write, them). */
const NO_PARAMS: CallParams = Object.freeze({});

/**
 * Addresses of PATH descriptors the Flight layer shares between calls (it keeps the few
 * seen lately, frozen): a busy method's calls resolve theirs once.
 */
const pathAddresses = new WeakMap<FlightDescriptor, MethodAddress>();

/** Parses a descriptor into a method address, or INVALID_ARGUMENT saying what is wrong. */
export function addressOf(descriptor: FlightDescriptor | undefined): MethodAddress {
  if (!descriptor) throw FlightError.invalidArgument('the call has no flight descriptor: send PATH [runner] or [runner, method]');
  if (descriptor.type === 'PATH') {
    let address = pathAddresses.get(descriptor);
    if (!address) {
      address = pathAddress(descriptor);
      // Only a frozen descriptor cannot change under its cached address.
      if (Object.isFrozen(descriptor) && Object.isFrozen(descriptor.path)) pathAddresses.set(descriptor, address);
    }
    return address;
  }
  let cmd: unknown;
  const text = FlightDescriptor.cmdText(descriptor);
  try {
    cmd = JSON.parse(text);
  } catch {
    throw FlightError.invalidArgument(`CMD descriptor must be JSON {"runner", "method", "params"}, got ${JSON.stringify(text.slice(0, 60))}`);
  }
  const c = cmd as { runner?: unknown; method?: unknown; params?: unknown };
  if (!c || typeof c.runner !== 'string') throw FlightError.invalidArgument('CMD descriptor needs a "runner" string');
  if (c.method !== undefined && typeof c.method !== 'string') throw FlightError.invalidArgument('CMD descriptor "method" must be a string');
  if (c.params !== undefined && (typeof c.params !== 'object' || c.params === null || Array.isArray(c.params))) {
    throw FlightError.invalidArgument('CMD descriptor "params" must be a JSON object');
  }
  return { runner: c.runner, ...(c.method ? { method: c.method } : {}), params: (c.params ?? {}) as CallParams };
}

/** A PATH descriptor's address: `[runner]` or `[runner, method]`. */
function pathAddress(descriptor: Extract<FlightDescriptor, { type: 'PATH' }>): MethodAddress {
  // Indexed, not destructured with a rest: no array made per call.
  const path = descriptor.path;
  const runner = path[0];
  const method = path[1];
  if (!runner || path.length > 2) {
    throw FlightError.invalidArgument(`descriptor path must be [runner] or [runner, method], got ${JSON.stringify(descriptor.path)}`);
  }
  return Object.freeze(method ? { runner, method, params: NO_PARAMS } : { runner, params: NO_PARAMS });
}
