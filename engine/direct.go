package engine

import (
	"errors"
	"math"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
	"github.com/tensorchain/transport/tlsstate"
)

// Direct writes: the latency path.
//
// Handing a frame to the event loop costs a Wake (an eventfd write) and a
// thread wake-up before the loop writes it: tens of microseconds on a
// virtual machine. When a connection is idle, Send instead writes the
// frame to the socket itself, in the caller's goroutine, under the
// connection's write lock (which the loop holds whenever it writes). The
// frame goes out only if nothing is ahead of it: no queued or half-written
// frames, nothing buffered in gnet, send credit left. A streaming sender
// (sends closer together than directIdleGap) keeps using the queue, where
// the loop batches many frames per writev; a stream of large messages,
// whose sends are far apart, is written directly and without a copy.
// Over TLS the caller seals the frame itself (tlsstate's AppendEncrypt may
// run beside the loop's Decrypt; the write lock orders it with the loop's
// sealing) and writes the records: the latency path must not wait for a
// loop wake-up in the default mode either.
const (
	// directIdleGap: a send this long after the previous one on the same
	// connection may be written directly.
	directIdleGap = 10 * time.Microsecond
	// directCopyMax: frames up to this size are copied into one buffer
	// for a write(2); larger ones are written from the caller's payload
	// with writev(2), which saves copying them at all.
	directCopyMax = 4 << 10
	// busySend in conn.lastSend marks a streaming connection: no send
	// is written directly until the loop has drained it.
	busySend = math.MaxInt64
	// directSealMax: over TLS only frames of one record are sealed and
	// written directly; sealing a larger one would hold the write lock,
	// which the loop needs for every connection it serves, for as long.
	directSealMax = 16 << 10
)

// sendDirect tries a direct write on lane l's connection.
func (t *Transport) sendDirect(l *lane, hdr, body []byte) bool {
	c := l.conn.Load()
	return c != nil && c.tryDirect(l, hdr, body)
}

// tryDirect writes one frame straight to the socket when the connection is
// idle, and reports whether it did (then the frame is sent, or its unsent
// rest is queued for the loop to write first).
func (c *conn) tryDirect(l *lane, hdr, body []byte) bool {
	size := len(hdr) + len(body)
	// Cheapest check first: a connection marked streaming stays so until
	// its loop has drained it (markIdle), and testing that reads no line
	// the loop writes. Then frames queued or a wake pending mark it
	// streaming; only then is the clock read (60-80 ns under KVM,
	// measured: a fifth of a small Send).
	last := c.lastSend.Load()
	if last == busySend || (c.tls != nil && size > directSealMax) {
		return false
	}
	if l.Queued() > 0 || c.wakePending.Load() || c.t.closing.Load() || l.peer.hold.Load() || (!l.outbound && l.peer.dialed.Load()) {
		c.lastSend.Store(busySend)
		return false
	}
	now := time.Now().UnixNano()
	c.lastSend.Store(now)
	if now-last < int64(directIdleGap) {
		return false
	}
	w := &c.wr
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.directOff || w.gnetBuffered || w.tail != nil || !w.out.empty() || c.closed() ||
		!c.sendWin.open() || l.conn.Load() != c || l.Queued() > 0 {
		return false
	}
	c.publishUnconfirmed(1) // before the frame can reach the wire
	n, err := c.writeFrame(hdr, body)
	if err != nil {
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return false // the loop will see the error; the frame takes the queue
		}
		n = 0
	}
	if n < size {
		c.keepTail(hdr, body, n)
	}
	if w.tail != nil { // the kernel took part: the loop sends the rest before anything else
		c.t.stats.directPartial.Add(1)
		c.forceWake() // a pending wake may belong to a pass that has already ended
	}
	c.sendWin.spend(int64(codec.BodyCreditCost(hdr[4]&^codec.FlagTagged, body)+len(hdr)-codec.HeaderSize), 1) // a tag travels in hdr
	c.publishUnconfirmed(0)
	c.countDirect(size)
	return true
}

// markIdle ends a streaming period once the loop has written everything
// queued: the drain time counts as the last send, so a Send more than
// directIdleGap later may write directly. Loop only.
func (c *conn) markIdle() {
	if c.lastSend.Load() == busySend {
		c.lastSend.Store(time.Now().UnixNano())
	}
}

// writeFrame writes one frame to the socket without blocking and returns
// how much the kernel took. Under wr.mu.
func (c *conn) writeFrame(hdr, body []byte) (int, error) {
	if c.tls != nil {
		return c.writeSealed(hdr, body)
	}
	if len(hdr)+len(body) > directCopyMax {
		return writev2(c.sock.Fd(), hdr, body)
	}
	buf := bufpool.Get(len(hdr) + len(body)) // one write(2) of a copy: cheaper than an iovec for small frames
	defer bufpool.Put(buf)
	return unix.Write(c.sock.Fd(), joinFrame((*buf)[:0], hdr, body))
}

// writeSealed seals the frame hdr+body into TLS records (after any output
// the session has pending: a KeyUpdate reply, say) and writes them without
// blocking. What the kernel does not take is kept as the tail, which the
// loop sends raw before anything else: sealed bytes are never dropped, or
// the record sequence would break. A sealing error is returned before
// anything is sealed. Under wr.mu.
func (c *conn) writeSealed(hdr, body []byte) (int, error) {
	size := len(hdr) + len(body)
	plain := bufpool.Get(size) // one record for header and body, as the loop's batches
	defer bufpool.Put(plain)
	cipher := bufpool.Get(tlsstate.SealedLen(size))
	defer bufpool.Put(cipher)
	sealed, err := c.tls.AppendEncryptOwned((*cipher)[:0], joinFrame((*plain)[:0], hdr, body))
	if err != nil {
		return 0, err
	}
	n, err := unix.Write(c.sock.Fd(), sealed)
	if err != nil {
		// Would block, or the socket is broken: either way the sealed bytes
		// stay as the tail, never to be sealed again with other sequence
		// numbers; on a broken socket the loop's write of them fails and
		// closes the connection, whose unconfirmed frames are counted.
		n = 0
	}
	if n < len(sealed) {
		c.keepTail(sealed, nil, n)
	}
	return size, nil // the frame is sent or, sealed, in the tail: to the caller, it is all taken
}

// joinFrame appends a frame's header and body to dst.
func joinFrame(dst, hdr, body []byte) []byte { return append(append(dst, hdr...), body...) }

// writev2 writes a and b (both non-empty) with one writev(2). Unlike
// unix.Writev it builds the iovec on its own stack, so neither slice
// escapes: the header stays on Send's stack instead of costing an
// allocation per message.
func writev2(fd int, a, b []byte) (int, error) {
	var iov [2]unix.Iovec
	iov[0].Base, iov[1].Base = &a[0], &b[0]
	iov[0].SetLen(len(a))
	iov[1].SetLen(len(b))
	n, _, errno := unix.Syscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// keepTail saves what the kernel did not take of the frame hdr+body,
// after its first written bytes. Under wr.mu.
func (c *conn) keepTail(hdr, body []byte, written int) {
	w := &c.wr
	w.tailBuf = bufpool.Get(len(hdr) + len(body) - written)
	w.tail = (*w.tailBuf)[:0]
	if written < len(hdr) {
		w.tail = append(w.tail, hdr[written:]...)
		written = len(hdr)
	}
	w.tail = append(w.tail, body[written-len(hdr):]...)
}

// writeTail hands the rest of a partial direct write to gnet (which
// buffers what the kernel does not take). Loop only, under wr.mu.
func (c *conn) writeTail() error {
	if c.wr.tail == nil {
		return nil
	}
	_, err := c.sock.Write(c.wr.tail)
	c.releaseTail()
	return err
}

// releaseTail returns the tail's buffer. Under wr.mu.
func (c *conn) releaseTail() {
	w := &c.wr
	if w.tailBuf != nil {
		bufpool.Put(w.tailBuf)
	}
	w.tail, w.tailBuf = nil, nil
}

// countDirect adds a direct write to the stats (the loop's batch counters
// are the loop's own).
func (c *conn) countDirect(size int) {
	c.t.stats.directWrites.Add(1)
	c.t.stats.dataWrites.Add(1)
	c.countSent(1, uint64(size))
}

// stopOutput ends direct writes for good, returns the frames not yet
// written to the lane and drops a pending tail, so that no sending
// goroutine touches the descriptor once gnet closes it. Loop only: gnet
// calls OnClose from inside a failed write, while flush already holds wr.mu.
func (c *conn) stopOutput(l *lane) {
	w := &c.wr
	if !w.flushing {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	w.directOff = true
	c.t.requeue(l, w.out.unsent(), "their connection closed and the lane is gone")
	c.releaseTail()
}
