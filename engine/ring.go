package engine

import (
	"sync/atomic"
)

// ring is a bounded lock-free multi-producer single-consumer queue of
// messages (Vyukov's array queue, popped by one consumer at a time): event
// loops push, Recv callers pop under their class's readyList lock. Each
// slot carries a sequence number that says whose turn it is.
type ring struct {
	mask  uint64
	slots []ringSlot
	_     [56]byte // keep head and tail on separate cache lines
	head  atomic.Uint64
	_     [56]byte
	tail  atomic.Uint64
}

type ringSlot struct {
	seq atomic.Uint64
	msg Message
}

// newRing returns a ring holding at least capacity messages (rounded up to
// a power of two so that indexing is a mask).
func newRing(capacity int) *ring {
	n := uint64(1)
	for n < uint64(capacity) {
		n <<= 1
	}
	r := &ring{mask: n - 1, slots: make([]ringSlot, n)}
	for i := range r.slots {
		r.slots[i].seq.Store(uint64(i))
	}
	return r
}

// push appends m and reports whether there was room.
func (r *ring) push(m Message) bool {
	pos := r.tail.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch diff := int64(seq) - int64(pos); {
		case diff == 0:
			if r.tail.CompareAndSwap(pos, pos+1) {
				s.msg = m
				s.seq.Store(pos + 1)
				return true
			}
			pos = r.tail.Load()
		case diff < 0:
			return false // full
		default:
			pos = r.tail.Load()
		}
	}
}

// pop removes the oldest message; ok is false when the ring is empty (or
// its oldest slot is still being filled). One consumer at a time
// (readyList.mu): the head moves with a store, not a contended CAS.
func (r *ring) pop() (m Message, ok bool) {
	pos := r.head.Load()
	s := &r.slots[pos&r.mask]
	if s.seq.Load() != pos+1 {
		return Message{}, false
	}
	m = s.msg
	s.msg = Message{}
	r.head.Store(pos + 1)
	s.seq.Store(pos + r.mask + 1)
	return m, true
}

// popN removes up to len(into) of the oldest messages into it and returns
// how many: pop's work for each, with one store of the head for all. One
// consumer at a time, as for pop.
func (r *ring) popN(into []Message) int {
	pos := r.head.Load()
	n := 0
	for ; n < len(into); n++ {
		s := &r.slots[(pos+uint64(n))&r.mask]
		if s.seq.Load() != pos+uint64(n)+1 {
			break
		}
		into[n] = s.msg
		s.msg = Message{}
		s.seq.Store(pos + uint64(n) + r.mask + 1)
	}
	if n > 0 {
		r.head.Store(pos + uint64(n))
	}
	return n
}

// len is the approximate number of queued messages.
func (r *ring) len() int {
	n := int64(r.tail.Load()) - int64(r.head.Load())
	if n < 0 {
		return 0
	}
	return int(n)
}

// frontCost is the credit cost of the oldest message, without removing
// it; ok is false when the ring is empty or that message is still being
// pushed. Only a single consumer may call it (readyList.mu).
func (r *ring) frontCost() (int32, bool) {
	pos := r.head.Load()
	s := &r.slots[pos&r.mask]
	if s.seq.Load() != pos+1 {
		return 0, false
	}
	return s.msg.cost, true
}
