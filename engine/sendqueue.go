package engine

import (
	"context"
	"fmt"
	"sync/atomic"
)

// sendQueue is the admission budget of one class of a peer's outbound
// messages: how many messages and bytes are queued on its lanes and not
// yet handed to the kernel, and the Sends waiting for room. Each class has
// its own, so a bulk backlog never makes a heartbeat wait or fail with
// ErrQueueFull.
type sendQueue struct {
	pending   atomic.Int64 // messages queued, not yet written
	pendBytes atomic.Int64 // bytes of those messages
	space     sleepers     // Sends blocked for room, woken when pending drops
}

func newSendQueue() sendQueue { return sendQueue{space: sleepers{wakeup: make(chan struct{}, 1)}} }

// tryReserve claims room for one message of wire bytes without waiting.
// A message larger than maxBytes still fits into an empty queue.
func (q *sendQueue) tryReserve(wire int64, maxMsgs, maxBytes int) bool {
	return q.tryReserveN(1, wire, maxMsgs, maxBytes)
}

// tryReserveN claims room for msgs messages of wire bytes in all, without
// waiting: all of them or none.
func (q *sendQueue) tryReserveN(msgs, wire int64, maxMsgs, maxBytes int) bool {
	// A batch looks before it adds: a claim of many that is then taken
	// back would, meanwhile, refuse single sends that fit.
	if msgs > 1 && (q.pending.Load()+msgs > int64(maxMsgs) || q.pendBytes.Load()+wire > int64(maxBytes)) {
		return false
	}
	n := q.pending.Add(msgs)
	b := q.pendBytes.Add(wire)
	if n <= int64(maxMsgs) && (b <= int64(maxBytes) || n == 1) {
		if n < int64(maxMsgs) {
			q.signal() // pass the wake-up on to the next waiter, if any
		}
		return true
	}
	q.pending.Add(-msgs)
	q.pendBytes.Add(-wire)
	return false
}

// release returns the room of msgs messages of bytes (written, expired,
// dropped or refused) and wakes a waiting Send.
func (q *sendQueue) release(msgs, bytes int) bool {
	q.pending.Add(-int64(msgs))
	q.pendBytes.Add(-int64(bytes))
	return q.signal()
}

// signal wakes one Send waiting for room, and reports whether it did; each
// woken waiter passes the signal on if room remains.
func (q *sendQueue) signal() bool { return q.space.wake() }

// reserve claims room for one message of wire bytes in the class's queue
// to p, waiting (ctx != nil) or failing with ErrQueueFull (ctx == nil).
func (t *Transport) reserve(ctx context.Context, p *peer, class Class, wire int64) error {
	q := &p.queues[class]
	maxMsgs, maxBytes := t.cfg.MaxPendingMessages, t.cfg.MaxPendingBytes
	for {
		if q.tryReserve(wire, maxMsgs, maxBytes) {
			return nil
		}
		if ctx == nil {
			p.stats.queueFull.Add(1)
			t.stats.queueFull.Add(1)
			return fmt.Errorf("%w: %d %s messages, %d bytes queued", ErrQueueFull, q.pending.Load(), class, q.pendBytes.Load())
		}
		// Announce the wait, then re-check: a flush that freed room before
		// seeing waiters > 0 is visible to this second try.
		q.space.n.Add(1)
		if q.tryReserve(wire, maxMsgs, maxBytes) {
			q.space.n.Add(-1)
			return nil
		}
		select {
		case <-q.space.wakeup:
		case <-ctx.Done():
			q.space.n.Add(-1)
			return fmt.Errorf("queue full: %w", ctxError(ctx))
		case <-t.stopping:
			q.space.n.Add(-1)
			return ErrClosed
		}
		q.space.n.Add(-1)
		if t.closing.Load() {
			return ErrClosed
		}
	}
}
