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
//     one of the peer's connection slots, chosen by the pool package from the
//     message's class and stream. It then wakes the connection's event loop, which writes
//     everything queued in one write (or one TLS record run): many frames
//     per syscall, no per-message allocation. The wake rings the loop's
//     doorbell, a Unix socket pair whose read end the loop serves
//     (doorbell.go): one byte written, nothing allocated, where gnet's
//     Wake allocates twice.
//   - The latency path: when a connection is idle (nothing queued or
//     unwritten, the previous Send on it more than 10 µs ago), Send writes
//     the frame to the socket itself (over TLS, sealed by Send itself, for
//     frames of one record) and skips the loop's wake-up.
//     Stats.DirectWrites counts these; a stream never takes this path.
//   - Placement (placement.go): the engine chooses the loop of every
//     connection it dials, keeping a peer's control lane off the loops of
//     its bulk lanes, so a heartbeat never waits for a loop's bulk
//     callbacks. Connect chooses every lane's loop before any dial starts,
//     control first, and dials the control lane first, so the listener's
//     gnet balancer tends to do the same for the connections it accepts.
//   - The loop decodes frames in place from gnet's buffer and delivers them
//     to the inline Handler (zero-copy) or into a lock-free ring that Recv
//     drains. Ring payloads are copied out: a read batch packs its small
//     ones (up to 1 KiB) side by side into a shared 32 KiB slab, larger ones
//     get a pooled buffer each; Message.Release gives them back.
//   - Batches (batch.go): SendBatch queues many frames under one lock with
//     one reservation of queue room and one wake of the loop; RecvBatch
//     takes many messages under one lock of the ready list, and returns
//     their credit once per connection. Order, classes and fairness are
//     those of Send and Recv.
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
//   - Close flushes, says goodbye, then shuts the listening socket down so
//     that gnet's acceptor exits before the event loops do (close.go): a
//     socket accepted after the loops stopped would never be closed.
//
// # Streams, classes and the ordering contract
//
// Messages one node sends to one peer on one stream arrive in the order of
// the sends that returned nil, whatever PoolSize and whoever dialed. A
// stream is named by SendOptions.Stream within the bulk class (Send is
// stream 0); the control class is one stream. The pool package maps a
// stream to a connection slot (a lane) and keeps it there: bulk stream k
// always takes bulk lane k mod PoolSize, so a stream's messages share one
// ordered queue, which survives reconnects, and one TCP connection at a
// time. Pools give parallelism between streams, never reordering within
// one. Why inbound connections do not carry our sends to a peer we dial:
// they come and go on the peer's schedule, and a stream moved between
// connections could overtake itself. Only a peer we never dial is sent to
// on its own connections, one per class at a time (the oldest), and a class
// with no connection yet queues on a lane that waits for one. When we later
// Connect to such a peer, our own lanes hold their messages until the peer
// has confirmed what its connections carried (handover.go).
//
// The control class (heartbeats, votes, acks, small RPCs) has a connection
// per peer of its own, so it never shares a socket buffer with bulk bytes;
// its own queue budget, so a bulk backlog never fills it; its own window,
// so a slow bulk consumer never stops it; and its own inboxes, which
// Recv drains first. It is exempt from the rate limits: a refused or
// throttled heartbeat is an election. Deadlines (SendOptions.Deadline) drop
// a message that was not written in time; FailFast refuses at once when the
// message's connection is down.
//
// # Isolation
//
// No peer, hostile or stuck, can slow the others, starve new connections
// or exhaust memory: everything a peer can make the node hold is charged
// to Config.MemoryBudget (memory.go, package budget), with a reserve per
// connection; each peer has inboxes of its own, which Recv shares fairly
// by bytes (inbox.go); a callback yields its loop after a turn (reader.go);
// connection limits evict the oldest unfinished handshake before they
// refuse, silent and trickling connections are cut after
// HandshakeIdleTimeout, and TLS handshakes waiting for their peer hold no
// slot (admission.go, tlsstate.Limiter). Every refusal is counted in Stats.
//
// # Requests and streams
//
// Request sends a message tagged with an id and waits for the Reply the
// peer sends with the same id (request.go): the waiter is pooled and
// filed in a sharded table, so a round trip allocates nothing, and the
// loop that decodes a reply hands it straight to its waiter, bypassing
// the inboxes. A request fails at once when its ctx ends, when a
// connection of its class to or from the peer closes (ErrConnectionLost),
// or when the transport closes. SendStream carries an io.Reader of any
// length as a stream (stream.go, streamrecv.go): 64 KiB frames on one bulk
// connection under a window per stream that the receiving application's
// reads return, so a stream costs at most a window of memory at each end,
// and its frames take connection credit only until they reach the
// stream's buffer, so an unread stream stops its sender and nothing else.
// The frames are laid out in docs/PROTOCOL.md ("Tagged frames"); route.go
// says where the loop sends each kind.
//
// # Errors
//
// Every error wraps one of the sentinels (ErrTimeout, ErrPeerNotFound,
// ErrHandshakeFailed, ErrRateLimited, ErrQueueFull, ErrClosed, ...); test
// them with errors.Is.
package engine
