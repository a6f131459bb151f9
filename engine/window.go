package engine

import (
	"sync/atomic"

	"github.com/tensorchain/transport/codec"
)

// Credit flow control (docs/PROTOCOL.md, "Flow control"), one window per
// direction of a connection. Both types are pure bookkeeping: no I/O, no
// clock, so window_test.go checks the arithmetic without sockets.

// backlogSlack allows for control frames, which take no credit.
const backlogSlack = 64 << 10

// creditEveryMsgs bounds how many consumed messages go unconfirmed: small
// messages would otherwise be confirmed only every quarter window, and a
// lost connection would report far more of them as unconfirmed than were.
const creditEveryMsgs = 512

// recvWindow is the receiving half: the credit this node granted in its
// hello, what the peer has spent of it, and what the application has
// consumed and may be returned in Credit frames. Costs are in credit units
// (codec.CreditCost: a frame's size as if uncompressed).
type recvWindow struct {
	// Three groups, each 64 bytes of padding away from the next, wherever
	// the struct starts: what Recv writes with every message it takes
	// (consumed); what both sides read with every message or frame and
	// take writes once per batch (window, maxFrame, returned); and what
	// the loop writes with every frame (received). A line shared by two
	// of them bounced between the cores with every message (BENCHMARKS.md).
	_ [64]byte

	consumed     atomic.Int64 // any goroutine: cost of messages the application took
	consumedMsgs atomic.Int64 // any goroutine
	_            [64]byte

	window   int64 // credit granted in our hello; constant
	maxFrame int64 // cost of the largest frame accepted; constant
	// returned and returnedMsgs are what Credit frames have returned so
	// far: written by take (under the writer's lock, on the loop or by a
	// direct credit write, once per batch of messages), read anywhere.
	returned, returnedMsgs atomic.Int64
	_                      [64]byte

	received int64 // loop only: cost of data frames accepted
}

// newRecvWindow returns the window for a connection that granted window
// bytes and accepts payloads up to maxPayload bytes.
func newRecvWindow(window, maxPayload int) recvWindow {
	return recvWindow{window: int64(window), maxFrame: int64(codec.FrameLen(maxPayload))}
}

// admit reports whether a data frame of the given cost is within the
// credit the peer holds. Credit may be overrun by one frame (a sender
// writes while any credit remains), never more. Loop only.
func (w *recvWindow) admit(cost int) bool {
	return w.received+int64(cost)-w.returned.Load() <= w.window+w.maxFrame
}

// accept records a data frame taken for delivery. Loop only.
func (w *recvWindow) accept(cost int) { w.received += int64(cost) }

// backlogFits reports whether pending bytes, received but not delivered
// while delivery is paused, are within what a peer honouring credit can
// have sent.
func (w *recvWindow) backlogFits(pending int) bool {
	return int64(pending) <= w.window+w.maxFrame+backlogSlack
}

// consume records that the application took a delivered message, and
// reports whether a Credit frame is now due. Any goroutine.
func (w *recvWindow) consume(cost int32) (due bool) { return w.consumeN(cost, 1) }

// consumeN is consume for msgs messages of cost in all (RecvBatch).
func (w *recvWindow) consumeN(cost int32, msgs int64) (due bool) {
	b := w.consumed.Add(int64(cost))
	m := w.consumedMsgs.Add(msgs)
	return w.dueAt(b, m)
}

// due reports whether enough has been consumed to return credit. Any
// goroutine.
func (w *recvWindow) due() bool {
	return w.dueAt(w.consumed.Load(), w.consumedMsgs.Load())
}

// dueAt reports whether b bytes and m messages consumed in all call for a
// Credit frame: a quarter of the window, or creditEveryMsgs messages.
func (w *recvWindow) dueAt(b, m int64) bool {
	return b-w.returned.Load() >= w.window/4 || m-w.returnedMsgs.Load() >= creditEveryMsgs
}

// idleCreditLocked returns the connections that owe their peer credit and
// have consumed nothing since the previous tick, marked to return all of
// it. Credit normally goes back in batches (a quarter window, or
// creditEveryMsgs messages); without this, what the application consumed
// last before a pause would stay unconfirmed: reported unconfirmed if the
// connection then dies, and blocking a handover (handover.go). Under
// Transport.mu; conn.idleSeen is the ticker's.
func (t *Transport) idleCreditLocked() []*conn {
	var idle []*conn
	for c := range t.conns {
		w := &c.recvWin
		b := w.consumed.Load()
		if b <= w.returned.Load() || !c.established() {
			continue
		}
		if b == c.idleSeen {
			c.creditFlush.Store(true)
			idle = append(idle, c)
		}
		c.idleSeen = b
	}
	return idle
}

// take returns the Credit frame to send now, if any: what was consumed
// since the last one, once it is due, or whenever anything is owed when
// all is set (before a goodbye, or while closing). Under the writer's
// lock: the loop's flush, or a direct credit write (creditDirect).
func (w *recvWindow) take(all bool) (codec.Credit, bool) {
	b, m := w.consumed.Load(), w.consumedMsgs.Load()
	returned := w.returned.Load()
	if b <= returned || !(all || w.dueAt(b, m)) {
		return codec.Credit{}, false
	}
	cr := codec.Credit{Bytes: uint32(b - returned), Messages: uint32(m - w.returnedMsgs.Load())}
	w.returned.Store(b)
	w.returnedMsgs.Store(m)
	return cr, true
}

// sendWindow is the sending half: the credit the peer granted and how
// many of our messages it has confirmed consuming.
type sendWindow struct {
	// credit is what the peer still accepts: its hello and Credit frames
	// add (loop), writes subtract (the loop, or a direct write under the
	// writer's lock). Atomic: Send reads it to choose a direct write.
	credit atomic.Int64
	sent   uint64 // messages written: the loop or a direct write, under the writer's lock
	acked  uint64 // messages the peer confirmed: the loop, under the writer's lock
}

// grant adds credit from the peer's hello or a Credit frame, confirming
// msgs messages. Loop only, under the writer's lock.
func (w *sendWindow) grant(bytes int64, msgs uint32) {
	w.credit.Add(bytes)
	w.acked += uint64(msgs)
}

// open reports whether a data frame may be written now.
func (w *sendWindow) open() bool { return w.credit.Load() > 0 }

// available is the credit left (negative after a frame overran it).
func (w *sendWindow) available() int64 { return w.credit.Load() }

// spend records msgs messages written at a total credit cost. Under the
// writer's lock.
func (w *sendWindow) spend(cost int64, msgs int) {
	w.credit.Add(-cost)
	w.sent += uint64(msgs)
}

// unconfirmed is the number of messages written that the peer has not
// confirmed: if the connection dies, they may or may not have arrived.
func (w *sendWindow) unconfirmed() uint64 { return w.sent - min(w.acked, w.sent) }
