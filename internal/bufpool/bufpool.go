// Package bufpool recycles byte slices in power-of-two size classes.
//
// Each class has its own sync.Pool, so a burst of large messages never
// evicts the small buffers the hot path reuses (the global bytebufferpool
// calibrates one size for the whole process, which is wrong for mixed sizes).
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
	classes[bits.Len(uint(c))-1-minShift].Put(b)
}

// SizeOf is the capacity of the buffer Get(n) returns.
func SizeOf(n int) int {
	if c := classOf(n); c >= 0 {
		return 1 << (c + minShift)
	}
	return n
}
