// Package hashicorpraft is a raft.Transport for github.com/hashicorp/raft
// built on the engine package's event-loop TCP transport: one set of
// multiplexed, flow-controlled, optionally mutually authenticated (TLS 1.3,
// node-id verified) connections per peer instead of NetworkTransport's
// socket per in-flight RPC.
//
// # Classes
//
// Each RPC travels on the engine class that suits it:
//
//   - RequestVote, RequestPreVote, TimeoutNow and heartbeats (AppendEntries
//     with no entries, detected exactly as raft's NetworkTransport does) are
//     engine requests on the Control class: they have a connection, queue
//     and window of their own and never wait behind log entries or
//     snapshots, on the sender or on the receiver.
//   - AppendEntries that carry entries, and the pipeline, use bulk stream
//     AppendStream of the target: one ordered stream per peer, so pipelined
//     requests arrive in the order raft sent them. Pipeline acknowledgements
//     come back on the Control class.
//   - InstallSnapshot is an engine stream (RequestStream): the request is
//     the stream's header, the snapshot its body, any length, under the
//     engine's per-stream flow control.
//
// # Goroutines
//
// A Transport runs six goroutines whatever the traffic, and one more per
// open pipeline; per class (control, bulk) one receives the class's
// messages (engine RecvClass) and decodes them, one hands the RPCs to
// raft's consumer channel in arrival order, and one waits for raft's
// answers, in that same order, and sends them back. The control receiver
// answers heartbeats inline through raft's heartbeat handler and completes
// pipeline acks, and never waits for raft: a busy raft or a blocked bulk
// path delays no heartbeat. No goroutine is started per RPC, on either
// side.
//
// # Encoding
//
// Requests and responses use a compact binary encoding (codec.go): varints
// for integers, length-prefixed byte strings that keep nil apart from
// empty, and every field of raft's structs, including RPCHeader.ID and
// Addr, Log.Extensions and Log.AppendedAt. Decoders reject trailing or
// missing bytes and never allocate more than a bounded multiple of their
// input.
//
// # Identity
//
// The engine's Config.NodeID must be the node's raft ServerID, and the
// address raft knows a server by must be its engine listen address: peers
// are dialed by (ServerID, ServerAddress), and an RPC whose header names a
// sender other than the node the connection authenticated is refused.
package hashicorpraft
