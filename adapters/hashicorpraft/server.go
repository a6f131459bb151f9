package hashicorpraft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// The receiving side. Three stages, each a goroutine of the transport
// (never one per RPC), joined by bounded queues:
//
//	receive:  engine RecvClass -> decode -> heartbeat fast path, pipeline
//	          acks, or the inbound queue of the class
//	dispatch: inbound queue -> raft's consumer channel -> the answer queue
//	          of the RPC's class
//	respond:  answer queue -> wait for raft's answer on the RPC's own
//	          RespChan -> engine Reply (or, for a pipelined append, an ack)
//
// Each class has its own receiving and dispatching goroutines: the control
// receiver answers heartbeats on the spot and completes pipeline acks, and
// votes, pre-votes and TimeoutNow reach raft through the control
// dispatcher, so none of them waits behind the bulk goroutines, which block
// while raft is busy with appends (that wait is what holds a fast leader
// back, through the engine's flow control), and the control receiver
// never waits for raft. raft answers the RPCs it takes from the consumer channel one at
// a time, in the order it took them, so a responder waiting on the oldest
// RPC of its queue waits on the one raft answers next. The control class
// has its own responder: a vote's answer never waits behind a bulk reply
// blocked on a full queue.

// call is one received RPC on its way through raft and back.
type call struct {
	kind     kind
	req      engine.Message // the request, its payload released: Reply needs its id
	from     string
	pipeline uint64 // pipelined appends: the sender's pipeline and sequence
	seq      uint64
	queue    int // answer queue: answerBulk or answerControl
	rpc      raft.RPC
	respCh   chan raft.RPCResponse // rpc.RespChan, buffered: raft never blocks on it
	stream   *engine.Stream        // InstallSnapshot's body
}

func newCall(k kind, from string) *call {
	c := &call{kind: k, from: from, respCh: make(chan raft.RPCResponse, 1)}
	c.rpc.RespChan = c.respCh
	return c
}

// abandon gives up a call that will not be answered (the transport is
// closing): its stream, if any, is cancelled.
func (c *call) abandon() {
	if c.stream != nil {
		_ = c.stream.Close()
	}
}

// receive is the receiving goroutine of one class: it takes the class's
// messages from the engine until Close.
func (t *Transport) receive(class engine.Class) {
	defer t.wg.Done()
	for {
		m, err := t.eng.RecvClass(t.ctx, class)
		if err != nil {
			if !t.isClosed() {
				t.log.Error("receive stopped: the engine failed", "error", err)
			}
			return
		}
		t.handle(m)
	}
}

// handle routes one message.
func (t *Transport) handle(m engine.Message) {
	k, body, err := splitPrefix(m.Payload)
	switch {
	case err != nil:
		t.refuse(m, err)
	case k == kindPipelineAck:
		t.pipes.ack(m.From, body)
		m.Release()
	case k == kindPipelineAppend && m.Class != engine.Bulk:
		t.refuse(m, fmt.Errorf("%w: a pipelined append on the %v class", ErrMalformed, m.Class))
	case k == kindPipelineAppend:
		t.receivePipelined(m, body)
	case !m.IsRequest() || (k == kindInstallSnapshot) != (m.Stream != nil):
		t.refuse(m, fmt.Errorf("%w: a %v that is not a request of its own type", ErrMalformed, k))
	default:
		t.receiveRequest(m, k, body)
	}
}

// receiveRequest decodes an RPC request and passes it on.
func (t *Transport) receiveRequest(m engine.Message, k kind, body []byte) {
	c := newCall(k, m.From)
	if m.Class == engine.Control {
		c.queue = answerControl
	}
	owned := bytes.Clone(body) // the request's byte strings alias it
	m.Release()                // early: its memory goes back to the engine's budget
	c.req = m
	if m.Stream != nil { // not a nil *Stream in a non-nil io.Reader
		c.stream, c.rpc.Reader = m.Stream, m.Stream
	}
	var heartbeat bool
	var err error
	switch k {
	case kindAppendEntries:
		r := new(raft.AppendEntriesRequest)
		c.rpc.Command = r
		err = decodeAppendEntriesRequest(owned, r)
		heartbeat = err == nil && isHeartbeat(r)
	case kindRequestVote:
		r := new(raft.RequestVoteRequest)
		c.rpc.Command = r
		err = decodeRequestVoteRequest(owned, r)
	case kindRequestPreVote:
		r := new(raft.RequestPreVoteRequest)
		c.rpc.Command = r
		err = decodeRequestPreVoteRequest(owned, r)
	case kindInstallSnapshot:
		r := new(raft.InstallSnapshotRequest)
		c.rpc.Command = r
		err = decodeInstallSnapshotRequest(owned, r)
	case kindTimeoutNow:
		r := new(raft.TimeoutNowRequest)
		c.rpc.Command = r
		err = decodeTimeoutNowRequest(owned, r)
	}
	if err == nil {
		err = checkSender(c.rpc.Command, m.From)
	}
	if err != nil {
		t.log.Warn("refusing an RPC", "rpc", k.String(), "from", m.From, "error", err)
		t.answer(c, raft.RPCResponse{Error: err}, false)
		return
	}
	if heartbeat && t.fastHeartbeat(c) {
		return
	}
	if m.Class == engine.Control {
		t.handOver(c)
		return
	}
	t.enqueue(c)
}

// handOver queues a control-class RPC (a vote, a pre-vote, TimeoutNow, a
// heartbeat without a fast path) for the control class's own dispatching
// goroutine: it reaches raft behind no bulk RPC, and the control receiving
// goroutine never waits for raft (it answers heartbeats and completes
// pipeline acks meanwhile); it waits only while that queue is full.
func (t *Transport) handOver(c *call) {
	select {
	case t.control <- c:
	case <-t.shutdown:
		c.abandon()
	}
}

// receivePipelined decodes a pipelined AppendEntries and passes it on; it
// is answered with an ack on the control class.
func (t *Transport) receivePipelined(m engine.Message, body []byte) {
	pipeline, seq, rest, err := decodePipelineHeader(body)
	if err != nil {
		t.refuse(m, err)
		return
	}
	c := newCall(kindPipelineAppend, m.From)
	c.pipeline, c.seq = pipeline, seq
	owned := bytes.Clone(rest)
	m.Release()
	r := new(raft.AppendEntriesRequest)
	c.rpc.Command = r
	err = decodeAppendEntriesRequest(owned, r)
	if err == nil {
		err = checkSender(r, m.From)
	}
	if err != nil {
		t.log.Warn("refusing an RPC", "rpc", kindPipelineAppend.String(), "from", m.From, "error", err)
		t.answer(c, raft.RPCResponse{Error: err}, false)
		return
	}
	t.enqueue(c)
}

// fastHeartbeat hands a heartbeat to raft's heartbeat handler, on this
// goroutine, and answers it. It reports false when no handler is set.
func (t *Transport) fastHeartbeat(c *call) bool {
	fn := t.heartbeat.Load()
	if fn == nil {
		return false
	}
	(*fn)(c.rpc)
	select {
	case resp := <-c.respCh:
		t.answer(c, resp, false)
	default: // not answered inline (raft is shutting down): the responder waits for it
		select {
		case t.answers[answerControl] <- c:
		case <-t.shutdown:
		}
	}
	return true
}

// checkSender refuses an RPC whose header names a server other than the
// node the engine authenticated the connection as: the engine's node id is
// the raft ServerID.
func checkSender(cmd any, from string) error {
	h, ok := cmd.(raft.WithRPCHeader)
	if !ok {
		return nil
	}
	if id := h.GetRPCHeader().ID; len(id) > 0 && string(id) != from {
		return fmt.Errorf("%w: the RPC names server %q but comes from node %q", ErrMalformed, id, from)
	}
	return nil
}

// refuse drops a message that cannot be decoded far enough to be
// answered in kind: a request gets the error as its reply.
func (t *Transport) refuse(m engine.Message, err error) {
	t.log.Warn("dropping an undecodable message", "from", m.From, "class", m.Class.String(), "error", err)
	if m.Stream != nil {
		_ = m.Stream.Close()
	}
	if m.IsRequest() {
		buf := getBuffer()
		buf.b = appendErrorAnswer(append(buf.b, wireVersion), err)
		_ = t.eng.TryReply(&m, buf.b)
		putBuffer(buf)
	}
	m.Release()
}

// enqueue passes a decoded bulk RPC to raft. When raft is waiting for one
// and none is queued ahead of it, the bulk receiving goroutine hands it
// over itself: a goroutine hop fewer on the path every append takes.
// Otherwise the dispatching goroutine does, in order, and enqueue waits
// only while its queue is full.
func (t *Transport) enqueue(c *call) {
	if t.queued.Load() == 0 { // only the bulk goroutine adds: nothing is ahead of c
		select {
		case t.consumeCh <- c.rpc:
			t.toResponder(c)
			return
		default:
		}
	}
	t.queued.Add(1)
	select {
	case t.inbound <- c:
	case <-t.shutdown:
		t.queued.Add(-1)
		c.abandon()
	}
}

// toResponder passes an RPC raft has taken to the responder of its class.
func (t *Transport) toResponder(c *call) bool {
	select {
	case t.answers[c.queue] <- c:
		return true
	case <-t.shutdown:
		c.abandon()
		return false
	}
}

// dispatch is a dispatching goroutine: it hands the RPCs of in to raft in
// the order they arrived, then to the responder of their class. queued,
// when set, counts the calls of in still ahead of raft (enqueue's direct
// hand-over must not overtake them).
func (t *Transport) dispatch(in chan *call, queued *atomic.Int32) {
	defer t.wg.Done()
	for {
		var c *call
		select {
		case c = <-in:
		case <-t.shutdown:
			return
		}
		select {
		case t.consumeCh <- c.rpc:
		case <-t.shutdown:
			c.abandon()
			return
		}
		ok := t.toResponder(c)
		if queued != nil {
			queued.Add(-1) // after the responder has it: a direct hand-over cannot overtake it
		}
		if !ok {
			return
		}
	}
}

// respond is a responding goroutine: it waits for raft's answer to each
// RPC of its queue, in order, and sends it.
func (t *Transport) respond(q chan *call) {
	defer t.wg.Done()
	for {
		var c *call
		select {
		case c = <-q:
		case <-t.shutdown:
			return
		}
		select {
		case resp := <-c.respCh:
			t.answer(c, resp, true)
		case <-t.shutdown:
			c.abandon()
			return
		}
	}
}

// answer sends raft's answer to c: an engine reply to a request, an ack to
// a pipelined append. It never blocks unless block is set, and then only
// while the peer's queue is full, up to the RPC timeout.
func (t *Transport) answer(c *call, resp raft.RPCResponse, block bool) {
	if c.stream != nil {
		_ = c.stream.Close() // raft is done with it: a no-op after io.EOF, a cancel before
	}
	buf := getBuffer()
	defer putBuffer(buf)
	var err error
	if c.kind == kindPipelineAppend {
		buf.b = appendAnswer(appendPipelineHeader(appendPrefix(buf.b, kindPipelineAck), c.pipeline, c.seq), c.kind, resp)
		err = t.eng.TrySendWith(c.from, buf.b, controlClass)
		if block && errors.Is(err, engine.ErrQueueFull) {
			ctx, cancel := context.WithTimeout(t.ctx, t.opts.timeout)
			err = t.eng.SendWith(ctx, c.from, buf.b, controlClass)
			cancel()
		}
	} else {
		buf.b = appendReply(buf.b, c.kind, resp)
		err = t.eng.TryReply(&c.req, buf.b)
		if block && errors.Is(err, engine.ErrQueueFull) {
			ctx, cancel := context.WithTimeout(t.ctx, t.opts.timeout)
			err = t.eng.Reply(ctx, &c.req, buf.b)
			cancel()
		}
	}
	if err != nil && !t.isClosed() {
		t.log.Warn("could not answer an RPC", "rpc", c.kind.String(), "to", c.from, "error", err)
	}
}
