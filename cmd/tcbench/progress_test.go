package main

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tensorchain/transport/bench"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) add(d time.Duration)     { c.t = c.t.Add(d) }
func newFakeClock() *fakeClock               { return &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }
func notTerminal() (int, bool)               { return 0, false }
func terminalOf(cols int) func() (int, bool) { return func() (int, bool) { return cols, true } }

// runSteps feeds p a run of n steps of expect each, each taking took;
// failing says which step fails (from 1, 0 for none).
func runSteps(p *progress, clk *fakeClock, n int, expect, took time.Duration, failing int) {
	for i := 1; i <= n; i++ {
		e := bench.StepEvent{Step: i, Steps: n, Name: "oneway 64B engine", Expected: expect, ExpectedLeft: time.Duration(n-i) * expect}
		p.step(e)
		clk.add(took)
		e.Done, e.Took = true, took
		if i == failing {
			e.Err = errors.New("boom")
		}
		p.step(e)
	}
}

// TestProgressLines checks the output where stderr is no terminal: a line
// per step as it starts, with the time so far and the time left, then a
// summary.
func TestProgressLines(t *testing.T) {
	var out bytes.Buffer
	clk := newFakeClock()
	p := &progress{w: &out, terminal: notTerminal, now: clk.now}
	runSteps(p, clk, 3, time.Second, 2*time.Second, 2)
	p.close()
	want := []string{
		"tcbench: [1/3] oneway 64B engine (0:00 elapsed, about 0:03 left)", // nothing finished: as expected
		"tcbench: [2/3] oneway 64B engine (0:02 elapsed, about 0:04 left)", // steps take twice what they expect
		"tcbench: [3/3] oneway 64B engine (0:04 elapsed, about 0:02 left)",
		"tcbench: 3 steps in 0:06, 1 failed",
	}
	if got := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestProgressBar checks the output on a terminal: the line redrawn in
// place, never wider than the terminal, cleared at the end.
func TestProgressBar(t *testing.T) {
	for _, cols := range []int{40, 80, 200} {
		var out bytes.Buffer
		clk := newFakeClock()
		p := &progress{w: &out, terminal: terminalOf(cols), now: clk.now}
		runSteps(p, clk, 4, time.Second, time.Second, 0)
		p.close()
		draws := strings.Split(out.String(), "\r\033[K")
		if len(draws) < 8 {
			t.Fatalf("%d columns: %d redraws, want one per event", cols, len(draws)-1)
		}
		for _, d := range draws[1 : len(draws)-1] {
			if n := utf8.RuneCountInString(d); n >= cols || strings.Contains(d, "\n") {
				t.Errorf("%d columns: line %q is %d wide", cols, d, n)
			}
		}
		if last := draws[len(draws)-1]; last != "tcbench: 4 steps in 0:04\n" {
			t.Errorf("%d columns: ends %q, want the line cleared and a summary", cols, last)
		}
		if !strings.Contains(out.String(), "2/4 onew") {
			t.Errorf("%d columns: no step shown:\n%q", cols, out.String())
		}
	}
}

func TestBarLine(t *testing.T) {
	e := bench.StepEvent{Step: 3, Steps: 12, Name: "hbload baseline (run 2/3)"}
	cases := []struct {
		cols          int
		elapsed, left time.Duration
		failed        int
		want          string
	}{
		{120, 10 * time.Second, 30 * time.Second, 0, "[======>                 ]  25%  3/12 hbload baseline (run 2/3)  0:10 elapsed, ETA 0:30"},
		{120, 0, 0, 1, "[========================] 100%  3/12 hbload baseline (run 2/3)  0:00 elapsed, ETA 0:00, 1 failed"},
		{80, 10 * time.Second, 30 * time.Second, 0, "[===>        ]  25%  3/12 hbload baseline (run 2/3)  0:10 elapsed, ETA 0:30"},
		{0, 10 * time.Second, 30 * time.Second, 0, "[===>        ]  25%  3/12 hbload baseline (run 2/3)  0:10 elapsed, ETA 0:30"}, // width unknown: 80
		{60, time.Hour, time.Hour, 0, "[======>     ]  50%  3/12 hb…  1:00:00 elapsed, ETA 1:00:00"},
		{40, 10 * time.Second, 30 * time.Second, 0, " 25%  3/12 hbl…  0:10 elapsed, ETA 0:30"}, // no room for a bar
	}
	for _, c := range cases {
		if got := barLine(c.cols, e, c.elapsed, c.left, c.failed); got != c.want {
			t.Errorf("barLine(%d, %v, %v, %d)\n = %q\nwant %q", c.cols, c.elapsed, c.left, c.failed, got, c.want)
		}
	}
}

func TestBar(t *testing.T) {
	cases := []struct {
		frac float64
		want string
	}{
		{-1, "[>         ]"}, {0, "[>         ]"}, {0.05, "[>         ]"}, {0.5, "[=====>    ]"}, {0.99, "[=========>]"}, {1, "[==========]"}, {7, "[==========]"},
	}
	for _, c := range cases {
		if got := bar(c.frac, 10); got != c.want {
			t.Errorf("bar(%v) = %q, want %q", c.frac, got, c.want)
		}
	}
}

// TestETA checks the estimate: the expected time left, scaled by how the
// finished steps compared with what they expected.
func TestETA(t *testing.T) {
	step := bench.StepEvent{Expected: 2 * time.Second, ExpectedLeft: 10 * time.Second}
	cases := []struct {
		name           string
		expected, took time.Duration // of the finished steps
		inStep         time.Duration
		want           time.Duration
	}{
		{"nothing finished", 0, 0, 0, 12 * time.Second},
		{"into the step", 0, 0, 500 * time.Millisecond, 11500 * time.Millisecond},
		{"past its expectation", 0, 0, 5 * time.Second, 10 * time.Second},
		{"steps run slow", 4 * time.Second, 6 * time.Second, time.Second, 17 * time.Second},
		{"steps run fast", 4 * time.Second, 3 * time.Second, 0, 9 * time.Second},
		{"far too fast: at least half", time.Minute, time.Second, 0, 6 * time.Second},
		{"far too slow: at most 20 times", time.Second, time.Hour, 0, 240 * time.Second},
	}
	for _, c := range cases {
		e := eta{expected: c.expected, took: c.took}
		if got := e.left(step, c.inStep); got != c.want {
			t.Errorf("%s: left %v, want %v", c.name, got, c.want)
		}
	}
}

func TestClock(t *testing.T) {
	cases := map[time.Duration]string{0: "0:00", 1499 * time.Millisecond: "0:01", 61 * time.Second: "1:01", 59*time.Minute + 59*time.Second: "59:59", 3723 * time.Second: "1:02:03"}
	for d, want := range cases {
		if got := clock(d); got != want {
			t.Errorf("clock(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestTerminalWidth checks the terminal test: a buffer and a file are
// not terminals.
func TestTerminalWidth(t *testing.T) {
	if _, tty := terminalWidth(&bytes.Buffer{})(); tty {
		t.Error("a buffer is a terminal")
	}
	f, err := createTemp(t)
	if err != nil {
		t.Fatal(err)
	}
	if _, tty := terminalWidth(f)(); tty {
		t.Error("a file is a terminal")
	}
}

func createTemp(t *testing.T) (*os.File, error) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}
