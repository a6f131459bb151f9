package engine

import (
	"sync"
	"sync/atomic"

	"github.com/tensorchain/transport/budget"
)

// Slabs: the storage of small received payloads.
//
// A payload handed to Recv must outlive the event-loop callback, so it is
// copied out of gnet's buffer. Giving each small message its own pooled
// buffer costs a sync.Pool Get on the loop and a Put on the Recv goroutine
// per message, and the pool then shuffles buffers between processors: a
// third of the CPU of a 64-byte stream, measured. Instead, one read batch
// copies its small payloads side by side into a shared slab, and the slab
// goes back to the pool when its last message is released.
//
// The reference count starts at slabBias so that the loop never touches it
// per message: when the batch ends, seal subtracts the bias less the number
// of payloads handed out, and each Release subtracts one. Whichever brings
// it to zero recycles the slab, exactly once.
const (
	slabSize    = 32 << 10
	slabMaxItem = 1 << 10 // larger payloads get a pooled buffer of their own
	slabBias    = 1 << 40
)

// slab is a block of payload copies shared by the messages of one batch.
type slab struct {
	buf  []byte
	refs atomic.Int64
	acct *budget.Account // charged slabSize while the slab is out of the pool
}

var slabPool = sync.Pool{New: func() any { return &slab{buf: make([]byte, slabSize)} }}

// release drops one message's reference.
func (s *slab) release() {
	if s.refs.Add(-1) == 0 {
		s.recycle()
	}
}

// recycle returns the slab, and its charge, once nothing refers to it.
func (s *slab) recycle() {
	s.acct.Give(slabSize)
	s.acct = nil
	slabPool.Put(s)
}

// slabWriter fills one connection's current slab. Loop only.
type slabWriter struct {
	cur *slab
	off int   // bytes of cur handed out
	n   int64 // payloads handed out from cur
}

// fitsSlab reports whether a payload of n bytes is stored in slabs.
func fitsSlab(n int) bool { return n <= slabMaxItem }

// needsSlab reports whether a payload of n bytes needs a new slab, which
// the caller charges (slabSize) before copyIn takes it.
func (w *slabWriter) needsSlab(n int) bool {
	return w.cur == nil || w.off+n > len(w.cur.buf)
}

// copyIn copies p into the current slab, starting a new one (charged to
// acct) when it is full, and returns the copy (its capacity capped, so an
// append by the application cannot reach a neighbour). The copy is not
// handed out until commit: a message the inbox refuses costs nothing.
func (w *slabWriter) copyIn(p []byte, acct *budget.Account) ([]byte, *slab) {
	if w.needsSlab(len(p)) {
		w.seal()
		w.cur = slabPool.Get().(*slab)
		w.cur.refs.Store(slabBias)
		w.cur.acct = acct
	}
	end := w.off + len(p)
	copy(w.cur.buf[w.off:end], p)
	return w.cur.buf[w.off:end:end], w.cur
}

// commit hands out the last copy.
func (w *slabWriter) commit(size int) {
	w.off += size
	w.n++
}

// seal gives up the current slab: it returns to the pool once every
// message copied into it has been released.
func (w *slabWriter) seal() {
	if w.cur == nil {
		return
	}
	if w.cur.refs.Add(w.n-slabBias) == 0 {
		w.cur.recycle()
	}
	w.cur, w.off, w.n = nil, 0, 0
}
