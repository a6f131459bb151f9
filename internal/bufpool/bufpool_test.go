package bufpool

import (
	"runtime"
	"testing"
)

func TestGetSizes(t *testing.T) {
	for _, tc := range []struct{ n, wantCap int }{
		{0, 64}, {1, 64}, {64, 64}, {65, 128}, {4096, 4096}, {4097, 8192},
		{1 << 26, 1 << 26}, {1<<26 + 1, 1<<26 + 1},
	} {
		b := Get(tc.n)
		if len(*b) != tc.n || cap(*b) != tc.wantCap {
			t.Errorf("Get(%d): len %d cap %d, want len %d cap %d", tc.n, len(*b), cap(*b), tc.n, tc.wantCap)
		}
		Put(b)
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
