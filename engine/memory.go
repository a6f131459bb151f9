package engine

import (
	"fmt"
	"time"

	"github.com/tensorchain/transport/budget"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
)

// The memory budget (Config.MemoryBudget): everything a peer can make
// this node hold is charged to its connection's budget accounts, which
// are guaranteed Config.ConnMemoryReserve and draw on the pool's shared
// part beyond that (Config.sharedMemory: what is left for reserves keeps new
// connections admitted however full the shared part is):
//
//   - buffers (loop only, reconciled after every callback): partial frames
//     and frames held by a pause (rd.in, rd.plain), ciphertext (the TLS
//     session's input, wr.cipher), gnet's inbound and outbound buffers,
//     and the rest of a partial frame whose length is known, charged
//     before its bytes arrive. A charge refused here cuts the connection
//     (ErrOverloaded): gnet reads a socket whatever we do, so bytes that
//     cannot be charged cannot be held either.
//   - payloads handed to Recv (slabs, pooled buffers, decompression
//     output), charged before the buffer is taken from the pool and
//     given back by Message.Release. They can wait, so they may fill only
//     three quarters of the shared part (budget.Account.Defer), leaving
//     the rest to buffered input. A charge refused here pauses
//     delivery on the connection (starved) until the ticker finds room;
//     meanwhile its bytes wait as buffers, charged as above, and the
//     peer's credit holds it back.
//   - a peer's inbox rings (inbox.ensureRing), charged to the transport's
//     ring account (the shared part, no reserve) when its first message of
//     the class arrives, and given back when the peer is gone.

// handshakeReserve is a connection's reserve until its hello is in: what
// a hello and a TLS handshake's flights need. The full ConnMemoryReserve
// comes with the hello (growReserve), so connections that never finish a
// handshake cannot take the budget's room for reserves.
const handshakeReserve = 16 << 10

// A connection has two accounts, each with half its reserve: one for its
// buffers (bufAcct), whose charges cannot wait, one for the payloads it
// delivers (acct), whose can. Payloads the application has
// not released yet then never use up the reserve that the connection's
// next read needs, and a connection whose peer behaves is not cut however
// full the rest of the budget is.

// openAccount reserves the connection's handshake share of the budget;
// false means the budget cannot admit another connection.
func (c *conn) openAccount() bool {
	pay, ok := c.t.mem.Open(handshakeReserve / 2)
	if !ok {
		return false
	}
	buf, ok := c.t.mem.Open(handshakeReserve / 2)
	if !ok {
		pay.Close()
		return false
	}
	c.acct, c.bufAcct = pay, buf
	return true
}

// noReserve says why the budget refused a reserve of n bytes.
func (t *Transport) noReserve(n int) string {
	return fmt.Sprintf("the memory budget cannot reserve %d bytes for another connection (%d of %d in use)",
		n, t.mem.Used(), t.mem.Limit())
}

// growReserve raises the reserve of a connection whose hello arrived to
// ConnMemoryReserve; false means the budget cannot.
func (c *conn) growReserve() bool {
	half := int64(max(c.t.cfg.ConnMemoryReserve, handshakeReserve) / 2)
	if !c.bufAcct.SetReserve(half) {
		return false
	}
	return c.acct.SetReserve(half)
}

// closeAccount gives back the connection's buffers (already released)
// and its reserves; payloads not yet released stay charged until they are.
func (c *conn) closeAccount() {
	if c.acct == nil {
		return
	}
	c.bufAcct.Give(c.rd.charged)
	c.rd.charged = 0
	c.bufAcct.Close()
	c.acct.Close()
}

// heldBuffers is what the connection's buffers hold now, plus the rest of
// a partial frame still to come. Loop only.
func (c *conn) heldBuffers() int64 {
	n := c.rd.in.size() + c.rd.plain.size() + c.wr.cipher.size() +
		c.sock.InboundBuffered() + c.sock.OutboundBuffered()
	if c.tls != nil {
		n += c.tls.Buffered()
	}
	return int64(n + c.partialRest())
}

// partialRest is how many bytes of the partial frame at the front of the
// connection's input are still to come and have no room in its buffer
// yet (roomForFrame makes the room, which the buffer's size then counts).
// Loop only.
func (c *conn) partialRest() int {
	buf := c.input()
	front := buf.data()
	if len(front) < 4 {
		return 0
	}
	return max(0, codec.FrameSize(front)-len(front)-buf.spare())
}

// input is the buffer frames are decoded from: TLS plaintext, or the
// bytes taken from gnet. Loop only.
func (c *conn) input() *scratch {
	if c.tls != nil {
		return &c.rd.plain
	}
	return &c.rd.in
}

// notePartial starts or stops the clock of Config.FrameTimeout: a frame
// whose first bytes arrived must be complete in time. Loop only.
func (c *conn) notePartial() {
	front := c.input().data()
	partial := len(front) > 0 && (len(front) < 4 || codec.FrameSize(front) > len(front))
	switch since := c.rd.partialSince.Load(); {
	case !partial && since != 0:
		c.rd.partialSince.Store(0)
	case partial && since == 0:
		c.rd.partialSince.Store(time.Now().UnixNano())
	}
}

// checkPartial fails a connection whose partial frame is older than
// Config.FrameTimeout (a peer trickling a frame holds its buffer, and a
// share of the budget, for no longer than that). Loop only.
func (c *conn) checkPartial(now time.Time) error {
	since := c.rd.partialSince.Load()
	if since == 0 || now.Sub(time.Unix(0, since)) <= c.t.cfg.FrameTimeout {
		return nil
	}
	return fmt.Errorf("from %s: %w: a frame still incomplete after %v", c.remote, ErrTimeout, c.t.cfg.FrameTimeout)
}

// chargeBuffers brings the buffer charge to what the buffers hold. Loop
// only, after each callback.
func (c *conn) chargeBuffers() error {
	want := c.heldBuffers()
	switch d := want - c.rd.charged; {
	case d < 0:
		c.bufAcct.Give(-d)
	case d > 0:
		if !c.bufAcct.Take(d) {
			c.t.stats.overBudget.Add(1)
			return fmt.Errorf("from %s: %w: memory budget exhausted (%d bytes buffered for this connection, %d of %d in use)",
				c.remote, ErrOverloaded, want, c.t.mem.Used(), c.t.mem.Limit())
		}
	}
	c.rd.charged = want
	c.notePartial()
	return nil
}

// chargePayload charges n bytes for a payload buffer about to be taken,
// or pauses the connection (starved) when the budget cannot grant them.
func (c *conn) chargePayload(n int) bool {
	if c.acct.Defer(int64(n)) { // payloads can wait; buffered input cannot (budget.Account.Defer)
		c.rd.pause.CompareAndSwap(int32(starved), int32(running))
		return true
	}
	c.starve()
	return false
}

// starve pauses delivery until the ticker finds the budget has room.
func (c *conn) starve() {
	if pauseState(c.rd.pause.Swap(int32(starved))) != starved {
		c.t.stats.starved.Add(1)
	}
}

// payloadBuffer returns a pooled buffer of n bytes charged to the
// connection, or nil when the budget cannot grant it (delivery pauses).
func (c *conn) payloadBuffer(n int) *[]byte {
	if !c.chargePayload(bufpool.SizeOf(n)) {
		return nil
	}
	return bufpool.Get(n)
}

// releasePayload returns a buffer from payloadBuffer and its charge.
func releasePayload(acct *budget.Account, buf *[]byte) {
	acct.Give(int64(cap(*buf)))
	bufpool.Put(buf)
}
