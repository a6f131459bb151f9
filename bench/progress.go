package bench

import (
	"slices"
	"time"
)

// StepEvent tells a Progress where a run stands: a step starting, or one
// that has ended.
type StepEvent struct {
	// Step is the step's index, from 1, of Steps.
	Step, Steps int
	// Name says what the step measures ("oneway 64B engine").
	Name string
	// Expected is how long the step's measured phases should take: its
	// warm-ups and timed windows (Options.Duration plus a warm-up for
	// most), or an estimate where the work is not timed (conns, stream).
	// Starting nodes and connecting comes on top. ExpectedLeft is the sum
	// over the steps after this one.
	Expected, ExpectedLeft time.Duration
	// Done is false as the step starts and true once it has ended; Took
	// is then how long it ran, and Err why it failed if it did.
	Done bool
	Took time.Duration
	Err  error
}

// Progress is told about each step of a run as it starts and as it ends,
// on the goroutine that called Run. A nil Progress is not told.
type Progress func(StepEvent)

// progressFeed turns a plan's steps into StepEvents.
type progressFeed struct {
	p     Progress
	steps []step
	left  []time.Duration // left[i]: expected time of the steps after i
}

func newProgressFeed(p Progress, steps []step) progressFeed {
	left := make([]time.Duration, len(steps))
	for i := len(steps) - 2; i >= 0; i-- {
		left[i] = left[i+1] + steps[i+1].expect
	}
	return progressFeed{p: p, steps: steps, left: left}
}

func (f progressFeed) event(i int) StepEvent {
	return StepEvent{Step: i + 1, Steps: len(f.steps), Name: f.steps[i].name, Expected: f.steps[i].expect, ExpectedLeft: f.left[i]}
}

// start tells that step i starts.
func (f progressFeed) start(i int) {
	if f.p != nil {
		f.p(f.event(i))
	}
}

// end tells that step i ended after took, with err if it failed.
func (f progressFeed) end(i int, took time.Duration, err error) {
	if f.p != nil {
		e := f.event(i)
		e.Done, e.Took, e.Err = true, took, err
		f.p(e)
	}
}

// expectTimed is a step of one warm-up and one timed window.
func expectTimed(o Options) time.Duration { return warmup(o.Duration) + o.Duration }

// expectHbload is hbload's three phases: control alone, bulk alone, both.
func expectHbload(o Options) time.Duration {
	return expectTimed(o) + 2*(streamWarmup(o.Duration)+o.Duration)
}

// expectConns estimates opening n idle connections and collecting
// garbage around them (no timed window).
func expectConns(n int) time.Duration {
	return 300*time.Millisecond + time.Duration(n)*250*time.Microsecond
}

// expectStream estimates the stream at 500 MB/s, plus starting the two
// processes.
func expectStream(o Options) time.Duration {
	return 500*time.Millisecond + time.Duration(float64(o.StreamSize)/500e6*float64(time.Second))
}

// expectScale is scale's points, a timed window and a child process each,
// and its idle connections.
func expectScale(o Options) time.Duration {
	d := time.Duration(len(scaleCases(o))) * (expectTimed(o) + 300*time.Millisecond)
	if o.ScaleIdle > 0 {
		d += expectConns(o.ScaleIdle)
	}
	return d
}

// expectHostile is each selected attack: pings before and during it,
// its warm-up, and the node's start and descriptor count.
func expectHostile(o Options) time.Duration {
	n := 0
	for _, a := range attacks {
		if len(o.Attacks) == 0 || slices.Contains(o.Attacks, a.name) {
			n++
		}
	}
	window := max(o.Duration, time.Second)
	return time.Duration(n) * (2*window + 1500*time.Millisecond)
}
