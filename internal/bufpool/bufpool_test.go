package bufpool

import "testing"

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
