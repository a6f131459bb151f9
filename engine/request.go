package engine

import (
	"context"
	"fmt"

	"github.com/tensorchain/transport/codec"
)

// Request sends payload to a peer on the control class and waits for the
// reply (Transport.Reply), until ctx ends. It is RequestWith with
// SendOptions{Class: Control}: votes, heartbeats and other small RPCs.
func (t *Transport) Request(ctx context.Context, to string, payload []byte) (Message, error) {
	return t.RequestWith(ctx, to, payload, SendOptions{Class: Control})
}

// RequestWith sends payload as a request with the options o (class,
// ordered stream, deadline, fail-fast) and returns the peer's reply, which
// the caller must Release. It fails:
//   - when ctx ends first, with ErrTimeout (its deadline passed) or
//     ErrCanceled (it was cancelled), wrapping ctx.Err(); the
//     request's state is freed at once and a reply that comes later is
//     dropped and counted in Stats.LateReplies;
//   - when a connection of the request's class to or from the peer closes
//     while it waits, with ErrConnectionLost: the request or its reply may
//     have been on it (the peer may or may not have acted on it);
//   - with ErrClosed when the transport closes, and with the errors of
//     SendWith when the request cannot be queued.
//
// No goroutine waits for a request but its caller, and a round trip
// allocates nothing once warm.
func (t *Transport) RequestWith(ctx context.Context, to string, payload []byte, o SendOptions) (Message, error) {
	p := t.peer(to)
	if p == nil {
		return Message{}, fmt.Errorf("request to %s: %w", to, ErrPeerNotFound)
	}
	id := t.pending.nextID()
	w := t.pending.add(id, p, o.Class)
	if err := t.sendTagged(ctx, to, codec.Tag{Kind: codec.KindRequest, ID: id}, payload, o); err != nil {
		t.abandon(id, w)
		return Message{}, fmt.Errorf("request: %w", err)
	}
	return t.await(ctx, to, id, w)
}

// RequestAsync sends payload as a request with the options o, like
// RequestWith, but does not wait: done is called exactly once, with the
// reply (which done must Release) or with the error RequestWith would
// have returned, unless RequestAsync itself returns an error (the request
// could not be queued; done is then never called). It blocks only while
// the peer's queue is full, until ctx ends; ctx also bounds the wait for
// the reply.
//
// done runs on the event loop that received the reply, or where the
// failure was seen (a connection's loop, Close, the goroutine
// context.AfterFunc starts when ctx ends): it must not block. Hand
// anything slow to a goroutine of your own. A pipeline of requests thus
// needs no goroutine per request, nor one waiting on their replies.
func (t *Transport) RequestAsync(ctx context.Context, to string, payload []byte, o SendOptions, done func(Message, error)) error {
	p := t.peer(to)
	if p == nil {
		return fmt.Errorf("request to %s: %w", to, ErrPeerNotFound)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("request to %s: %w", to, ctxError(ctx))
	}
	id := t.pending.nextID()
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { t.expire(id, ctx) })
	}
	t.pending.addAsync(id, p, o.Class, done, stop)
	if ctx.Err() != nil { // it may have ended before the waiter was in the table
		t.expire(id, ctx)
		return nil
	}
	if err := t.sendTagged(ctx, to, codec.Tag{Kind: codec.KindRequest, ID: id}, payload, o); err != nil {
		if w := t.pending.take(id, nil); w != nil {
			if w.stop != nil {
				w.stop()
			}
			t.pending.recycle(w)
			return fmt.Errorf("request: %w", err)
		}
		// A failure (or ctx) took it first and has called done: the outcome is given.
	}
	return nil
}

// expire fails asynchronous request id, if it still waits, because ctx
// ended.
func (t *Transport) expire(id uint64, ctx context.Context) {
	if w := t.pending.take(id, nil); w != nil {
		t.pending.complete(w, reply{err: ctxError(ctx)})
	}
}

// await waits for the reply to request id.
func (t *Transport) await(ctx context.Context, to string, id uint64, w *waiter) (Message, error) {
	select {
	case r := <-w.ch:
		t.pending.recycle(w)
		if r.err != nil {
			return Message{}, fmt.Errorf("request to %s: %w", to, r.err)
		}
		return r.m, nil
	case <-ctx.Done():
		t.abandon(id, w)
		return Message{}, fmt.Errorf("request to %s: %w", to, ctxError(ctx))
	}
}

// abandon gives up on request id: its waiter leaves the table at once, or,
// when a reply or a failure has already taken it, that outcome is
// discarded (a reply counts as late).
func (t *Transport) abandon(id uint64, w *waiter) {
	if t.pending.take(id, nil) == nil {
		r := <-w.ch // whoever took it completes it without blocking
		if r.err == nil {
			r.m.Release()
			t.stats.lateReplies.Add(1)
		}
	}
	t.pending.recycle(w)
}

// IsRequest reports whether the message is a request (Transport.Request)
// or a stream request (Transport.RequestStream) that expects a Reply.
func (m *Message) IsRequest() bool { return m.reqID != 0 }

// Reply sends payload to the peer as the answer to req, a message for
// which IsRequest is true, on the class the request came on. It blocks
// only while the peer's queue is full, until ctx ends; from an inline
// MessageHandler use TryReply, which never blocks. req may be released
// before or after.
func (t *Transport) Reply(ctx context.Context, req *Message, payload []byte) error {
	return t.reply(ctx, req, payload)
}

// TryReply is Reply that never blocks: a full queue returns ErrQueueFull.
func (t *Transport) TryReply(req *Message, payload []byte) error {
	return t.reply(nil, req, payload)
}

func (t *Transport) reply(ctx context.Context, req *Message, payload []byte) error {
	if req.reqID == 0 {
		return fmt.Errorf("reply to %s: %w", req.From, ErrNotRequest)
	}
	o := SendOptions{Class: req.Class}
	if err := t.sendTagged(ctx, req.From, codec.Tag{Kind: codec.KindReply, ID: req.reqID}, payload, o); err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	return nil
}

// failRequests fails the requests waiting on class connections of peer p
// (one of them closed; a nil p fails every request, with ErrClosed).
func (t *Transport) failRequests(p *peer, class Class, err error) {
	t.pending.failWhere(func(w *waiter) bool {
		return p == nil || (w.peer == p && w.class == class)
	}, err, &t.stats.requestsFailed)
}
