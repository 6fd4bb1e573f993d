// Package interop checks flight-runner's Arrow Flight layer against a real arrow-go
// Flight client. The tests start the real in-memory server process
// (node bin/flight-runner.js memory-server --port 0) once, talk to it over loopback,
// and stop it with SIGTERM at the end, expecting a clean exit.
package interop
