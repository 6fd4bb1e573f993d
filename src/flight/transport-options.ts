/**
 * HTTP/2 and gRPC settings for bulk Arrow traffic: the windows (the server's node:http2
 * sessions and the grpc-js client) and the grpc-js client's channel options.
 *
 * Why: with HTTP/2's default 64 KiB windows a sender stalls for a round trip every
 * 64 KiB; measured here, a plain node:http2 echo doubled its throughput with 8 MiB stream
 * and 64 MiB connection windows. And Flight peers (pyarrow) send messages of any size,
 * so the 4 MiB default receive limit is lifted unless the user sets one.
 *
 * The server's connection window is the exception: it is small on purpose, see
 * serverConnectionWindowBytes, until a peer shows it cannot take part in the stall that
 * prevents (READING_PEER_CONNECTION_WINDOW_BYTES).
 */
import type { ChannelOptions } from '@grpc/grpc-js';

/**
 * HTTP/2 stream window: how much of one call's data the receiver takes in before its
 * reader asks for more (node:http2 acknowledges a stream's data only while the call
 * reads, so this is what holds a slow call's sender back).
 */
export const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/** HTTP/2 connection window a client advertises, shared by the calls of one connection. */
export const CONNECTION_WINDOW_BYTES = 64 * 1024 * 1024;

/**
 * The largest HTTP/2 frame the server accepts (SETTINGS_MAX_FRAME_SIZE; HTTP/2's maximum,
 * what gRPC C++ peers advertise too). A client splits a message's DATA into frames of at
 * most this size, and node:http2 hands a call each frame's part of a socket read as its
 * own chunk ('data' event, copy into the message). With the 16 KiB default a pyarrow
 * client's 1 MiB batches arrived as 16 KiB chunks (avg 12.9 KB: 22,040 chunks for
 * 272 MiB); with this, one chunk per 64 KiB socket read (5,071), and the server's CPU
 * per GiB echoed fell by 5-15% in paired runs (bench/flight/README.md). Nothing waits
 * for a whole frame: node:http2 passes DATA on as it arrives, and the connection and
 * stream windows still bound what a client may send.
 */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024 - 1;

/** The server's connection window on TCP (loopback or not): see serverConnectionWindowBytes. */
export const SERVER_TCP_CONNECTION_WINDOW_BYTES = 1024 * 1024;
/** The server's connection window on a unix socket: see serverConnectionWindowBytes. */
export const SERVER_UNIX_CONNECTION_WINDOW_BYTES = 64 * 1024;

/**
 * The HTTP/2 connection window a server advertises: the most a client may have sent on a
 * connection that the server's session has not yet read off its socket.
 *
 * Why it is small (the node:http2 stall, nodejs/node#29399): a node:http2 session stops
 * reading its socket while one of its own socket writes is pending, and it writes all
 * the frames it has ready in one go. So two node:http2 peers that both stream (our
 * server and a grpc-js client, in one process or two) can wait for each other forever:
 * the server's write waits for the client to read, the client reads only once its own
 * write is done, and that write waits for the server to read. For that the client's
 * write must be stuck, that is, the kernel must hold more client bytes than it can
 * without the server reading (client send buffer + server receive buffer). The
 * connection window bounds exactly those bytes: node:http2 consumes connection window
 * as soon as its session reads DATA off the socket (the stream window is what holds a
 * paused call back), so a client's unread DATA, in the kernel or in its own pending
 * write, never exceeds this window. Below what the kernel takes without the server
 * reading, every client write completes, the client keeps reading, the server's writes
 * complete and the server reads again: the cycle cannot close, whatever the timing.
 *
 * What the kernel takes (Linux defaults, measured with a receiver that never reads): a
 * new loopback TCP connection 3.8 MB (the loopback send buffer starts at tcp_wmem's
 * maximum, 4 MiB, because the loopback MSS is 64 KiB; over a network it grows with the
 * congestion window and the network itself holds bytes in flight); a unix socket 208 KiB
 * (the sender's SO_SNDBUF, net.core.wmem_default). Hence 1 MiB and 64 KiB, a quarter
 * and a third of those. With 64 MiB, the 1 GiB slow-reader echo over loopback hung in
 * about half the runs and any large two-way exchange over a unix socket hung at once.
 * bench:flight measured no throughput change between 0.5, 1, 2 and 64 MiB on loopback:
 * the window only has to cover bytes in transit, since the server reads its socket
 * whenever it is not writing, and each call still buffers up to STREAM_WINDOW_BYTES.
 */
export function serverConnectionWindowBytes(transport: 'tcp' | 'unix'): number {
  return transport === 'unix' ? SERVER_UNIX_CONNECTION_WINDOW_BYTES : SERVER_TCP_CONNECTION_WINDOW_BYTES;
}

/**
 * The connection window a server gives a peer that keeps reading while it writes, once
 * its first request shows what it is (see peerReadsWhileWriting): as wide as one call's
 * stream window. The small window above only prevents the node:http2 stall, and costs
 * throughput: a client may have no more than it in flight while the server's session is
 * busy writing (and so not reading). Measured with the pyarrow client (bench:flight echo,
 * same-run A/B of 1 vs 8 MiB): 4 MiB batches 0.74/0.87 -> 0.91/0.93 of pyarrow's server,
 * 16 MiB 0.81/0.89 -> 0.90/0.93.
 */
export const READING_PEER_CONNECTION_WINDOW_BYTES = STREAM_WINDOW_BYTES;

/**
 * gRPC implementations whose user-agent says they read a connection while they write to
 * it (their own event loops or threads do both): gRPC C++ (pyarrow sends
 * `grpc-c++/1.81.1 grpc-c/54.0.0 (linux; chttp2)`; Python, Ruby and PHP run on gRPC core too),
 * grpc-go (arrow-go), grpc-java and its `grpc-java-netty` / `-okhttp` transports (Arrow Java),
 * tonic (arrow-rs), .NET.
 * grpc-js and anything unknown are not in it: they may be node:http2, which stalls.
 */
const READING_PEERS = /^(grpc-c\+\+|grpc-c|grpc-python|grpc-ruby|grpc-php|grpc-go|grpc-java(-[a-z]+)?|grpc-dotnet|tonic)\//;

/** Whether a peer with this user-agent keeps reading while it writes (see READING_PEERS). */
export function peerReadsWhileWriting(userAgent: string | undefined): boolean {
  return userAgent !== undefined && READING_PEERS.test(userAgent);
}

/**
 * grpc-js client channel options: no message limits unless configured, and no
 * channelz bookkeeping (per-call counters and traces that nothing here reads; it showed
 * in the per-call profile of small calls). Pass `grpc.enable_channelz: 1` to get it back.
 */
export function channelOptions(maxMessageBytes?: number): ChannelOptions {
  const limit = maxMessageBytes ?? -1;
  return {
    'grpc.max_receive_message_length': limit,
    'grpc.max_send_message_length': -1,
    'grpc.enable_channelz': 0,
  };
}
