package engine

import "github.com/tensorchain/transport/codec"

// directCreditMin: credit due after a message of this cost or more is
// written directly. Small messages make credit due only every
// creditEveryMsgs of them, and there a direct write measured slower (64 B
// one-way: 2.2-3.0M msgs/s with it, 3.3-3.5M without): the receiving
// goroutine's syscall and lock contend with the loop, while the loop's
// wake-up is rare enough to cost nothing.
const directCreditMin = 16 << 10

// creditDirect writes a due Credit frame from the goroutine that consumed
// the message (Recv, Release), when the connection is idle, instead of
// waking the loop to write it: for large messages a credit update is due
// every few messages, and each wake costs an eventfd write, a loop
// wake-up and two allocations inside gnet. It reports whether the credit
// is taken care of; false means the loop must be woken. It never waits:
// if the loop holds the writer's lock, the loop carries the credit.
func (c *conn) creditDirect() bool {
	if c.wakePending.Load() || !c.established() {
		return false // the loop runs soon anyway, and writes the credit with the rest
	}
	w := &c.wr
	if !w.mu.TryLock() {
		return false
	}
	defer w.mu.Unlock()
	if w.directOff || w.gnetBuffered || w.tail != nil || c.closed() {
		return false // something is ahead of it on the wire, or nothing may follow
	}
	cr, ok := c.recvWin.take(false)
	if !ok {
		return true // another goroutine's direct write, or the loop, returned it
	}
	var buf [codec.HeaderSize + 16]byte
	frame := codec.AppendCredit(buf[:0], cr)
	n, err := c.writeFrame(frame, nil)
	if err != nil {
		// Would block, or the socket is broken: either way the frame
		// becomes the tail, which the loop writes first (and, on a
		// broken socket, fails on, closing the connection).
		n = 0
	}
	if n < len(frame) && w.tail == nil { // over TLS writeSealed keeps the tail itself
		c.keepTail(frame, nil, n)
	}
	if w.tail != nil {
		c.forceWake() // the loop sends the rest before anything else
	}
	c.t.stats.directCredits.Add(1)
	return true
}
