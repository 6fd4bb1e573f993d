import { FlightError } from './errors.js';

/**
 * What a flight is: a path of names, or an opaque command. Mirrors the protocol's
 * FlightDescriptor, as a tagged union so the two kinds cannot be mixed up.
 *
 * @example
 * const d = FlightDescriptor.path('iris', 'predict');
 * const c = FlightDescriptor.cmd(JSON.stringify({ runner: 'iris' }));
 */
export type FlightDescriptor =
  | { readonly type: 'PATH'; readonly path: readonly string[] }
  | { readonly type: 'CMD'; readonly cmd: Uint8Array };

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export const FlightDescriptor = {
  /** A PATH descriptor from its segments. */
  path(...path: string[]): FlightDescriptor {
    return { type: 'PATH', path };
  },
  /** A CMD descriptor; a string is sent as UTF-8. */
  cmd(cmd: Uint8Array | string): FlightDescriptor {
    return { type: 'CMD', cmd: typeof cmd === 'string' ? utf8.encode(cmd) : cmd };
  },
  /** A stable string key for maps: `path:a/b` or `cmd:<base64>`. */
  key(d: FlightDescriptor): string {
    return d.type === 'PATH'
      ? `path:${JSON.stringify(d.path)}`
      : `cmd:${Buffer.from(d.cmd.buffer, d.cmd.byteOffset, d.cmd.byteLength).toString('base64')}`;
  },
  /** For messages: `["a","b"]` or `cmd "..."`. */
  describe(d: FlightDescriptor): string {
    return d.type === 'PATH' ? `path ${JSON.stringify(d.path)}` : `cmd ${JSON.stringify(utf8Decoder.decode(d.cmd))}`;
  },
  /** The command's bytes read as UTF-8 text. */
  cmdText(d: FlightDescriptor & { type: 'CMD' }): string {
    return utf8Decoder.decode(d.cmd);
  },
};

/** The protobuf-object shape proto-loader uses for FlightDescriptor. */
export interface FlightDescriptorMessage {
  type?: string | number;
  cmd?: Uint8Array;
  path?: string[];
}

/** From the proto-loader object; an UNKNOWN type is refused, as it names nothing. */
export function descriptorFromMessage(m: FlightDescriptorMessage | null | undefined): FlightDescriptor {
  if (!m) throw FlightError.invalidArgument('missing flight descriptor');
  const type = m.type === 1 || m.type === 'PATH' ? 'PATH' : m.type === 2 || m.type === 'CMD' ? 'CMD' : 'UNKNOWN';
  if (type === 'PATH') return { type, path: [...(m.path ?? [])] };
  if (type === 'CMD') return { type, cmd: m.cmd ?? new Uint8Array(0) };
  throw FlightError.invalidArgument('flight descriptor type must be PATH or CMD, got UNKNOWN');
}

/** To the proto-loader object shape. */
export function descriptorToMessage(d: FlightDescriptor): FlightDescriptorMessage {
  return d.type === 'PATH'
    ? { type: 'PATH', path: [...d.path], cmd: Buffer.alloc(0) }
    : { type: 'CMD', path: [], cmd: Buffer.from(d.cmd.buffer, d.cmd.byteOffset, d.cmd.byteLength) };
}
