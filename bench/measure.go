package bench

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// window measures a counter over a timed window after a warm-up: the
// count delta, the elapsed time and the process's heap allocations.
type window struct {
	msgs    uint64
	elapsed time.Duration
	mallocs uint64
}

// stallBound is how long a window waits past its end for a counter that
// has not moved: a stall longer than that is reported as nothing moved.
const stallBound = 2 * time.Second

// measureWindow waits warm, then counts for d, or past d until the counter
// moves (at most stallBound more): a window shorter than a stall (30 ms
// under the race detector, on a busy machine) would report zero, not a
// slow rate.
func measureWindow(counter *atomic.Uint64, warm, d time.Duration) window {
	time.Sleep(warm)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := counter.Load(), time.Now()
	time.Sleep(d)
	c1, t1 := outlastStall(counter, c0, t0, d)
	runtime.ReadMemStats(&m1)
	return window{msgs: c1 - c0, elapsed: t1.Sub(t0), mallocs: m1.Mallocs - m0.Mallocs}
}

// outlastStall ends a window that began at t0 with the counter at c0 and
// was meant to last d: now, or, while the counter has not moved, when it
// moves (at most stallBound past d). It returns the count and the time.
func outlastStall(counter *atomic.Uint64, c0 uint64, t0 time.Time, d time.Duration) (uint64, time.Time) {
	c1, t1 := counter.Load(), time.Now()
	for c1 == c0 && t1.Sub(t0) < d+stallBound {
		time.Sleep(time.Millisecond)
		c1, t1 = counter.Load(), time.Now()
	}
	return c1, t1
}

// warmup is the unmeasured start of each timed run.
func warmup(d time.Duration) time.Duration { return min(d/4, 300*time.Millisecond) }

// liveBytes returns the live heap plus goroutine stacks after a full GC.
func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// payloadFor returns a payload of n bytes: compressible text (Raft log
// entries) when compressible, otherwise pseudo-random bytes that LZ4
// cannot shrink.
func payloadFor(n int, compressible bool) []byte {
	p := make([]byte, n)
	if compressible {
		const entry = `{"index":%08d,"term":7,"type":"entry","data":"set key-%03d = value"},`
		var b []byte
		for i := 0; len(b) < n; i++ {
			b = fmt.Appendf(b, entry, i, i%50)
		}
		copy(p, b)
		return p
	}
	x := uint64(0x9e3779b97f4a7c15)
	for i := range p {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		p[i] = byte(x)
	}
	return p
}
