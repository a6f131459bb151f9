package hashicorpraft

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// A pipeline sends AppendEntries without waiting for their answers: each
// is a one-way message on the target's append stream (so they arrive in
// the order sent) tagged with the pipeline's id and a sequence number, and
// the follower acks each on the control class with the same tags. The
// control class's receiving goroutine matches acks to futures and hands
// the completed ones to Consumer itself, in the order they were sent, when
// Consumer has room and nothing is ahead of them; else the pipeline's
// goroutine does (it also fails the overdue).
//
// A request's answer can be lost only with a connection. Acks come in
// sequence order (the follower's raft answers in order, on one ordered
// stream), so an ack for a later request fails every earlier one still
// waiting (errLost); what no later ack uncovers fails at its deadline. A
// failed future has a zero response (Success false), on which raft leaves
// the pipeline and falls back to AppendEntries.
type pipeline struct {
	t      *Transport
	id     uint64
	target raft.ServerID
	addr   raft.ServerAddress
	ctx    context.Context // cancelled by Close: a blocked send gives up
	cancel context.CancelFunc

	slots   chan struct{}          // one per request sent and not yet delivered
	doneCh  chan raft.AppendFuture // Consumer
	wake    chan struct{}          // capacity 1: a future completed, or a new head
	closing chan struct{}
	exited  chan struct{}
	once    sync.Once
	sendMu  sync.Mutex // orders the sends: sequence order is wire order

	mu       sync.Mutex
	seq      uint64
	inflight []*appendFuture // sent and not yet delivered, oldest first
	closed   bool
	handing  bool // run has taken futures from inflight and not yet put them all in doneCh
}

// AppendEntriesPipeline opens a pipeline of AppendEntries to a server,
// with at most WithMaxInFlight requests awaiting their answers.
// Implements raft.Transport.
func (t *Transport) AppendEntriesPipeline(id raft.ServerID, target raft.ServerAddress) (raft.AppendPipeline, error) {
	if t.opts.maxInFlight < 2 {
		return nil, raft.ErrPipelineReplicationNotSupported // raft compares it with ==
	}
	if t.isClosed() {
		return nil, t.rpcError("open pipeline", id, target, raft.ErrTransportShutdown)
	}
	if err := t.ensurePeer(id, target); err != nil {
		return nil, t.rpcError("open pipeline", id, target, err)
	}
	n := t.opts.maxInFlight
	p := &pipeline{
		t: t, target: id, addr: target,
		slots:   make(chan struct{}, n),
		doneCh:  make(chan raft.AppendFuture, n),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		exited:  make(chan struct{}),
	}
	p.ctx, p.cancel = context.WithCancel(t.ctx)
	if !t.pipes.add(p) {
		p.cancel()
		return nil, t.rpcError("open pipeline", id, target, raft.ErrTransportShutdown)
	}
	go p.run()
	return p, nil
}

// AppendEntries sends args down the pipeline. It blocks while the
// pipeline has its maximum of requests in flight, and fails at once when
// the connection to the target is down. Implements raft.AppendPipeline.
func (p *pipeline) AppendEntries(args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) (raft.AppendFuture, error) {
	const op = "pipelined append entries"
	select {
	case p.slots <- struct{}{}:
	case <-p.closing:
		return nil, p.t.rpcError(op, p.target, p.addr, raft.ErrPipelineShutdown)
	}
	now := time.Now()
	f := &appendFuture{start: now, deadline: now.Add(p.t.opts.timeout), args: args, resp: resp, done: make(chan struct{})}

	p.sendMu.Lock()
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.sendMu.Unlock()
		<-p.slots
		return nil, p.t.rpcError(op, p.target, p.addr, raft.ErrPipelineShutdown)
	}
	p.seq++
	f.seq = p.seq
	p.inflight = append(p.inflight, f) // before the send: its ack may come at once
	p.mu.Unlock()
	buf := getBuffer()
	buf.b = appendAppendEntriesRequest(appendPipelineHeader(appendPrefix(buf.b, kindPipelineAppend), p.id, f.seq), args)
	err := p.send(buf.b)
	putBuffer(buf)
	p.sendMu.Unlock()

	if err != nil {
		p.mu.Lock()
		inFlight := p.remove(f)
		p.mu.Unlock()
		if inFlight { // else its deadline passed during the send: run delivers it and frees its slot
			<-p.slots
		}
		p.t.peerGone(p.target, err)
		return nil, p.t.rpcError(op, p.target, p.addr, err)
	}
	p.signal() // the run goroutine times the new head
	return f, nil
}

// send queues one pipelined request, failing at once when the connection
// is down, waiting up to the RPC timeout while the queue is full.
func (p *pipeline) send(payload []byte) error {
	o := engine.SendOptions{Class: engine.Bulk, Stream: AppendStream, FailFast: true}
	err := p.t.eng.TrySendWith(string(p.target), payload, o)
	if errors.Is(err, engine.ErrQueueFull) {
		ctx, cancel := context.WithTimeout(p.ctx, p.t.opts.timeout)
		err = p.t.eng.SendWith(ctx, string(p.target), payload, o)
		cancel()
	}
	return err
}

// Consumer returns the channel of completed futures, in the order their
// requests were sent. Implements raft.AppendPipeline.
func (p *pipeline) Consumer() <-chan raft.AppendFuture { return p.doneCh }

// Close closes the pipeline: requests still in flight fail with an error
// wrapping raft.ErrPipelineShutdown, and its goroutine exits before Close
// returns. Implements raft.AppendPipeline.
func (p *pipeline) Close() error {
	p.once.Do(func() {
		p.mu.Lock()
		p.closed = true
		for _, f := range p.inflight {
			p.finish(f, raft.ErrPipelineShutdown)
		}
		p.mu.Unlock()
		close(p.closing)
		p.cancel()
		p.t.pipes.remove(p.id)
		<-p.exited
	})
	return nil
}

// ack completes the request answered by an ack: answer is the ack's
// encoded answer. Earlier requests still waiting are lost. Called by the
// control class's receiving goroutine; never blocks.
func (p *pipeline) ack(seq uint64, answer []byte) {
	p.mu.Lock()
	for _, f := range p.inflight {
		if f.completed {
			continue
		}
		if f.seq > seq {
			break // a stale or duplicate ack
		}
		if f.seq < seq {
			p.finish(f, errLost)
			continue
		}
		p.finish(f, decodeAck(answer, f.resp))
		break
	}
	more := p.deliverInline()
	p.mu.Unlock()
	if more {
		p.signal()
	}
}

// deliverInline moves the completed futures at the head of the in-flight
// list to doneCh while it has room, so an ack reaches raft without a hop
// through run, and reports whether run must still look (a completed head
// left, or run is handing futures over itself: order is delivery order).
// Under mu.
func (p *pipeline) deliverInline() bool {
	if p.closed {
		return false // Close failed them all; raft reads no more
	}
	if p.handing {
		return true
	}
	n := 0
	for _, f := range p.inflight {
		if !f.completed {
			break
		}
		select {
		case p.doneCh <- f:
			<-p.slots // f's own: never blocks
			n++
			continue
		default:
		}
		break
	}
	p.dropHead(n)
	return len(p.inflight) > 0 && p.inflight[0].completed
}

// dropHead removes the first n futures, delivered or taken for delivery,
// from the in-flight list. Under mu.
func (p *pipeline) dropHead(n int) {
	rest := copy(p.inflight, p.inflight[n:])
	clear(p.inflight[rest:])
	p.inflight = p.inflight[:rest]
}

// decodeAck decodes an ack's answer into resp; it returns the remote
// error, or why the answer could not be decoded.
func decodeAck(answer []byte, resp *raft.AppendEntriesResponse) error {
	body, remote, err := decodeAnswer(answer)
	if err == nil && body != nil {
		err = decodeAppendEntriesResponse(bytes.Clone(body), resp)
	}
	if err != nil {
		return fmt.Errorf("ack: %w", err)
	}
	return remote
}

// finish completes f with err (nil for success). A local failure zeroes
// the response: raft reads only the response of a pipelined request, and
// Success false makes it leave the pipeline. Under mu.
func (p *pipeline) finish(f *appendFuture, err error) {
	if f.completed {
		return
	}
	if err != nil && !errors.Is(err, ErrRemote) {
		*f.resp = raft.AppendEntriesResponse{}
		err = p.t.rpcError("pipelined append entries", p.target, p.addr, err)
	}
	f.err, f.completed = err, true
	close(f.done)
}

// remove drops f, whose send failed, from the in-flight list; false when
// run has already taken it for delivery. Under mu.
func (p *pipeline) remove(f *appendFuture) bool {
	for i, g := range p.inflight {
		if g == f {
			p.inflight = append(p.inflight[:i], p.inflight[i+1:]...)
			return true
		}
	}
	return false
}

func (p *pipeline) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run is the pipeline's goroutine: it delivers completed futures in
// order and fails those whose deadline passed.
func (p *pipeline) run() {
	defer close(p.exited)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ready []*appendFuture
	for {
		var next time.Time
		ready, next = p.takeReady(ready[:0], time.Now())
		for i, f := range ready {
			select {
			case p.doneCh <- f:
				<-p.slots
			case <-p.closing:
				return
			}
			ready[i] = nil
		}
		if len(ready) > 0 {
			p.mu.Lock()
			p.handing = false // acks may deliver again
			more := p.deliverInline()
			p.mu.Unlock()
			if more {
				continue
			}
		}
		if !next.IsZero() {
			timer.Reset(time.Until(next))
		}
		select {
		case <-p.wake:
		case <-timer.C:
		case <-p.closing:
			return
		}
		timer.Stop()
	}
}

// takeReady removes the completed futures at the head of the in-flight
// list, first failing those overdue at now, and appends them to ready. It
// returns the deadline of the new head, zero if none.
func (p *pipeline) takeReady(ready []*appendFuture, now time.Time) ([]*appendFuture, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, f := range p.inflight {
		if !f.completed && !now.Before(f.deadline) {
			p.finish(f, fmt.Errorf("%w: no answer within %v", engine.ErrTimeout, p.t.opts.timeout))
		}
		if !f.completed {
			break
		}
		ready = append(ready, f)
		n++
	}
	p.handing = n > 0
	p.dropHead(n)
	if len(p.inflight) == 0 {
		return ready, time.Time{}
	}
	return ready, p.inflight[0].deadline
}

// appendFuture is one pipelined AppendEntries. Implements raft.AppendFuture.
type appendFuture struct {
	start    time.Time
	deadline time.Time
	seq      uint64
	args     *raft.AppendEntriesRequest
	resp     *raft.AppendEntriesResponse

	completed bool          // under the pipeline's mu
	err       error         // set before done closes
	done      chan struct{} // closed once completed
}

// Error waits for the request's answer and returns its error, nil on
// success.
func (f *appendFuture) Error() error {
	<-f.done
	return f.err
}

// Start returns when the request was sent.
func (f *appendFuture) Start() time.Time { return f.start }

// Request returns the request.
func (f *appendFuture) Request() *raft.AppendEntriesRequest { return f.args }

// Response returns the response, valid once Error has returned.
func (f *appendFuture) Response() *raft.AppendEntriesResponse { return f.resp }

// pipelineSet holds the open pipelines by id, for acks to find theirs.
type pipelineSet struct {
	mu     sync.Mutex
	m      map[uint64]*pipeline
	nextID uint64
	closed bool
}

func (s *pipelineSet) init() { s.m = make(map[uint64]*pipeline) }

// add gives p its id and registers it; false once the set is closed.
func (s *pipelineSet) add(p *pipeline) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.nextID++
	p.id = s.nextID
	s.m[p.id] = p
	return true
}

func (s *pipelineSet) remove(id uint64) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// ack routes an ack, received from node from, to its pipeline. Acks for
// pipelines closed since, or from a node that is not the pipeline's
// target, are dropped.
func (s *pipelineSet) ack(from string, body []byte) {
	id, seq, answer, err := decodePipelineHeader(body)
	if err != nil {
		return
	}
	s.mu.Lock()
	p := s.m[id]
	s.mu.Unlock()
	if p != nil && string(p.target) == from {
		p.ack(seq, answer)
	}
}

// closeAll closes every pipeline and refuses new ones.
func (s *pipelineSet) closeAll() {
	s.mu.Lock()
	s.closed = true
	open := make([]*pipeline, 0, len(s.m))
	for _, p := range s.m {
		open = append(open, p)
	}
	s.mu.Unlock()
	for _, p := range open {
		_ = p.Close()
	}
}
