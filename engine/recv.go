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
	return t.recv(ctx, &t.recvAny, t.pop)
}

// RecvClass is Recv for the messages of one class only: a goroutine that
// serves the control class with it never waits behind its own handling of
// bulk messages, which another goroutine takes with RecvClass(ctx, Bulk).
// A message goes to whichever caller, of Recv or of RecvClass for its
// class, asks first.
func (t *Transport) RecvClass(ctx context.Context, class Class) (Message, error) {
	if class != Control && class != Bulk {
		return Message{}, fmt.Errorf("recv: %w: class %d", ErrInvalidConfig, class)
	}
	return t.recv(ctx, &t.recvClass[class], func() (Message, bool) { return t.popClass(class) })
}

// recv waits for pop to yield a message.
func (t *Transport) recv(ctx context.Context, w *sleepers, pop func() (Message, bool)) (Message, error) {
	var m Message
	err := t.awaitTake(ctx, w, func() bool {
		var ok bool
		m, ok = pop()
		return ok
	})
	return m, err
}

// awaitTake waits, as one of the receivers w, until take succeeds or ctx
// ends; take takes messages and reports whether it got any.
func (t *Transport) awaitTake(ctx context.Context, w *sleepers, take func() bool) error {
	if t.cfg.inline() {
		return fmt.Errorf("recv: %w: messages go to Config.Handler or MessageHandler", ErrInvalidConfig)
	}
	for {
		if take() {
			return nil
		}
		select {
		case <-t.done:
			return fmt.Errorf("recv: %w", ErrClosed)
		default:
		}
		w.n.Add(1)
		// Re-check after announcing ourselves: a producer that pushed before
		// seeing waiters > 0 made the message visible to this take.
		if take() {
			w.n.Add(-1)
			return nil
		}
		select {
		case <-w.wakeup:
			w.n.Add(-1)
		case <-ctx.Done():
			w.n.Add(-1)
			return fmt.Errorf("recv: %w", ctxError(ctx))
		case <-t.done:
			w.n.Add(-1)
		}
	}
}

// pop takes the next message, control class first; within a class, from
// the peer that has had the fewest bytes (inbox.go).
func (t *Transport) pop() (Message, bool) {
	if m, ok := t.popClass(Control); ok {
		return m, true
	}
	return t.popClass(Bulk)
}

// popClass takes the next message of one class.
func (t *Transport) popClass(class Class) (Message, bool) {
	m, in, ok := t.inboxes[class].pop()
	if ok {
		t.taken(m, in)
	}
	return m, ok
}

// taken runs after a message leaves its inbox: it returns flow-control
// credit to the sending connection and restarts the peer's stalled
// connections once its inbox has drained enough.
func (t *Transport) taken(m Message, in *inbox) {
	m.conn.consumed(m.cost)
	t.resumeStalled(in)
	t.passWakeOn(m.Class, in)
}

// resumeStalled restarts the connections parked on in once it has drained
// enough.
func (t *Transport) resumeStalled(in *inbox) {
	if in.anyStalled.Load() && in.drained(t.cfg.recvBufferBytes()) {
		in.wakeStalled()
	}
}

// passWakeOn wakes another waiting receiver of each kind that has
// messages left to take: one wake-up per delivery batch serves them all.
// last is the inbox of class just taken from (nil: none, or several).
func (t *Transport) passWakeOn(class Class, last *inbox) {
	lastOf := func(c Class) *inbox {
		if c == class {
			return last
		}
		return nil
	}
	if t.recvAny.n.Load() > 0 && (t.inboxes[Control].mayHold(lastOf(Control)) || t.inboxes[Bulk].mayHold(lastOf(Bulk))) {
		t.recvAny.wake()
	}
	for c := range t.recvClass {
		if t.recvClass[c].n.Load() > 0 && t.inboxes[c].mayHold(lastOf(Class(c))) {
			t.recvClass[c].wake()
		}
	}
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

// notifyRecv wakes a receiver that may take a message of class just
// delivered: a Recv caller and a RecvClass caller of that class, if any
// waits. It reports whether it woke one.
func (t *Transport) notifyRecv(class Class) bool {
	woke := t.recvAny.wake()
	return t.recvClass[class].wake() || woke
}
