package engine

import (
	"context"
	"fmt"
	"math"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
)

// Batches: SendBatch and RecvBatch move many messages per call, for
// callers that have many at hand (a Raft node's messages of one Ready, a
// pipeline of log entries) or drain many at once. A batch pays once for
// what a call pays per message: the peer and lane lookups, the room in
// the send queue, the lane's lock, the wake of its loop; on the receiving
// side, the ready list's lock, the credit returned to each connection and
// the wake of the next receiver. Messages keep every guarantee of Send
// and Recv: order, classes, fairness between peers, flow control, counts.

// batchChunk bounds the frames SendBatch encodes, reserves and queues at
// once (their headers live on the stack).
const batchChunk = 64

// SendBatch queues a copy of each payload for the peer, in order, as
// SendWith would with the same options one after the other: on one
// stream, the payloads arrive in the order given, after those of earlier
// sends. It blocks only while the peer's queue is full, until ctx ends.
//
// It returns how many payloads were queued: always a prefix of payloads,
// and all of them when err is nil. A payload over the size limits fails
// the batch before any is queued (ErrMessageTooLarge names its index);
// a full queue at ctx's end, an empty rate-limit bucket or a lost
// connection stop it where they occur, and err says why (errors.Is
// finds the same sentinels as for Send).
func (t *Transport) SendBatch(ctx context.Context, to string, payloads [][]byte, o SendOptions) (int, error) {
	return t.sendBatch(ctx, to, payloads, o)
}

// TrySendBatch is SendBatch that never blocks: it queues the payloads
// that fit and returns ErrQueueFull for the rest.
func (t *Transport) TrySendBatch(to string, payloads [][]byte, o SendOptions) (int, error) {
	return t.sendBatch(nil, to, payloads, o)
}

// sendBatch implements SendBatch (ctx != nil) and TrySendBatch.
func (t *Transport) sendBatch(ctx context.Context, to string, payloads [][]byte, o SendOptions) (int, error) {
	p, err := t.sendablePeer(to)
	for i := 0; err == nil && i < len(payloads); i++ {
		if err = t.checkSize(p, len(payloads[i])); err != nil {
			err = fmt.Errorf("message %d: %w", i, err)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("send batch to %s: %w", to, err)
	}
	if o.Class == Control {
		o.Stream = 0 // one ordered stream
	}
	sent := 0
	for sent < len(payloads) {
		n, err := t.sendChunk(ctx, p, payloads[sent:min(len(payloads), sent+batchChunk)], o)
		sent += n
		if err != nil {
			return sent, fmt.Errorf("send batch to %s: message %d of %d: %w", to, sent, len(payloads), err)
		}
	}
	return sent, nil
}

// sendChunk queues the first payloads of a chunk (at most batchChunk) and
// returns how many: all of them, or fewer with the reason the next one
// was not.
func (t *Transport) sendChunk(ctx context.Context, p *peer, payloads [][]byte, o SendOptions) (int, error) {
	allowed := t.allowBatch(p, o.Class, len(payloads))
	if allowed == 0 {
		t.countRateLimited(p)
		return 0, ErrRateLimited
	}
	l, err := t.laneFor(p, o)
	if err != nil {
		return 0, err
	}
	// Encoded here, into local arrays: frames that point at headers
	// through a pointer or a parameter would move the chunk to the heap.
	var (
		hdrs    [batchChunk][maxHeader]byte
		frames  [batchChunk]outFrame
		wires   [batchChunk]int64
		scratch [batchChunk]*[]byte
	)
	defer releaseScratch(scratch[:allowed])
	for i, pl := range payloads[:allowed] {
		hdr, body, buf := t.encodeFrame(p, pl, &hdrs[i], codec.Tag{}) // as Send frames it; counted once queued
		frames[i], wires[i], scratch[i] = outFrame{hdr, body}, int64(len(hdr)+len(body)), buf
	}
	n, err := t.reserveSome(ctx, p, o.Class, wires[:allowed])
	if err != nil {
		return 0, err
	}
	if n < allowed {
		p.limiter.Refund(allowed - n) // the next chunk takes theirs again
	}
	var wire, body, payload, packed int
	for i, f := range frames[:n] {
		wire += len(f.hdr) + len(f.body)
		body += len(f.body)
		payload += len(payloads[i])
		if compressed(f.hdr) {
			packed++
		}
	}
	if err := t.appendReserved(p, l, o, frames[:n], int64(wire)); err != nil {
		return 0, err
	}
	t.countQueued(payload, wire, body)
	t.stats.compressedFrames.Add(uint64(packed))
	if n < allowed {
		return n, nil // the queue had room for n: the next chunk waits for more
	}
	if allowed < len(payloads) {
		t.countRateLimited(p)
		return allowed, ErrRateLimited
	}
	return allowed, nil
}

// appendReserved is enqueue's append for a batch's frames, whose room in
// the class's queue is reserved (wire bytes in all): to lane l, or to the
// lane picked again if l retired meanwhile, then a wake of its loop; on
// failure it gives the room back. Send keeps its own loop, with
// appendFrame: passing its one frame through here measured 20 % slower in
// BenchmarkSendRecv64 (fewer frames per write followed).
func (t *Transport) appendReserved(p *peer, l *lane, o SendOptions, frames []outFrame, wire int64) error {
	var deadline int64
	if !o.Deadline.IsZero() {
		deadline = o.Deadline.UnixNano()
	}
	for {
		c, res := l.appendFrames(frames, deadline)
		switch {
		case res == appended:
			if c != nil {
				c.wake()
			}
			return nil
		case res == laneSealed || t.closing.Load(): // as in enqueue
			p.queues[o.Class].release(len(frames), int(wire))
			return ErrClosed
		}
		var err error
		if l, err = t.laneFor(p, o); err != nil {
			p.queues[o.Class].release(len(frames), int(wire))
			return err
		}
	}
}

// allowBatch takes outbound rate-limit tokens for up to n bulk messages
// and returns for how many it got one: n, or, when the bucket holds
// fewer, as many as it gives one by one. Control is exempt.
func (t *Transport) allowBatch(p *peer, class Class, n int) int {
	if class == Control || p.limiter.AllowN(n) {
		return n
	}
	k := 0
	for k < n && p.limiter.Allow() {
		k++
	}
	return k
}

// reserveSome claims room in the class's queue for the first of the
// frames whose wire sizes are given, waiting for room for the first as
// reserve does, and returns for how many it did: all at once when they
// fit, else the first and as many more as fit without waiting.
func (t *Transport) reserveSome(ctx context.Context, p *peer, class Class, wires []int64) (int, error) {
	q := &p.queues[class]
	maxMsgs, maxBytes := t.cfg.MaxPendingMessages, t.cfg.MaxPendingBytes
	var total int64
	for _, w := range wires {
		total += w
	}
	if q.tryReserveN(int64(len(wires)), total, maxMsgs, maxBytes) {
		return len(wires), nil
	}
	if err := t.reserve(ctx, p, class, wires[0]); err != nil {
		return 0, err
	}
	n := 1
	for n < len(wires) && q.tryReserve(wires[n], maxMsgs, maxBytes) {
		n++
	}
	return n, nil
}

// releaseScratch returns the buffers of compressed bodies.
func releaseScratch(bufs []*[]byte) {
	for _, b := range bufs {
		bufpool.Put(b)
	}
}

// RecvBatch fills msgs with received messages and returns how many: it
// waits, as Recv does, until at least one has arrived or ctx ends, then
// takes the ones already there, up to len(msgs), in the order that
// repeated Recv calls would return them (control first; peers served by
// bytes), from at most 8 peers' inboxes per call. Release each. With an
// empty msgs it returns 0 at once. It is not available when
// Config.Handler is set.
func (t *Transport) RecvBatch(ctx context.Context, msgs []Message) (int, error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	n := 0
	err := t.awaitTake(ctx, &t.recvAny, func() bool {
		n = t.popInto(msgs)
		return n > 0
	})
	return n, err
}

// popInto takes up to len(msgs) messages, control class first, and does
// for them what taken does for one: credit returned once per run of
// messages from one connection, parked connections restarted once per
// inbox, the next receiver woken once.
func (t *Transport) popInto(msgs []Message) int {
	var ins inboxSet
	n := t.inboxes[Control].popInto(msgs, &ins)
	n += t.inboxes[Bulk].popInto(msgs[n:], &ins)
	if n == 0 {
		return 0
	}
	run, cost, count := msgs[0].conn, int32(0), int64(0)
	for _, m := range msgs[:n] {
		if m.conn != run || cost > math.MaxInt32-m.cost {
			run.consumedN(cost, count)
			run, cost, count = m.conn, 0, 0
		}
		cost += m.cost
		count++
	}
	run.consumedN(cost, count)
	for _, in := range ins.ins[:ins.n] {
		t.resumeStalled(in)
	}
	t.passWakeOn(Bulk, nil)
	return n
}
