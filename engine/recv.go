package engine

import (
	"context"
	"fmt"
	"github.com/tensorchain/transport/budget"
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
	// Stream, when not nil, reads the body of the stream this message
	// opened (Transport.SendStream, RequestStream); Payload is the
	// stream's header. Read it to io.EOF or Close it: an open stream
	// holds the sender's window. Releasing the message leaves the
	// stream open.
	Stream *Stream

	buf   *[]byte         // the payload's own pooled buffer, or
	slab  *slab           // the slab holding it (small payloads, slab.go)
	acct  *budget.Account // buf is charged to it (memory.go)
	conn  *conn
	cost  int32  // flow-control credit it returns when taken
	reqID uint64 // a request's id: Reply answers it (request.go)
}

// Release returns the payload's buffer to the pool, and its memory to the
// budget (Config.MemoryBudget): a message never released keeps its bytes
// charged. Payload must not be used afterwards. Calling it again on the same variable is harmless, but
// Message is a value: copies share the buffer, so release only one of them.
func (m *Message) Release() {
	switch {
	case m.slab != nil:
		m.slab.release()
	case m.buf != nil:
		releasePayload(m.acct, m.buf)
	}
	m.slab, m.buf, m.Payload = nil, nil, nil
}

// Recv returns the next received message, waiting until one arrives or ctx
// ends (ErrTimeout at its deadline, ErrCanceled when cancelled). Control-class messages come before bulk ones that
// arrived earlier, and within a class the peers with messages waiting
// share the calls by bytes (inbox.go): one peer's flood, or its 16 MiB
// messages, never queue ahead of another's next message. After Close it
// returns what was already received, then ErrClosed. It is not available
// when Config.Handler is set.
func (t *Transport) Recv(ctx context.Context) (Message, error) {
	if t.cfg.inline() {
		return Message{}, fmt.Errorf("recv: %w: messages go to Config.Handler or MessageHandler", ErrInvalidConfig)
	}
	for {
		if m, ok := t.pop(); ok {
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
		if m, ok := t.pop(); ok {
			t.waiters.Add(-1)
			return m, nil
		}
		select {
		case <-t.notify:
			t.waiters.Add(-1)
		case <-ctx.Done():
			t.waiters.Add(-1)
			return Message{}, fmt.Errorf("recv: %w", ctxError(ctx))
		case <-t.done:
			t.waiters.Add(-1)
		}
	}
}

// pop takes the next message, control class first; within a class, from
// the peer that has had the fewest bytes (inbox.go).
func (t *Transport) pop() (Message, bool) {
	for i := Control; ; i = Bulk {
		if m, in, ok := t.inboxes[i].pop(); ok {
			t.taken(m, in)
			return m, true
		}
		if i == Bulk {
			return Message{}, false
		}
	}
}

// taken runs after a message leaves its inbox: it returns flow-control
// credit to the sending connection and restarts the peer's stalled
// connections once its inbox has drained enough.
func (t *Transport) taken(m Message, in *inbox) {
	m.conn.consumed(m.cost)
	if in.anyStalled.Load() && in.drained(t.cfg.recvBufferBytes()) {
		in.wakeStalled()
	}
	if t.waiters.Load() > 0 && t.anyQueued() {
		t.notifyRecv() // pass the wake-up on to another waiting Recv
	}
}

// anyQueued reports whether messages wait for Recv.
func (t *Transport) anyQueued() bool {
	return t.inboxes[Control].nready.Load() > 0 || t.inboxes[Bulk].nready.Load() > 0
}

// queued is the number of messages waiting for Recv (for Stats: every
// inbox holding any is in its class's heap, its peer gone or not).
func (t *Transport) queued() int {
	n := 0
	for i := range t.inboxes {
		rl := &t.inboxes[i]
		rl.mu.Lock()
		for _, in := range rl.heap {
			n += in.len()
		}
		rl.mu.Unlock()
	}
	return n
}

// notifyRecv wakes one waiting Recv, if any.
func (t *Transport) notifyRecv() bool {
	if t.waiters.Load() == 0 {
		return false
	}
	select {
	case t.notify <- struct{}{}:
		return true
	default:
		return false
	}
}
