/**
 * Which bind addresses count as loopback for the "serving without authentication"
 * warning: only addresses no other machine can reach.
 */
import test from 'ava';
import { isLoopback } from '../../src/cli/serve-process.js';

test('isLoopback: 127.0.0.0/8, ::1 and localhost are loopback; wildcards, LAN addresses and other names are not', (t) => {
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1']) t.true(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '[::]', '10.0.0.5', '192.168.1.2', 'example.com', '127.0.0.1.example.com', 'localhost.example.com', '::ffff:10.0.0.1']) {
    t.false(isLoopback(host), host);
  }
});
