import { FlightError } from './errors.js';

/** A parsed Flight location URI. */
export interface Location {
  scheme: 'grpc' | 'grpc+tls' | 'grpc+unix';
  /** The address grpc-js dials or binds: `host:port` or `unix:/path`. */
  grpcAddress: string;
  host?: string;
  port?: number;
  socketPath?: string;
}

/**
 * Parses `grpc://host:port`, `grpc+tcp://host:port`, `grpc+tls://host:port` or
 * `grpc+unix:///path/to/socket` (also `grpc+unix:/path`).
 *
 * @example
 * parseLocation('grpc://127.0.0.1:8815').grpcAddress // '127.0.0.1:8815'
 */
export function parseLocation(uri: string): Location {
  const match = /^(grpc|grpc\+tcp|grpc\+tls|grpc\+unix):(.*)$/.exec(uri);
  if (!match) {
    throw FlightError.invalidArgument(`unsupported location ${JSON.stringify(uri)}: expected grpc://, grpc+tls:// or grpc+unix://`);
  }
  const scheme = match[1] === 'grpc+tcp' ? 'grpc' : (match[1] as Location['scheme']);
  const rest = match[2]!;
  if (scheme === 'grpc+unix') {
    const socketPath = rest.replace(/^\/\//, '');
    if (!socketPath.startsWith('/')) throw FlightError.invalidArgument(`unix socket location needs an absolute path: ${uri}`);
    return { scheme, grpcAddress: `unix:${socketPath}`, socketPath };
  }
  const hostPort = rest.replace(/^\/\//, '').replace(/\/$/, '');
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(hostPort);
  if (!m) throw FlightError.invalidArgument(`location ${JSON.stringify(uri)} needs host:port`);
  return { scheme, grpcAddress: hostPort, host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The URI of a TCP server, as a client would dial it. */
export function tcpLocation(host: string, port: number, tls = false): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return `${tls ? 'grpc+tls' : 'grpc'}://${h}:${port}`;
}
