package engine

import "runtime"

// Yielding after a wake-up: the tail-latency fix (BENCHMARKS.md, "the
// ping-pong tail fixed").
//
// A goroutine the loop readies (a Recv waiter, a request's waiter, a Send
// blocked on a full queue, a stream's reader or writer, whatever an inline
// handler wakes) goes into the runnext slot of the loop's P. gnet's poller
// yields once (runtime.Gosched) before it blocks in epoll_wait, but every
// 61st scheduling round takes the global run queue first, where that yield
// has just put the loop itself: the loop then blocks in a raw epoll_wait
// still holding its P, and the woken goroutine waits for sysmon to take
// the P back, 20 µs to 10 ms later. That was the ping-pong p99.
//
// Yielding once more at the end of a callback that woke someone gives the
// woken goroutine a round it cannot lose, since a round that took the
// global queue has moved past the 61st. A callback yields when it may have
// woken someone: it delivered to a waiting Recv or request, freed queue
// room for a waiting Send, ran an inline handler (what that touched is
// unknown), or carried stream frames (their reader or writer may wait).
// Other callbacks keep their P, among them a Recv loop's deliveries while
// Recv is busy. The cost is one Gosched per callback, not per message: 64 B
// one-way through the handler, which yields on every callback, measured no
// slower.

// wokeSomeone records that this callback may have readied a goroutine.
func (c *conn) wokeSomeone() { c.rd.woke = true }

// yieldIfWoke lets a goroutine this callback readied run before the loop
// polls again.
func (c *conn) yieldIfWoke() {
	if c.rd.woke {
		c.rd.woke = false
		runtime.Gosched()
	}
}
