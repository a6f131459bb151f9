package engine

import (
	"fmt"

	"github.com/tensorchain/transport/codec"
)

// How a tagged frame is routed on the event loop: a request goes to the
// application like any message (with the id Reply answers); a reply to the
// request waiting for it (request.go); a stream's opening to the
// application with a new Stream, its data to that Stream, its credit and
// resets to the stream's other end (stream.go). Except for requests and
// openings, a tagged frame is consumed as it arrives: its connection
// credit returns at once, and what it holds is bounded by other means
// (a reply by its waiter, stream data by the stream's window).

// deliverTagged routes one tagged frame other than a request. It returns
// false when the frame must wait (inbox full, or no memory yet).
func (c *conn) deliverTagged(p *peer, tag codec.Tag, payload []byte, buf *[]byte, cost int) (bool, error) {
	t := c.t
	switch tag.Kind {
	case codec.KindReply:
		m, ok := c.keep(p, payload, buf, cost)
		if !ok {
			return false, nil // no memory yet: decoded again once delivery resumes
		}
		if w := t.pending.take(tag.ID, p); w != nil {
			t.pending.complete(w, reply{m: m})
			c.wokeSomeone()
		} else { // its requester gave up, or it was never ours
			t.stats.lateReplies.Add(1)
			m.Release()
		}
		c.recvWin.consume(int32(cost))
		return true, nil
	case codec.KindStreamOpen, codec.KindStreamRequest:
		return c.openStream(p, tag, payload, buf, cost), nil
	case codec.KindStreamData, codec.KindStreamEnd:
		c.wokeSomeone() // its reader may be waiting
		return c.streamData(p, tag, payload, buf, cost)
	case codec.KindStreamCredit:
		n, err := codec.DecodeStreamCredit(payload)
		if err != nil {
			return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		t.streams.credit(p, tag.ID, int64(n))
		c.wokeSomeone() // its writer may be waiting
	case codec.KindStreamReset:
		why, err := codec.DecodeStreamReset(payload)
		if err != nil {
			return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		t.streams.reset(p, tag.ID, why)
		c.wokeSomeone()
	default:
		return false, fmt.Errorf("from %s: %w: a frame of kind %d from a sender", c.remote, ErrProtocol, tag.Kind)
	}
	c.dropTagged(buf, cost)
	return true, nil
}

// keep is retain, committed, for a message that leaves the connection's
// flow control at once (a reply, a stream's data): its credit returns as
// it arrives, not when the application is done with it.
func (c *conn) keep(p *peer, payload []byte, buf *[]byte, cost int) (Message, bool) {
	m, ok := c.retain(p, payload, buf, cost)
	if !ok {
		return Message{}, false
	}
	if m.slab != nil {
		c.rd.slabs.commit(len(payload))
	}
	m.conn = nil
	return m, true
}

// dropTagged consumes a routed frame that leaves nothing behind.
func (c *conn) dropTagged(buf *[]byte, cost int) {
	if buf != nil {
		releasePayload(c.acct, buf)
	}
	c.recvWin.consume(int32(cost))
}
