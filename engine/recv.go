package engine

import (
	"context"
	"fmt"

	"github.com/tensorchain/transport/internal/bufpool"
)

// Message is one received payload.
type Message struct {
	// From is the sender's node id, as proven by its handshake.
	From string
	// Payload is the message body. It stays valid until Release. Small
	// payloads share a slab with the others of their read batch, which is
	// recycled when all are released: copy a payload you keep for long.
	Payload []byte
	// ConnID identifies the connection it arrived on; messages from one
	// connection arrive in the order they were sent.
	ConnID uint64
	// Class is the class the sender chose (SendOptions.Class).
	Class Class

	buf  *[]byte // the payload's own pooled buffer, or
	slab *slab   // the slab holding it (small payloads, slab.go)
	conn *conn
	cost int32 // flow-control credit it returns when taken
}

// Release returns the payload's buffer to the pool. Payload must not be
// used afterwards. Calling it again on the same variable is harmless, but
// Message is a value: copies share the buffer, so release only one of them.
func (m *Message) Release() {
	switch {
	case m.slab != nil:
		m.slab.release()
	case m.buf != nil:
		bufpool.Put(m.buf)
	}
	m.slab, m.buf, m.Payload = nil, nil, nil
}

// Recv returns the next received message, waiting until one arrives or ctx
// ends (ErrTimeout). After Close it returns what was already received, then
// ErrClosed. It is not available when Config.Handler is set.
func (t *Transport) Recv(ctx context.Context) (Message, error) {
	if t.cfg.Handler != nil {
		return Message{}, fmt.Errorf("recv: %w: messages go to Config.Handler", ErrInvalidConfig)
	}
	for {
		if m, ok := t.ring.pop(); ok {
			t.taken(m)
			return m, nil
		}
		select {
		case <-t.done:
			return Message{}, fmt.Errorf("recv: %w", ErrClosed)
		default:
		}
		t.waiters.Add(1)
		// Re-check after announcing ourselves: a producer that pushed before
		// seeing waiters > 0 made the message visible to this pop.
		if m, ok := t.ring.pop(); ok {
			t.waiters.Add(-1)
			t.taken(m)
			return m, nil
		}
		select {
		case <-t.notify:
			t.waiters.Add(-1)
		case <-ctx.Done():
			t.waiters.Add(-1)
			return Message{}, fmt.Errorf("recv: %w: %w", ErrTimeout, ctx.Err())
		case <-t.done:
			t.waiters.Add(-1)
		}
	}
}

// taken runs after a message leaves the ring: it returns flow-control
// credit to the sending connection and restarts stalled connections.
func (t *Transport) taken(m Message) {
	m.conn.consumed(m.cost)
	if t.anyStalled.Load() && t.ring.len() <= t.resumeMark() {
		t.wakeStalled()
	}
	if t.waiters.Load() > 0 && t.ring.len() > 0 {
		t.notifyRecv() // pass the wake-up on to another waiting Recv
	}
}

// notifyRecv wakes one waiting Recv, if any.
func (t *Transport) notifyRecv() {
	if t.waiters.Load() == 0 {
		return
	}
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// addStalled parks a connection that found the ring full.
func (t *Transport) addStalled(c *conn) {
	t.stallMu.Lock()
	t.stalled = append(t.stalled, c)
	t.anyStalled.Store(true)
	t.stallMu.Unlock()
	t.stats.stalls.Add(1)
	if t.ring.len() <= t.resumeMark() {
		t.wakeStalled() // Recv drained the ring between our push and the park
	}
}

// resumeMark is the ring depth at or below which stalled connections
// resume. Waiting for half the ring to drain, rather than for one free
// slot, makes each resume deliver a batch instead of one message per wake.
func (t *Transport) resumeMark() int {
	return len(t.ring.slots) / 2
}

// wakeStalled restarts every parked connection.
func (t *Transport) wakeStalled() {
	t.stallMu.Lock()
	list := t.stalled
	t.stalled = nil
	t.anyStalled.Store(false)
	t.stallMu.Unlock()
	for _, c := range list {
		c.rd.pause.CompareAndSwap(int32(ringFull), int32(running))
		c.forceWake()
	}
}
