package bench

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestWindowOutlastsAStall checks that a window whose counter stalls for
// longer than the window itself still ends with a measurement: a short
// run under the race detector, or on a busy machine, can see no message in
// a 30 ms window, and a zero rate would read as "nothing moved".
func TestWindowOutlastsAStall(t *testing.T) {
	var counter atomic.Uint64
	const d = 20 * time.Millisecond
	go func() {
		time.Sleep(5 * d) // the stall: nothing moves until well after the window
		counter.Add(3)
	}()
	w := measureWindow(&counter, 0, d)
	if w.msgs == 0 {
		t.Fatalf("window of %v ended with nothing counted", w.elapsed)
	}
	if w.elapsed < 4*d { // the stall began before the window did
		t.Errorf("elapsed %v: shorter than the stall it waited out, so the rate is overstated", w.elapsed)
	}
}

// TestWindowGivesUpOnADeadCounter checks that a counter that never moves
// ends the window after the bound, with zero counted.
func TestWindowGivesUpOnADeadCounter(t *testing.T) {
	var counter atomic.Uint64
	w := measureWindow(&counter, 0, time.Millisecond)
	if w.msgs != 0 || w.elapsed < stallBound {
		t.Errorf("window %+v: want zero messages after at least %v", w, stallBound)
	}
}
