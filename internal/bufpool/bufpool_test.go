package bufpool

import (
	"runtime"
	"testing"
)

func TestGetSizes(t *testing.T) {
	for _, tc := range []struct{ n, wantCap int }{
		{0, 64}, {1, 64}, {64, 64}, {65, 128}, {4096, 4096}, {4097, 8192},
		{8193, 16384}, // below plusShift: powers of two only
		{16 << 10, 16 << 10}, {16<<10 + 1, 17 << 10}, {17 << 10, 17 << 10}, {17<<10 + 1, 32 << 10},
		{64<<10 + 5, 68 << 10}, // a 64 KiB payload and its frame header
		{4<<20 + 13, 4<<20 + 256<<10}, {32<<20 + 2<<20 + 1, 64 << 20},
		{1 << 26, 1 << 26}, {1<<26 + 1, 1<<26 + 1}, // the largest class has no plus class
	} {
		b := Get(tc.n)
		if len(*b) != tc.n || cap(*b) != tc.wantCap {
			t.Errorf("Get(%d): len %d cap %d, want len %d cap %d", tc.n, len(*b), cap(*b), tc.n, tc.wantCap)
		}
		Put(b)
	}
}

// TestClassesRoundTrip: every class size maps back to its class, Get of
// it returns exactly it, and SizeOf agrees with Get for sizes around it.
func TestClassesRoundTrip(t *testing.T) {
	for c := range numClasses {
		s := c/2 + minShift
		if c%2 == 1 && (s < plusShift || s >= maxShift) {
			if classOfCap(classSize(c)) == c {
				t.Errorf("unused class %d (size %d) is reachable", c, classSize(c))
			}
			continue
		}
		size := classSize(c)
		if got := classOfCap(size); got != c {
			t.Errorf("classOfCap(%d) = %d, want %d", size, got, c)
		}
		if got := classOf(size); got != c {
			t.Errorf("classOf(%d) = %d, want %d", size, got, c)
		}
		for _, n := range []int{size - 1, size, size + 1} {
			b := Get(n)
			if cap(*b) != SizeOf(n) || cap(*b) < n {
				t.Errorf("Get(%d) cap %d, SizeOf %d", n, cap(*b), SizeOf(n))
			}
			Put(b)
		}
	}
	if classOfCap(3<<20) != -1 || classOfCap(100) != -1 {
		t.Error("a capacity that is no class size was taken for one")
	}
}

func TestPutIgnoresForeignBuffers(t *testing.T) {
	odd := make([]byte, 100)
	Put(&odd) // capacity 100 is no class: must not be pooled
	b := Get(100)
	if cap(*b) != 128 {
		t.Fatalf("Get(100) cap %d, want 128", cap(*b))
	}
	Put(nil)
}

func BenchmarkGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Put(Get(1024))
	}
}

// TestBigBuffersSurviveCollections: a large buffer put back is handed out
// again after a garbage collection (a sync.Pool would have dropped it),
// and the free lists keep no more than bigKeep bytes.
func TestBigBuffersSurviveCollections(t *testing.T) {
	big.mu.Lock()
	big.free, big.bytes = [len(big.free)][]*[]byte{}, 0 // what other tests left
	big.mu.Unlock()
	b := Get(4 << 20)
	p := &(*b)[:1][0]
	Put(b)
	runtime.GC()
	runtime.GC()
	again := Get(3 << 20)
	if &(*again)[:1][0] != p {
		t.Fatal("a 4 MiB buffer was not reused after a collection")
	}
	Put(again)
	var held []*[]byte
	for range 2 * bigKeep / (16 << 20) {
		held = append(held, Get(16<<20))
	}
	for _, h := range held {
		Put(h)
	}
	big.mu.Lock()
	kept := big.bytes
	big.mu.Unlock()
	if kept > bigKeep {
		t.Fatalf("free lists hold %d bytes, more than %d", kept, bigKeep)
	}
}
