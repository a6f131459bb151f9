package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tensorchain/transport/bench"
)

// progress shows a run's steps on stderr. On a terminal it redraws one
// line in place, twice a second: a bar, the step, the time so far and an
// ETA. Anywhere else (a file, a pipe, CI's log) it prints one line as
// each step starts. Either way it ends with a line saying how long the
// run took.
type progress struct {
	w        io.Writer
	terminal func() (cols int, ok bool) // the terminal's width, when w is one
	now      func() time.Time

	mu       sync.Mutex
	started  bool
	start    time.Time       // the run's first step started
	cur      bench.StepEvent // the step running, or the last one
	curStart time.Time
	eta      eta
	steps    int
	failed   int
	stop     chan struct{}
	stopped  chan struct{}
}

// redrawEvery is how often the bar's clock and ETA move on a terminal.
const redrawEvery = 500 * time.Millisecond

// newProgress shows progress on w: the bar when w is a terminal, lines
// otherwise.
func newProgress(w io.Writer) *progress {
	return &progress{w: w, terminal: terminalWidth(w), now: time.Now}
}

// terminalWidth returns, for a w that is a terminal, a function telling
// its width in columns now (it may be resized); for any other w, one that
// says it is not a terminal.
func terminalWidth(w io.Writer) func() (int, bool) {
	f, ok := w.(*os.File)
	if !ok {
		return func() (int, bool) { return 0, false }
	}
	return func() (int, bool) {
		ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ) // ENOTTY for files, pipes, /dev/null
		if err != nil {
			return 0, false
		}
		return int(ws.Col), true
	}
}

// step is the bench.Progress: Run calls it as each step starts and ends.
func (p *progress) step(e bench.StepEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.started {
		p.started, p.start = true, now
		if _, tty := p.terminal(); tty {
			p.stop, p.stopped = make(chan struct{}), make(chan struct{})
			go p.redraw()
		}
	}
	p.cur, p.steps = e, e.Steps
	if e.Done {
		p.eta.done(e)
		if e.Err != nil {
			p.failed++
		}
	} else {
		p.curStart = now
	}
	if cols, tty := p.terminal(); tty {
		p.drawBar(cols, now)
	} else if !e.Done {
		fmt.Fprintf(p.w, "tcbench: [%*d/%d] %s (%s elapsed, about %s left)\n", len(fmt.Sprint(e.Steps)), e.Step, e.Steps, e.Name,
			clock(now.Sub(p.start)), clock(p.eta.left(e, 0)))
	}
}

// redraw moves the bar's clock on until close.
func (p *progress) redraw() {
	defer close(p.stopped)
	t := time.NewTicker(redrawEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if cols, tty := p.terminal(); tty {
				p.drawBar(cols, p.now())
			}
			p.mu.Unlock()
		}
	}
}

// drawBar rewrites the terminal's line; p.mu is held.
func (p *progress) drawBar(cols int, now time.Time) {
	inStep := time.Duration(0)
	if !p.cur.Done {
		inStep = now.Sub(p.curStart)
	}
	elapsed := now.Sub(p.start)
	left := p.eta.left(p.cur, inStep)
	if p.cur.Done {
		left = p.eta.left(bench.StepEvent{ExpectedLeft: p.cur.ExpectedLeft}, 0)
	}
	fmt.Fprint(p.w, "\r\033[K"+barLine(cols, p.cur, elapsed, left, p.failed))
}

// barLine is the terminal's progress line, cut to fit in cols columns
// (a line that wraps would not be redrawn in place): the bar (shorter on
// a narrow terminal, none on a very narrow one), the share done, the
// step, the time so far and the ETA; the step's name gives way first.
func barLine(cols int, e bench.StepEvent, elapsed, left time.Duration, failed int) string {
	if cols <= 0 {
		cols = 80
	}
	frac := 1.0
	if total := elapsed + left; total > 0 {
		frac = float64(elapsed) / float64(total)
	}
	tail := fmt.Sprintf("  %s elapsed, ETA %s", clock(elapsed), clock(left))
	if failed > 0 {
		tail += fmt.Sprintf(", %d failed", failed)
	}
	line := fmt.Sprintf("%3.0f%%  %d/%d %s", 100*frac, e.Step, e.Steps, e.Name)
	switch {
	case cols >= 110:
		line = bar(frac, 24) + " " + line
	case cols >= 60:
		line = bar(frac, 12) + " " + line
	}
	room := cols - 1 - len([]rune(tail))
	if r := []rune(line); len(r) > room {
		line = string(r[:max(room-1, 0)]) + "…"
	}
	return line + tail
}

// bar draws frac (0 to 1) as [=====>    ], width cells inside brackets.
func bar(frac float64, width int) string {
	frac = min(max(frac, 0), 1)
	n := int(frac * float64(width))
	if n >= width {
		return "[" + strings.Repeat("=", width) + "]"
	}
	return "[" + strings.Repeat("=", n) + ">" + strings.Repeat(" ", width-n-1) + "]"
}

// close stops the bar, clears its line and prints how the run went. Call
// it once Run has returned.
func (p *progress) close() {
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return
	}
	if _, tty := p.terminal(); tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
	summary := fmt.Sprintf("tcbench: %d steps in %s", p.steps, clock(p.now().Sub(p.start)))
	if p.failed > 0 {
		summary += fmt.Sprintf(", %d failed", p.failed)
	}
	fmt.Fprintln(p.w, summary)
}

// eta estimates the time a run has left from its steps' expected
// durations (bench.StepEvent.Expected: warm-ups and timed windows),
// scaled by how long the finished steps took against theirs, which
// brings in what the expectations leave out (starting nodes, connecting,
// a slow machine).
type eta struct{ expected, took time.Duration }

// done counts a finished step.
func (e *eta) done(s bench.StepEvent) { e.expected, e.took = e.expected+s.Expected, e.took+s.Took }

// scale is how much longer than expected steps take: 1 until one has
// finished, then what the finished ones show, within 0.5 to 20.
func (e eta) scale() float64 {
	if e.expected <= 0 || e.took <= 0 {
		return 1
	}
	return min(max(float64(e.took)/float64(e.expected), 0.5), 20)
}

// left is the time left when step s has run for inStep.
func (e eta) left(s bench.StepEvent, inStep time.Duration) time.Duration {
	k := e.scale()
	cur := max(time.Duration(k*float64(s.Expected))-inStep, 0)
	return cur + time.Duration(k*float64(s.ExpectedLeft))
}

// clock prints a duration as m:ss, or h:mm:ss from an hour.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
