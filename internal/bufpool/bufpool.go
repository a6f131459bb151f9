// Package bufpool recycles byte slices in size classes: the powers of two
// and, from 16 KiB on, each power of two plus a sixteenth of it.
//
// The second kind of class is for the sizes a transport asks for most: a
// power of two plus a header (a 64 KiB payload and its frame header, a
// 4 MiB raft append), which with powers of two alone take a buffer twice
// their size. 64 KiB + 5 bytes now takes 68 KiB, not 128 KiB.
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
	minShift   = 6  // 64 B: the smallest class
	maxShift   = 26 // 64 MiB: larger buffers are allocated and left to the GC
	plusShift  = 14 // 16 KiB: powers of two from here on also have a "plus" class
	plusFactor = 4  // a plus class is 2^s + 2^(s-plusFactor): a sixteenth more
)

// A class is numbered 2*(s-minShift) for the power of two 2^s and one more
// for its plus class (the numbers of plus classes below plusShift and
// above maxShift are unused).
const numClasses = 2 * (maxShift - minShift + 1)

var classes [numClasses]sync.Pool

const (
	bigShift  = 16          // 64 KiB: classes from here on have a free list too
	bigKeep   = 64 << 20    // bytes the free lists may hold in all
	classKeep = bigKeep / 2 // ... and one class's list: a burst of one size cannot take all
	countKeep = 64          // ... and at most this many buffers of one class
)

// big is the free lists of the large classes.
var big struct {
	mu    sync.Mutex
	free  [numClasses][]*[]byte
	bytes int // in all the lists
}

// getBig pops a buffer of class c from its free list, or returns nil.
func getBig(c int) *[]byte {
	big.mu.Lock()
	defer big.mu.Unlock()
	l := big.free[c]
	if len(l) == 0 {
		return nil
	}
	b := l[len(l)-1]
	l[len(l)-1] = nil
	big.free[c] = l[:len(l)-1]
	big.bytes -= cap(*b)
	return b
}

// putBig keeps b in its class's free list if the lists have room.
func putBig(c int, b *[]byte) bool {
	big.mu.Lock()
	defer big.mu.Unlock()
	if n := len(big.free[c]) + 1; big.bytes+cap(*b) > bigKeep || n*cap(*b) > classKeep || n > countKeep {
		return false
	}
	big.free[c] = append(big.free[c], b)
	big.bytes += cap(*b)
	return true
}

// classSize is the capacity of class c's buffers.
func classSize(c int) int {
	s := c/2 + minShift
	if c%2 == 1 {
		return 1<<s + 1<<(s-plusFactor)
	}
	return 1 << s
}

// isBig reports whether class c has a free list.
func isBig(c int) bool { return c/2+minShift >= bigShift }

// classOf returns the smallest class holding n bytes, or -1 when n is
// larger than the largest class.
func classOf(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	s := bits.Len(uint(n - 1)) // 2^(s-1) < n <= 2^s
	if s > maxShift {
		return -1
	}
	if below := s - 1; below >= plusShift && n <= 1<<below+1<<(below-plusFactor) {
		return 2*(below-minShift) + 1 // just over a power of two: its plus class
	}
	return 2 * (s - minShift)
}

// classOfCap returns the class whose buffers have capacity c, or -1 when
// c is no class size (a buffer grown by append, or made elsewhere).
func classOfCap(c int) int {
	if c < 1<<minShift || c > 1<<maxShift {
		return -1
	}
	s := bits.Len(uint(c)) - 1 // 2^s <= c < 2^(s+1)
	switch {
	case c == 1<<s:
		return 2 * (s - minShift)
	case s >= plusShift && s < maxShift && c == 1<<s+1<<(s-plusFactor):
		return 2*(s-minShift) + 1
	}
	return -1
}

// Get returns a buffer of length n whose capacity is n rounded up to its
// class's size. The contents are not zeroed. Return it with Put when done.
func Get(n int) *[]byte {
	c := classOf(n)
	if c < 0 {
		b := make([]byte, n)
		return &b
	}
	if isBig(c) {
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
	b := make([]byte, n, classSize(c))
	return &b
}

// Put returns a buffer obtained from Get. Buffers whose capacity is not a
// class size (grown by append, or oversized) are dropped for the GC.
func Put(b *[]byte) {
	if b == nil {
		return
	}
	c := classOfCap(cap(*b))
	if c < 0 {
		return
	}
	*b = (*b)[:0]
	if isBig(c) && putBig(c, b) {
		return
	}
	classes[c].Put(b)
}

// SizeOf is the capacity of the buffer Get(n) returns.
func SizeOf(n int) int {
	if c := classOf(n); c >= 0 {
		return classSize(c)
	}
	return n
}
