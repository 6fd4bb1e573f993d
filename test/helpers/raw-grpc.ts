/**
 * Test helper: a gRPC client that sends and receives raw bytes on a Flight streaming
 * RPC. The FlightClient only ever sends well-formed streams, so tests of what a server
 * does with bad input (a batch before the schema, corrupted or truncated FlightData)
 * write the protobuf bytes themselves through this client.
 */
import { Client, Metadata, credentials, type status as Status } from '@grpc/grpc-js';
import { parseLocation } from '../../src/flight/index.js';

const SERVICE = 'arrow.flight.protocol.FlightService';

/** The streaming RPCs a raw call can target. */
export type RawRpc = 'DoPut' | 'DoExchange' | 'Handshake';

/** How a raw call ended: its final status and every response message, as bytes. */
export interface RawResult {
  code: Status;
  details: string;
  responses: Buffer[];
}

const identity = (b: Buffer) => b;

/**
 * A raw-bytes client on one channel. Each call writes its messages, half-closes and
 * resolves with the final status; it never rejects, so a test can assert on any status.
 */
export class RawFlightClient {
  private readonly client: Client;

  constructor(location: string) {
    this.client = new Client(parseLocation(location).grpcAddress, credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  /**
   * Sends `messages` on a bidi call to `rpc` and collects the responses until the status
   * arrives. `deadlineMs` bounds the call, so a server that hangs shows as
   * DEADLINE_EXCEEDED instead of hanging the test.
   */
  call(rpc: RawRpc, messages: readonly Uint8Array[], deadlineMs: number, headers: Record<string, string> = {}): Promise<RawResult> {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
    const call = this.client.makeBidiStreamRequest<Buffer, Buffer>(
      `/${SERVICE}/${rpc}`, identity, identity, metadata, { deadline: Date.now() + deadlineMs },
    );
    const responses: Buffer[] = [];
    return new Promise<RawResult>((resolve) => {
      call.on('data', (b: Buffer) => responses.push(b));
      // An error always comes with a 'status' event too; listening keeps it handled.
      call.on('error', () => {});
      call.on('status', (s: { code: Status; details: string }) => resolve({ code: s.code, details: s.details, responses }));
      for (const m of messages) call.write(Buffer.from(m.buffer, m.byteOffset, m.byteLength));
      call.end();
    });
  }

  close(): void {
    this.client.close();
  }
}
