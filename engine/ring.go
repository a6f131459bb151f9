package engine

import (
	"sync/atomic"
)

// ring is a bounded lock-free multi-producer multi-consumer queue of
// messages (Vyukov's array queue): event loops push, Recv callers pop.
// Each slot carries a sequence number that says whose turn it is.
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

// pop removes the oldest message; ok is false when the ring is empty.
func (r *ring) pop() (m Message, ok bool) {
	pos := r.head.Load()
	for {
		s := &r.slots[pos&r.mask]
		seq := s.seq.Load()
		switch diff := int64(seq) - int64(pos+1); {
		case diff == 0:
			if r.head.CompareAndSwap(pos, pos+1) {
				m = s.msg
				s.msg = Message{}
				s.seq.Store(pos + r.mask + 1)
				return m, true
			}
			pos = r.head.Load()
		case diff < 0:
			return Message{}, false // empty
		default:
			pos = r.head.Load()
		}
	}
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
