package hashicorpraft

import (
	"context"
	"io"
	"sync"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// controlClass sends a request on the control class; the engine sends its
// reply there too.
var controlClass = engine.SendOptions{Class: engine.Control}

// appendClass sends a request on the target's append stream.
var appendClass = engine.SendOptions{Class: engine.Bulk, Stream: AppendStream}

// AppendEntries sends an AppendEntries RPC and waits for the answer. A
// heartbeat travels on the control class, anything else on the target's
// append stream. Implements raft.Transport.
func (t *Transport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	o, op := appendClass, "append entries"
	if isHeartbeat(args) {
		o, op = controlClass, "heartbeat"
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.b = appendAppendEntriesRequest(appendPrefix(buf.b, kindAppendEntries), args)
	return roundTrip(t, id, target, op, buf.b, o, resp, decodeAppendEntriesResponse)
}

// RequestVote sends a RequestVote RPC on the control class and waits for
// the answer. Implements raft.Transport.
func (t *Transport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	buf := getBuffer()
	defer putBuffer(buf)
	buf.b = appendRequestVoteRequest(appendPrefix(buf.b, kindRequestVote), args)
	return roundTrip(t, id, target, "request vote", buf.b, controlClass, resp, decodeRequestVoteResponse)
}

// RequestPreVote sends a RequestPreVote RPC on the control class and waits
// for the answer. Implements raft.WithPreVote.
func (t *Transport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	buf := getBuffer()
	defer putBuffer(buf)
	buf.b = appendRequestPreVoteRequest(appendPrefix(buf.b, kindRequestPreVote), args)
	return roundTrip(t, id, target, "request pre-vote", buf.b, controlClass, resp, decodeRequestPreVoteResponse)
}

// TimeoutNow sends a TimeoutNow RPC (leadership transfer) on the control
// class and waits for the answer. Implements raft.Transport.
func (t *Transport) TimeoutNow(id raft.ServerID, target raft.ServerAddress, args *raft.TimeoutNowRequest, resp *raft.TimeoutNowResponse) error {
	buf := getBuffer()
	defer putBuffer(buf)
	buf.b = appendTimeoutNowRequest(appendPrefix(buf.b, kindTimeoutNow), args)
	return roundTrip(t, id, target, "timeout now", buf.b, controlClass, resp, decodeTimeoutNowResponse)
}

// InstallSnapshot streams a snapshot to a follower: args is the engine
// stream's header, data its body, read to io.EOF under the stream's flow
// control. It waits for the follower's answer until the RPC timeout plus
// the snapshot's size at the snapshot rate (WithSnapshotRate). Like every
// RPC it fails at once when the connection is down (engine FailFast), and
// raft tries again later. Implements raft.Transport.
func (t *Transport) InstallSnapshot(id raft.ServerID, target raft.ServerAddress, args *raft.InstallSnapshotRequest, resp *raft.InstallSnapshotResponse, data io.Reader) error {
	const op = "install snapshot"
	if t.isClosed() {
		return t.rpcError(op, id, target, raft.ErrTransportShutdown)
	}
	if err := t.ensurePeer(id, target); err != nil {
		return t.rpcError(op, id, target, err)
	}
	buf := getBuffer()
	defer putBuffer(buf)
	buf.b = appendInstallSnapshotRequest(appendPrefix(buf.b, kindInstallSnapshot), args)
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.snapshotTimeout(args.Size))
	defer cancel()
	m, err := t.eng.RequestStreamWith(ctx, string(id), buf.b, data, engine.StreamOptions{FailFast: true})
	if err != nil {
		t.peerGone(id, err)
		return t.rpcError(op, id, target, err)
	}
	err = decodeReply(m.Payload, resp, decodeInstallSnapshotResponse)
	m.Release()
	if err != nil {
		return t.rpcError(op, id, target, err)
	}
	return nil
}

// roundTrip sends an encoded request to server id and decodes the answer
// into resp. The request fails at once when its connection is down
// (engine FailFast: raft retries with backoff), and after the RPC timeout
// when no answer comes.
func roundTrip[R any](t *Transport, id raft.ServerID, target raft.ServerAddress, op string, payload []byte, o engine.SendOptions, resp *R, decode func([]byte, *R) error) error {
	if t.isClosed() {
		return t.rpcError(op, id, target, raft.ErrTransportShutdown)
	}
	if err := t.ensurePeer(id, target); err != nil {
		return t.rpcError(op, id, target, err)
	}
	ctx, cancel := context.WithTimeout(t.ctx, t.opts.timeout)
	defer cancel()
	o.FailFast = true
	o.Deadline, _ = ctx.Deadline() // not written by then: dropped, never delivered late
	m, err := t.eng.RequestWith(ctx, string(id), payload, o)
	if err != nil {
		t.peerGone(id, err)
		return t.rpcError(op, id, target, err)
	}
	err = decodeReply(m.Payload, resp, decode)
	m.Release()
	if err != nil {
		return t.rpcError(op, id, target, err)
	}
	return nil
}

// buffer is a pooled encoding buffer: the engine copies what it sends, so
// a buffer is free again as soon as the send returns.
type buffer struct{ b []byte }

// maxPooledBuffer is the largest buffer kept for reuse; a rare huge batch
// of entries does not pin its memory in the pool.
const maxPooledBuffer = 1 << 20

var buffers = sync.Pool{New: func() any { return &buffer{b: make([]byte, 0, 1024)} }}

func getBuffer() *buffer { return buffers.Get().(*buffer) }

func putBuffer(b *buffer) {
	if cap(b.b) > maxPooledBuffer {
		return
	}
	b.b = b.b[:0]
	buffers.Put(b)
}
