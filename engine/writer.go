package engine

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
	"github.com/tensorchain/transport/tlsstate"
)

// How a frame goes out: Send appends it to a lane (peer.go) and wakes the
// loop, or writes it itself on an idle connection (direct.go); the loop's
// flush takes the lane's frames and writes as many per writev (or TLS
// record run) as send credit and gnet's outbound budget allow, after any
// Credit frame it owes. A graceful close is a Goodbye exchange.

// goodbyeState is a connection's part in the Goodbye exchange. The side
// that says goodbye first (the closer) closes the socket once the other
// answers, so that it is never cut off while frames before the answer
// still wait for room in its peer's inbox.
type goodbyeState uint8

const (
	goodbyeNone      goodbyeState = iota
	goodbyeSent                   // we said goodbye first; waiting for the answer
	goodbyeReceived               // the peer said goodbye first; we answer on the next flush
	goodbyeAnswered               // we answered; the peer closes
	goodbyeExchanged              // the peer answered ours: close once the output is written
)

// peerSaidGoodbye reports whether the peer's Goodbye has arrived: no data
// may follow it. Loop only.
func (w *writer) peerSaidGoodbye() bool {
	return w.goodbye == goodbyeReceived || w.goodbye == goodbyeAnswered || w.goodbye == goodbyeExchanged
}

// writer is a connection's send side.
type writer struct {
	// mu serialises writes to the socket: the loop's flush, and direct
	// writes from sending goroutines (direct.go).
	mu           sync.Mutex
	flushing     bool       // under mu: the loop holds mu (gnet may call OnClose from inside its write)
	directOff    bool       // under mu: no direct writes (a listener's hello not yet out, goodbye, closing or closed)
	gnetBuffered bool       // under mu: gnet holds output the kernel has not taken
	tail         []byte     // under mu: the unwritten rest of a partial direct write, sent first
	tailBuf      *[]byte    // under mu: tail's pooled storage
	out          sendCursor // under mu: frames taken from the lane, being written

	ctrl         []byte       // loop only: control frames to write before data
	cipher       scratch      // loop only: ciphertext being written (TLS)
	goodbye      goodbyeState // loop only
	lastOut      int          // loop only: gnet's outbound bytes at the last flush
	lastProgress time.Time    // loop only: when output last moved, for the I/O timeout

	outBuffered atomic.Int64 // lastOut, published for the ticker
	blocked     atomic.Bool  // gnet's outbound buffer is at its cap: the ticker re-polls
}

// flush returns credit the application has freed and writes queued frames,
// as many per write as the send credit allows.
//
// Senders skip the wake while wakePending is set (each costs a system
// call: doorbell.go), so the flag is cleared only after a pass; a second pass then
// takes what arrived during the first. Whatever arrives after the clear
// wakes the loop again.
func (c *conn) flush() error {
	if c.stillHandshaking() {
		c.wakePending.Store(false)
		return c.flushHandshake()
	}
	for range 2 {
		if err := c.flushPass(); err != nil {
			return err
		}
		c.wakePending.Store(false)
		if !c.outputWaiting() {
			c.markIdle()
			break
		}
	}
	return nil
}

// outputWaiting reports whether frames are queued or credit is owed.
func (c *conn) outputWaiting() bool {
	return c.lane.Load().Queued() > 0 || c.recvWin.due()
}

// flushPass is one round of flush.
func (c *conn) flushPass() error {
	w := &c.wr
	w.mu.Lock()
	w.flushing = true
	defer func() {
		w.gnetBuffered = c.sock.OutboundBuffered() > 0
		w.flushing = false
		w.mu.Unlock()
	}()
	if err := c.writeTail(); err != nil {
		return err
	}
	c.queueCredit(c.t.closing.Load() || (c.creditFlush.Load() && c.creditFlush.Swap(false)))
	c.queuePing()
	if c.tls != nil && c.tls.HasOutput() && len(w.ctrl) == 0 { // e.g. a KeyUpdate reply from Decrypt
		if err := c.writeWire(nil); err != nil {
			return err
		}
	}
	if err := c.writeCtrl(); err != nil {
		return err
	}
	if err := c.flushData(); err != nil {
		return err
	}
	if err := c.maybeSayGoodbye(); err != nil {
		return err
	}
	c.trackProgress()
	return nil
}

// publishUnconfirmed publishes sendWin.unconfirmed(), plus pending
// messages about to be written, for handedOver (handover.go). Wherever
// sent or acked changes, under wr.mu.
func (c *conn) publishUnconfirmed(pending int) {
	c.unconfirmed.Store(int64(c.sendWin.unconfirmed()) + int64(pending))
}

// queueCredit appends a Credit frame when one is due, or whenever anything
// is owed when all is set.
func (c *conn) queueCredit(all bool) {
	if cr, ok := c.recvWin.take(all); ok {
		c.wr.ctrl = codec.AppendCredit(c.wr.ctrl, cr)
	}
}

// writeCtrl writes the queued control frames.
func (c *conn) writeCtrl() error {
	if len(c.wr.ctrl) == 0 {
		return nil
	}
	err := c.writeWire(c.wr.ctrl)
	c.wr.ctrl = c.wr.ctrl[:0]
	return err
}

// maybeSayGoodbye sends our Goodbye, after a final Credit, once the peer
// said goodbye, or once the transport is closing and this connection has
// written everything queued for it. Sealing the empty lane, under its lock,
// is what makes that final: a Send that passed its closing check before
// Close began either queued its frame before the seal (and the goodbye
// waits for it) or finds the lane sealed and fails with ErrClosed.
func (c *conn) maybeSayGoodbye() error {
	w := &c.wr
	switch {
	case w.goodbye == goodbyeReceived:
		w.goodbye = goodbyeAnswered
	case w.goodbye == goodbyeNone && c.t.closing.Load() && w.out.empty() && c.lane.Load().sealIfEmpty():
		w.goodbye = goodbyeSent
	default:
		return nil
	}
	w.directOff = true
	c.queueCredit(true)
	w.ctrl = codec.AppendGoodbye(w.ctrl)
	return c.writeCtrl()
}

// onGoodbye handles the peer's graceful close: no more data goes out on
// this connection (unsent frames return to the lane, for another
// connection or the reconnect), and we answer with our own Goodbye unless
// we said it first, in which case this is the answer and we close.
func (c *conn) onGoodbye() {
	w := &c.wr
	switch w.goodbye {
	case goodbyeNone:
		w.goodbye = goodbyeReceived
	case goodbyeSent:
		w.goodbye = goodbyeExchanged
	}
	l := c.lane.Load()
	l.conn.CompareAndSwap(c, nil)
	w.mu.Lock()
	w.directOff = true
	c.t.requeue(l, w.out.unsent(), "the peer said goodbye and the lane is gone")
	w.mu.Unlock()
	c.t.log.Debug("peer said goodbye", "peer", c.peerID(), "conn", c.id)
}

// flushData writes queued data frames while send credit lasts, many frames
// (and segments) per writev. A frame is sent while any credit remains, so
// credit may go negative by one frame: messages larger than the window
// still flow.
func (c *conn) flushData() error {
	l, w := c.lane.Load(), &c.wr
	now := time.Now().UnixNano() // for deadlines and the handover
	if l.outbound && l.peer.hold.Load() && !c.t.releaseHold(l.peer, now) {
		return nil // handover.go: the peer's connections first
	}
	for c.sendWin.open() && w.goodbye == goodbyeNone {
		budget := c.t.maxOutbound - c.sock.OutboundBuffered()
		if budget <= 0 { // the peer reads slower than it grants credit: wait for the kernel to drain
			w.blocked.Store(true)
			return nil
		}
		if w.out.empty() {
			w.out.reset()
			l.take(&w.out.q)
			if w.out.q.msgs == 0 {
				return nil
			}
		}
		if msgs, bytes := w.out.skipExpired(now); msgs > 0 {
			l.expired(msgs, bytes, &c.t.stats)
			continue
		}
		n, bytes, cost, next, rewrite := c.gatherFrames(budget, now)
		var err error
		if rewrite { // a frame compressed for an earlier connection
			front := w.out.front()
			bytes = codec.FrameSize(front)
			n, cost = 1, int64(codec.CreditCost(front[:bytes]))
			next = w.out.after(bytes)
			err = c.writeDecompressed(front[:bytes])
		} else {
			err = c.writeFrames(w.out.iov)
		}
		clear(w.out.iov)
		w.out.iov = w.out.iov[:0]
		if err != nil {
			return err // the cursor did not move: onClose requeues every unsent frame
		}
		w.out.pos = next
		w.out.recycleWritten() // gnet copied whatever the kernel did not take
		c.sendWin.spend(cost, n)
		c.publishUnconfirmed(0) // before unqueue: handedOver reads queued, then this
		c.batch.msgsSent += uint64(n)
		c.batch.bytesSent += uint64(bytes)
		if l.unqueue(n, bytes) {
			c.wokeSomeone() // a Send blocked on a full queue
		}
	}
	return nil
}

// gatherFrames collects into wr.out.iov the frames after the cursor that
// send credit and the outbound budget allow, across segments, and returns
// their credit cost and where the cursor goes once they are written. It
// stops before a segment whose deadline has passed (flushData drops it).
// rewrite reports that the next frame was compressed for an earlier
// connection and must be sent decompressed (then nothing is gathered).
func (c *conn) gatherFrames(budget int, now int64) (n, bytes int, cost int64, next cursorPos, rewrite bool) {
	out := &c.wr.out
	credit, next := c.sendWin.available(), out.pos
	for next.seg < len(out.q.segs) && credit-cost > 0 && bytes < budget {
		if next.off == 0 && out.q.segs[next.seg].expired(now) {
			break
		}
		seg := (*out.q.segs[next.seg].buf)[next.off:]
		end := 0
		for end < len(seg) && credit-cost > 0 && bytes+end < budget {
			if !c.compressOut && seg[end+4]&codec.FlagCompressed != 0 {
				rewrite = bytes+end == 0
				break
			}
			fl := codec.FrameSize(seg[end:])
			cost += int64(codec.CreditCost(seg[end : end+fl]))
			end += fl
			n++
		}
		if end > 0 {
			out.iov = append(out.iov, seg[:end])
			bytes += end
		}
		if end < len(seg) {
			next.off += end
			break // stopped inside the segment: credit, budget or a rewrite
		}
		next = cursorPos{seg: next.seg + 1}
	}
	return n, bytes, cost, next, rewrite
}

// writeFrames hands the gathered frames to the socket in one call: a writev
// in plaintext, one run of records in TLS. On error nothing was handed over.
func (c *conn) writeFrames(iov [][]byte) error {
	c.t.stats.dataWrites.Add(1)
	if c.tls == nil {
		if _, err := c.sock.Writev(iov); err != nil {
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
		return nil
	}
	out := c.wr.cipher.reserve(sealedSize(iov))
	for _, b := range iov {
		var err error
		if out, err = c.tls.AppendEncryptOwned(out, b); err != nil { // b is the writer's segment: sealed without a copy
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
	}
	return c.writeCipher(out)
}

// sealedSize bounds the ciphertext of iov, sealed buffer by buffer.
func sealedSize(iov [][]byte) int {
	n := 0
	for _, b := range iov {
		n += tlsstate.SealedLen(len(b))
	}
	return n
}

// writeCipher hands ciphertext built in wr.cipher to gnet (which copies
// what the socket does not take) and releases the scratch buffer.
func (c *conn) writeCipher(out []byte) error {
	_, err := c.sock.Write(out)
	c.wr.cipher.set(out[:0])
	c.wr.cipher.release()
	if err != nil {
		return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
	}
	return nil
}

// writeDecompressed sends a compressed frame as a raw frame, for a peer
// that (after a reconnect) no longer accepts LZ4. Rare: only frames queued
// across a reconnect to a peer whose compression setting changed.
func (c *conn) writeDecompressed(frame []byte) error {
	body := frame[codec.HeaderSize:]
	n, err := codec.DecompressedLen(body, c.t.cfg.MaxMessageSize)
	if err != nil {
		return fmt.Errorf("requeued frame: %w: %w", ErrCompression, err)
	}
	buf := bufpool.Get(codec.HeaderSize + n)
	defer bufpool.Put(buf)
	codec.PutHeader(*buf, 0, n)
	if err := codec.Decompress((*buf)[codec.HeaderSize:], body); err != nil {
		return fmt.Errorf("requeued frame: %w: %w", ErrCompression, err)
	}
	return c.writeWire(*buf)
}

// writeWire sends bytes on the socket, through TLS when enabled.
func (c *conn) writeWire(b []byte) error {
	if c.tls != nil {
		out, err := c.tls.AppendEncrypt(c.wr.cipher.get(), b) // pending output (alerts, KeyUpdate replies) first
		if err != nil {
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
		return c.writeCipher(out)
	}
	if _, err := c.sock.Write(b); err != nil {
		return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
	}
	return nil
}

// trackProgress records when output last moved, for the I/O timeout.
func (c *conn) trackProgress() {
	w := &c.wr
	ob := c.sock.OutboundBuffered()
	if ob < w.lastOut || ob == 0 {
		w.lastProgress = time.Now()
	}
	w.lastOut = ob
	w.outBuffered.Store(int64(ob))
}

// checkIO fails the connection when output has waited too long without
// progress: the peer stopped reading or stopped returning credit.
func (c *conn) checkIO(now time.Time) error {
	if err := c.checkPartial(now); err != nil || !c.established() {
		return err // before the hello there is no output to time (and no lane yet, inbound)
	}
	w := &c.wr
	waiting := c.sock.OutboundBuffered() > 0 || (!c.sendWin.open() && (!w.out.empty() || c.lane.Load().Queued() > 0))
	if waiting && now.Sub(w.lastProgress) > c.t.cfg.IOTimeout {
		return fmt.Errorf("to %s: no write progress for %v: %w", c.remote, c.t.cfg.IOTimeout, ErrTimeout)
	}
	if !waiting {
		w.lastProgress = now
	}
	return nil
}
