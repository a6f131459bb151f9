// Package bufpool recycles byte slices in power-of-two size classes.
//
// Each class has its own sync.Pool, so a burst of large messages never
// evicts the small buffers the hot path reuses (the global bytebufferpool
// calibrates one size for the whole process, which is wrong for mixed sizes).
//
// Buffers of 64 KiB and more are also kept, up to bigKeep bytes in all
// (and per class at most 64 buffers and half of bigKeep), in free lists the garbage
// collector does not empty: a sync.Pool is cleared
// at every collection, and then each large message allocates afresh, which
// during a collection costs the allocating goroutine (an event loop) mark
// assist in proportion, measured at 65 ms for a 16 MiB buffer.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 6  // 64 B: the smallest class
	maxShift = 26 // 64 MiB: larger buffers are allocated and left to the GC
)

var classes [maxShift - minShift + 1]sync.Pool

const (
	bigShift  = 16          // 64 KiB: classes from here on have a free list too
	bigKeep   = 64 << 20    // bytes the free lists may hold in all
	classKeep = bigKeep / 2 // ... and one class's list: a burst of one size cannot take all
	countKeep = 64          // ... and at most this many buffers of one class
)

// big is the free lists of the large classes.
var big struct {
	mu    sync.Mutex
	free  [maxShift - bigShift + 1][]*[]byte
	bytes int // in all the lists
}

// getBig pops a buffer of class c from its free list, or returns nil.
func getBig(c int) *[]byte {
	i := c + minShift - bigShift
	big.mu.Lock()
	defer big.mu.Unlock()
	l := big.free[i]
	if len(l) == 0 {
		return nil
	}
	b := l[len(l)-1]
	l[len(l)-1] = nil
	big.free[i] = l[:len(l)-1]
	big.bytes -= cap(*b)
	return b
}

// putBig keeps b in its class's free list if the lists have room.
func putBig(c int, b *[]byte) bool {
	i := c + minShift - bigShift
	big.mu.Lock()
	defer big.mu.Unlock()
	if n := len(big.free[i]) + 1; big.bytes+cap(*b) > bigKeep || n*cap(*b) > classKeep || n > countKeep {
		return false
	}
	big.free[i] = append(big.free[i], b)
	big.bytes += cap(*b)
	return true
}

// classOf returns the index of the smallest class holding n bytes, or -1
// when n is larger than the largest class.
func classOf(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	shift := bits.Len(uint(n - 1))
	if shift > maxShift {
		return -1
	}
	return shift - minShift
}

// Get returns a buffer of length n whose capacity is n rounded up to a power
// of two. The contents are not zeroed. Return it with Put when done.
func Get(n int) *[]byte {
	c := classOf(n)
	if c < 0 {
		b := make([]byte, n)
		return &b
	}
	if c+minShift >= bigShift {
		if b := getBig(c); b != nil {
			*b = (*b)[:n]
			return b
		}
	}
	if v := classes[c].Get(); v != nil {
		b := v.(*[]byte)
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, 1<<(c+minShift))
	return &b
}

// Put returns a buffer obtained from Get. Buffers whose capacity is not a
// class size (grown by append, or oversized) are dropped for the GC.
func Put(b *[]byte) {
	if b == nil {
		return
	}
	c := cap(*b)
	if c < 1<<minShift || c > 1<<maxShift || c&(c-1) != 0 {
		return
	}
	*b = (*b)[:0]
	class := bits.Len(uint(c)) - 1 - minShift
	if class+minShift >= bigShift && putBig(class, b) {
		return
	}
	classes[class].Put(b)
}

// SizeOf is the capacity of the buffer Get(n) returns.
func SizeOf(n int) int {
	if c := classOf(n); c >= 0 {
		return 1 << (c + minShift)
	}
	return n
}
