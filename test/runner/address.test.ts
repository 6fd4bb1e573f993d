/**
 * addressOf: which runner method a descriptor names. A PATH descriptor the Flight layer
 * shares between calls (frozen) resolves once, to a frozen address whose params no call
 * can change for another; a malformed path is INVALID_ARGUMENT; CMD params are the call's own.
 */
import test from 'ava';
import { FlightDescriptor, FlightError, Status } from '../../src/flight/index.js';
import { addressOf } from '../../src/runner/address.js';

test('a PATH address: runner and method, shared by the calls of a frozen descriptor, read only', (t) => {
  const descriptor = FlightDescriptor.path('iris', 'predict');
  if (descriptor.type === 'PATH') Object.freeze(descriptor.path);
  Object.freeze(descriptor);
  const first = addressOf(descriptor);
  t.deepEqual({ ...first, params: { ...first.params } }, { runner: 'iris', method: 'predict', params: {} });
  t.is(addressOf(descriptor), first, 'resolved once for a shared descriptor');
  t.throws(() => { (first.params as Record<string, unknown>)['threshold'] = 1; }, { instanceOf: TypeError });
  t.deepEqual(addressOf(FlightDescriptor.path('iris')), { runner: 'iris', params: {} });
});

test('a malformed PATH is INVALID_ARGUMENT; CMD params are each call\'s own', (t) => {
  const bad = t.throws(() => addressOf(FlightDescriptor.path('a', 'b', 'c')), { instanceOf: FlightError });
  t.is(bad?.code, Status.INVALID_ARGUMENT);
  const cmd = FlightDescriptor.cmd(JSON.stringify({ runner: 'iris', params: { k: 3 } }));
  const a = addressOf(cmd);
  t.deepEqual(a.params, { k: 3 });
  t.not(addressOf(cmd).params, a.params);
});
