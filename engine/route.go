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
		m, ok := c.retain(p, payload, buf, cost)
		if !ok {
			return false, nil // no memory yet: decoded again once delivery resumes
		}
		w := t.pending.take(tag.ID, p)
		if w == nil { // its requester gave up, or it was never ours
			t.stats.lateReplies.Add(1)
			if m.buf != nil { // a slab copy is simply not committed
				releasePayload(c.acct, m.buf)
			}
			c.recvWin.consume(int32(cost))
			return true, nil
		}
		if m.slab != nil {
			c.rd.slabs.commit(len(payload))
		}
		m.conn = nil // its credit returns now, not when the requester is done with it
		w.ch <- reply{m: m}
		c.recvWin.consume(int32(cost))
		return true, nil
	case codec.KindStreamOpen, codec.KindStreamRequest:
		return c.openStream(p, tag, payload, buf, cost), nil
	case codec.KindStreamData, codec.KindStreamEnd:
		return c.streamData(p, tag, payload, buf, cost)
	case codec.KindStreamCredit:
		n, err := codec.DecodeStreamCredit(payload)
		if err != nil {
			return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		t.streams.credit(p, tag.ID, int64(n))
	case codec.KindStreamReset:
		why, err := codec.DecodeStreamReset(payload)
		if err != nil {
			return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		t.streams.reset(p, tag.ID, why)
	default:
		return false, fmt.Errorf("from %s: %w: a frame of kind %d from a sender", c.remote, ErrProtocol, tag.Kind)
	}
	c.dropTagged(buf, cost)
	return true, nil
}

// dropTagged consumes a routed frame that leaves nothing behind.
func (c *conn) dropTagged(buf *[]byte, cost int) {
	if buf != nil {
		releasePayload(c.acct, buf)
	}
	c.recvWin.consume(int32(cost))
}
