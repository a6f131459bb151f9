package engine

import (
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/tensorchain/transport/budget"
)

// Inbound delivery, isolated per peer: every peer has an inbox per class
// (a lock-free ring bounded in messages and bytes), and Recv serves the
// class's non-empty inboxes fairly by bytes (readyList). A peer that
// floods, or whose messages the application takes slowly, fills only its
// own inbox: its connections pause (their peer's credit then holds it
// back) while every other peer's next message waits for no more than its
// fair share.
//
// Producers are event loops (a peer's connections may sit on several);
// consumers are Recv callers. The ready list is touched only when an
// inbox goes from empty to non-empty and by Recv.

// inbox is one peer's received messages of one class, waiting for Recv,
// and the peer's connections parked because it was full.
//
// Producers and the consumer write separate cache lines (pushed, popped)
// and share only lines the other side merely reads: a counter both sides
// add to per message cost a third of a 64-byte stream, measured. Go aligns
// an inbox to 8 bytes only, so each group of fields is fenced by a whole
// line of padding: groups 56 bytes apart still share a line at one
// alignment in eight.
type inbox struct {
	ring     atomic.Pointer[ring] // allocated with the first message (ensureRing)
	cost     atomic.Pointer[ringCharge]
	released atomic.Bool // its peer is gone: a ring charged from now on is given back at once
	ready    atomic.Bool // in the class's ready heap: read by producers, written on transitions
	_        [64]byte
	// pushed is the credit cost of every message queued here: producers.
	// poppedSeen is popped as a producer last read it, never above it:
	// push reads popped, which Recv writes per message, only when the
	// inbox looks full by poppedSeen.
	pushed     atomic.Int64
	poppedSeen atomic.Int64
	_          [64]byte
	// popped is the credit cost of every message taken: the consumer,
	// under readyList.mu; vtime is its fair-queuing virtual time.
	popped     atomic.Int64
	vtime      int64 // virtual time: where the next message starts
	finish     int64 // the heap's key: vtime plus the front message's cost
	keyedEmpty bool  // finish was set with no front message to cost (setFinish)
	_          [64]byte

	stallMu    sync.Mutex
	stalled    []*conn // under stallMu
	anyStalled atomic.Bool
}

// ringCharge is what an inbox's ring is charged to the memory budget.
type ringCharge struct {
	acct  *budget.Account
	bytes int64
}

// ringBytes is the memory of a ring of at least slots messages.
func ringBytes(slots int) int64 {
	n := int64(1)
	for n < int64(slots) {
		n <<= 1
	}
	return n * int64(unsafe.Sizeof(ringSlot{}))
}

// ensureRing allocates the inbox's ring on its first message, charged to
// acct, the transport's account for rings (a ring of the default 1000
// slots is about 100 KiB: peers by the thousand would otherwise hold
// memory the budget does not see). It draws on the shared part, not on a
// connection's reserve, which its payloads need; false means the budget
// cannot grant it yet.
func (in *inbox) ensureRing(acct *budget.Account, slots int) bool {
	if in.ring.Load() != nil {
		return true
	}
	size := ringBytes(slots)
	if !acct.Take(size) {
		return false
	}
	if !in.ring.CompareAndSwap(nil, newRing(slots)) {
		acct.Give(size) // another loop's connection of the peer won
		return true
	}
	in.cost.Store(&ringCharge{acct: acct, bytes: size})
	if in.released.Load() { // the peer went while we charged: release saw no charge
		in.release()
	}
	return true
}

// release gives the ring's charge back: its peer is gone. Messages still
// in it drain as usual.
func (in *inbox) release() {
	in.released.Store(true)
	if rc := in.cost.Swap(nil); rc != nil {
		rc.acct.Give(rc.bytes)
	}
}

// push queues m unless the inbox is at its message or byte bound (a
// message larger than the byte bound still fits an empty inbox). The
// ring exists (ensureRing).
func (in *inbox) push(m Message, maxBytes int64) bool {
	r := in.ring.Load()
	if b := in.pushed.Load() - in.poppedSeen.Load(); b > 0 && b+int64(m.cost) > maxBytes {
		// Over the bound as last seen: look at what Recv has taken since.
		popped := in.popped.Load()
		in.poppedSeen.Store(popped)
		if b = in.pushed.Load() - popped; b > 0 && b+int64(m.cost) > maxBytes {
			return false
		}
	}
	if !r.push(m) {
		return false
	}
	in.pushed.Add(int64(m.cost))
	return true
}

// bytes is the credit cost of the queued messages.
func (in *inbox) bytes() int64 { return in.pushed.Load() - in.popped.Load() }

// len is the approximate number of queued messages.
func (in *inbox) len() int {
	if r := in.ring.Load(); r != nil {
		return r.len()
	}
	return 0
}

// drained reports whether the inbox has emptied enough for its parked
// connections to resume: half its slots and half its bytes free. Waiting
// for half rather than one free slot makes each resume deliver a batch
// instead of one message per wake.
func (in *inbox) drained(maxBytes int64) bool {
	r := in.ring.Load()
	return r == nil || (r.len() <= len(r.slots)/2 && in.bytes() <= maxBytes/2)
}

// fits reports whether a message of cost would be accepted now (push's
// test). Waking a parked connection on drained alone would spin its loop
// when the message is larger than half the byte bound.
func (in *inbox) fits(cost int32, maxBytes int64) bool {
	r := in.ring.Load()
	b := in.bytes()
	return r.len() < len(r.slots) && (b == 0 || b+int64(cost) <= maxBytes)
}

// park records a connection that found the inbox full. The caller
// re-checks fits afterwards: Recv may have emptied it in between.
func (in *inbox) park(c *conn) {
	in.stallMu.Lock()
	in.stalled = append(in.stalled, c)
	in.anyStalled.Store(true)
	in.stallMu.Unlock()
}

// wakeStalled restarts every parked connection.
func (in *inbox) wakeStalled() {
	in.stallMu.Lock()
	list := in.stalled
	in.stalled = nil
	in.anyStalled.Store(false)
	in.stallMu.Unlock()
	for _, c := range list {
		c.rd.pause.CompareAndSwap(int32(inboxFull), int32(running))
		c.forceWake()
	}
}

// readyList is one class's inboxes that hold messages, served by bytes
// rather than by message (weighted fair queuing): each inbox carries a
// virtual time that grows by the cost of every message taken from it, and
// Recv takes the front message whose virtual finish (its inbox's time plus
// its own cost) is smallest. A peer sending 16 MiB messages and one
// sending heartbeats then get the same bytes per second of the
// application's attention, and a heartbeat waits for no more than the
// message in hand: a 16 MiB message that arrived first finishes later.
// Taking turns by message, or by start time, would put it behind one
// 16 MiB message of every other peer.
type readyList struct {
	mu     sync.Mutex
	heap   []*inbox     // min-heap by finish, under mu
	now    int64        // virtual time: the start tag of the message served last, under mu
	nready atomic.Int32 // len(heap), for a look without the lock
}

// schedule puts in in the heap after a push, unless it is there already.
// An inbox that was empty starts at the current virtual time: idleness
// earns no credit to spend later.
func (rl *readyList) schedule(in *inbox) {
	if in.ready.Load() {
		return
	}
	rl.mu.Lock()
	if in.ready.CompareAndSwap(false, true) {
		in.vtime = max(in.vtime, rl.now)
		in.setFinish()
		rl.pushLocked(in)
	}
	rl.mu.Unlock()
}

// pop takes the front message with the smallest virtual finish.
func (rl *readyList) pop() (Message, *inbox, bool) {
	if rl.nready.Load() == 0 {
		return Message{}, nil, false
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	return rl.popLocked()
}

// popLocked is pop under rl.mu. An inbox whose last message it takes
// stays in the heap until a pop finds it empty: a consumer that keeps up
// with its producers would otherwise take it out after every message, and
// every push would then take rl.mu to put it back (schedule), bouncing
// the lock's line between the loop's core and Recv's once per message.
func (rl *readyList) popLocked() (Message, *inbox, bool) {
	for len(rl.heap) > 0 {
		in := rl.heap[0]
		if in.keyedEmpty && in.setFinish() { // keyed before its front message came: re-key, look again
			rl.downLocked(0)
			continue
		}
		r := in.ring.Load()
		if m, ok := r.pop(); ok {
			rl.now = in.vtime
			in.vtime += int64(m.cost)
			in.popped.Store(in.popped.Load() + int64(m.cost)) // the only writer
			in.setFinish()
			rl.downLocked(0)
			return m, in, true
		}
		if !rl.retireTopLocked(in, r) {
			// A push that has claimed its slot but not yet filled it: the
			// producer notifies once it has.
			return Message{}, nil, false
		}
	}
	return Message{}, nil, false
}

// retireTopLocked takes in, the heap's top, out of the heap once a pop
// found its ring r empty, and reports whether it did (false: a push has
// claimed a slot it has not filled yet). Under rl.mu.
func (rl *readyList) retireTopLocked(in *inbox, r *ring) bool {
	if r.len() > 0 {
		return false
	}
	rl.removeTopLocked()
	// Unmark, then look again: a push that saw the mark still set (and so
	// did not schedule) is visible to this second look.
	in.ready.Store(false)
	if r.len() > 0 && in.ready.CompareAndSwap(false, true) {
		in.setFinish()
		rl.pushLocked(in)
	}
	return true
}

// mayHold reports whether the class may hold messages to take, after a
// pop from last (nil: none of this class's, or from several). An inbox
// stays in the heap a while after its last message (popLocked), so when
// it is the only one there, its ring says. Lock-free: a receiver woken
// for nothing looks and sleeps again; a push the look misses notifies.
func (rl *readyList) mayHold(last *inbox) bool {
	n := rl.nready.Load()
	if n == 1 && last != nil {
		return last.len() > 0
	}
	return n > 0
}

// popInto fills into with the messages repeated pops would return, under
// one lock, from inboxes the set can still record; it returns how many.
func (rl *readyList) popInto(into []Message, ins *inboxSet) int {
	if len(into) == 0 || rl.nready.Load() == 0 {
		return 0
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if len(rl.heap) == 1 && ins.add(rl.heap[0]) {
		return rl.popOnlyLocked(into)
	}
	n := 0
	for n < len(into) && len(rl.heap) > 0 && ins.add(rl.heap[0]) {
		m, _, ok := rl.popLocked()
		if !ok {
			break
		}
		into[n] = m
		n++
	}
	return n
}

// popOnlyLocked is popInto when one inbox holds all the class's messages:
// repeated pops would take its front messages one after the other, so they
// are taken at once and the inbox's times and place in the heap are
// updated once. Under rl.mu.
func (rl *readyList) popOnlyLocked(into []Message) int {
	in := rl.heap[0]
	r := in.ring.Load()
	n := r.popN(into)
	if n == 0 {
		rl.retireTopLocked(in, r)
		return 0
	}
	var cost int64
	for _, m := range into[:n] {
		rl.now = in.vtime + cost // the start tag of the message served last
		cost += int64(m.cost)
	}
	in.vtime += cost
	in.popped.Store(in.popped.Load() + cost) // the only writer
	in.setFinish()
	rl.downLocked(0)
	return n
}

// inboxSet is the few inboxes one RecvBatch took from, whose parked
// connections may resume once it is done.
type inboxSet struct {
	ins [8]*inbox
	n   int
}

// add records in unless it is there already; false when the set is full.
func (s *inboxSet) add(in *inbox) bool {
	for _, x := range s.ins[:s.n] {
		if x == in {
			return true
		}
	}
	if s.n == len(s.ins) {
		return false
	}
	s.ins[s.n] = in
	s.n++
	return true
}

// setFinish keys the inbox by its front message's virtual finish, and
// reports whether it found one: an inbox keyed while empty, or while its
// front message was still being pushed, is re-keyed before a pop trusts
// its place (keyedEmpty). Under readyList.mu (the single consumer).
func (in *inbox) setFinish() bool {
	cost, ok := in.ring.Load().frontCost()
	in.finish = in.vtime + int64(cost)
	in.keyedEmpty = !ok
	return ok
}

// The heap, by hand: container/heap's interface calls cost more than
// the few comparisons a handful of ready peers need.

func (rl *readyList) pushLocked(in *inbox) {
	rl.heap = append(rl.heap, in)
	rl.nready.Store(int32(len(rl.heap)))
	rl.upLocked(len(rl.heap) - 1)
}

func (rl *readyList) removeTopLocked() {
	last := len(rl.heap) - 1
	rl.heap[0] = rl.heap[last]
	rl.heap[last] = nil
	rl.heap = rl.heap[:last]
	rl.nready.Store(int32(last))
	if last > 0 {
		rl.downLocked(0)
	}
}

func (rl *readyList) upLocked(i int) {
	h := rl.heap
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].finish <= h[i].finish {
			return
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

func (rl *readyList) downLocked(i int) {
	h := rl.heap
	for {
		least := i
		for _, c := range [2]int{2*i + 1, 2*i + 2} {
			if c < len(h) && h[c].finish < h[least].finish {
				least = c
			}
		}
		if least == i {
			return
		}
		h[least], h[i] = h[i], h[least]
		i = least
	}
}

// deliverToInbox puts m in its peer's inbox, or parks c (paused) when the inbox
// is full. Loop only.
func (t *Transport) deliverToInbox(c *conn, p *peer, m Message) bool {
	in, rl := &p.inbox[c.class], &t.inboxes[c.class]
	if !in.ensureRing(t.rings, t.cfg.RecvBufferSize) {
		c.starve()
		return false
	}
	maxBytes := t.cfg.recvBufferBytes()
	if !in.push(m, maxBytes) {
		c.rd.pause.Store(int32(inboxFull))
		t.stats.stalls.Add(1)
		in.park(c)
		if in.fits(m.cost, maxBytes) {
			in.wakeStalled() // Recv emptied it between the push and the park
		}
		return false
	}
	rl.schedule(in)
	return true
}
