// Package engine is the transport: a Transport carries opaque messages
// between the nodes of a cluster over TCP, optionally inside mutually
// authenticated TLS 1.3, with per-peer connection pools, rate limits, LZ4
// compression, flow control and automatic reconnection.
//
// # Architecture
//
// One gnet engine per Transport both listens and dials; Config.EventLoops
// reactors multiplex every socket. There is no goroutine per connection:
// goroutines exist only while a connection is being dialed or its TLS
// handshake runs (bounded by HandshakeConcurrency and ConnectTimeout).
//
//   - Send frames the payload in the caller's goroutine (compressing it when
//     the peer agreed to LZ4 and it pays off) and appends the frame to a lane:
//     one of the peer's connection slots, chosen by the pool package (fewest
//     queued bytes). It then wakes the connection's event loop, which writes
//     everything queued in one write (or one TLS record run): many frames
//     per syscall, no per-message allocation.
//   - The latency path: when a plaintext connection is idle (nothing queued
//     or unwritten, the previous Send on it more than 10 µs ago), Send
//     writes the frame to the socket itself and skips the loop's wake-up.
//     Stats.DirectWrites counts these; a stream never takes this path.
//   - The loop decodes frames in place from gnet's buffer and delivers them
//     to the inline Handler (zero-copy) or into a lock-free ring that Recv
//     drains. Ring payloads are copied out: a read batch packs its small
//     ones (up to 1 KiB) side by side into a shared 32 KiB slab, larger ones
//     get a pooled buffer each; Message.Release gives them back.
//   - Flow control is credit-based (docs/PROTOCOL.md): a receiver grants
//     ReceiveWindow bytes per connection and returns credit as the
//     application consumes messages. A slow consumer therefore holds its
//     senders back instead of growing memory; gnet cannot pause a socket, so
//     the protocol does it.
//   - Outbound lanes survive their connections: a lost connection is redialed
//     with exponential backoff and jitter by a single scheduler (gnet's
//     ticker), and messages queued meanwhile are sent on the new connection.
//     Messages written to a connection that dies before the peer confirmed
//     consuming them are counted as unconfirmed; messages that can no longer
//     be sent are counted as dropped and logged. Nothing is lost silently.
//
// # Errors
//
// Every error wraps one of the sentinels (ErrTimeout, ErrPeerNotFound,
// ErrHandshakeFailed, ErrRateLimited, ErrQueueFull, ErrClosed, ...); test
// them with errors.Is.
package engine
