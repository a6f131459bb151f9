package bench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// Report is the outcome of Run: every measurement, the engine/baseline
// comparisons derived from them, and where each performance target stands.
type Report struct {
	Date        string       `json:"date"`
	Machine     Machine      `json:"machine"`
	Options     Options      `json:"options"`
	Results     []Result     `json:"results"`
	Comparisons []Comparison `json:"comparisons"`
	Targets     []Target     `json:"targets"`
	Errors      []string     `json:"errors,omitempty"`
	// Runs holds every run's own results when Options.Runs > 1 (Results
	// are then their medians, CDFs pointwise: only those carry one).
	Runs []Result `json:"runs,omitempty"`
}

// Machine describes where the numbers were taken.
type Machine struct {
	CPU    string `json:"cpu"`
	CPUs   int    `json:"cpus"`
	OS     string `json:"os"`
	Kernel string `json:"kernel,omitempty"`
	Go     string `json:"go"`
}

// step is one measurement in a run: run for one result, or runAll for a
// scenario that measures several cases on the same nodes (hbload). expect
// is how long its timed phases should take (progress.go).
type step struct {
	name   string
	expect time.Duration
	run    func() (Result, error)
	runAll func() ([]Result, error)
}

// results runs the step.
func (s step) results() ([]Result, error) {
	if s.runAll != nil {
		return s.runAll()
	}
	r, err := s.run()
	if err != nil {
		return nil, err
	}
	return []Result{r}, nil
}

// Run executes the selected scenarios in the order Options.Scenarios gives
// them, engine and baseline back to back for each case, telling progress
// (when not nil) as each step starts and ends, and derives comparisons
// and targets. A step that fails is recorded in Report.Errors and the run
// goes on; the returned error then lists the failures.
func Run(o Options, progress Progress) (*Report, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var p *pki
	if o.TLS {
		var err error
		if p, err = newPKI(); err != nil {
			return nil, fmt.Errorf("certificates: %w", err)
		}
		defer p.close()
	}
	steps := plan(o, p)
	rep := &Report{Date: time.Now().UTC().Format(time.RFC3339), Machine: describeMachine(), Options: o}
	feed := newProgressFeed(progress, steps)
	for i, s := range steps {
		feed.start(i)
		t0 := time.Now()
		rs, err := s.results()
		feed.end(i, time.Since(t0), err)
		if err != nil {
			rep.Errors = append(rep.Errors, fmt.Sprintf("%s: %v", s.name, err))
			continue
		}
		rep.Results = append(rep.Results, rs...)
	}
	if o.Runs > 1 {
		rep.Runs, rep.Results = rep.Results, medians(rep.Results)
		for i := range rep.Runs {
			rep.Runs[i].CDF = nil // the median's is the one to draw; each run's would only bloat the JSON
		}
	}
	rep.Comparisons = compare(rep.Results, rep.Runs)
	rep.Targets = targets(rep.Results, o)
	if len(rep.Errors) > 0 {
		return rep, errors.New(strings.Join(rep.Errors, "; "))
	}
	return rep, nil
}

// plan lists the steps of a run in order: the scenarios in the order
// Options gives them, each scenario's cases in its own order.
func plan(o Options, p *pki) []step {
	var steps []step
	runs := max(o.Runs, 1)
	timed := expectTimed(o)
	both := func(name string, expect time.Duration, f func(impl) (Result, error)) {
		for r := range runs {
			order := []impl{engineImpl, baselineImpl}
			if r%2 == 1 { // interleaved: neither side always runs first
				order = []impl{baselineImpl, engineImpl}
			}
			for _, im := range order {
				steps = append(steps, step{name: stepName(name+" "+im.name, r, runs), expect: expect, run: func() (Result, error) { return f(im) }})
			}
		}
	}
	repeat := func(s step) {
		for r := range runs {
			steps = append(steps, step{name: stepName(s.name, r, runs), expect: s.expect, run: s.run})
		}
	}
	perImpl := func(name string, expect time.Duration, f func(impl) ([]Result, error)) {
		for r := range runs {
			for _, im := range []impl{engineImpl, baselineImpl} {
				steps = append(steps, step{name: stepName(name+" "+im.name, r, runs), expect: expect, runAll: func() ([]Result, error) { return f(im) }})
			}
		}
	}
	for _, sc := range o.order() {
		switch sc {
		case ScenarioRawpump:
			repeat(step{name: "rawpump 64KiB", expect: timed, run: func() (Result, error) { return rawPump(o) }})
			repeat(step{name: "rawpump round trip", expect: timed, run: func() (Result, error) { return rawRoundTrip(o) }})
		case ScenarioOneway:
			for _, size := range o.Sizes {
				both("oneway "+sizeName(size), timed, func(im impl) (Result, error) { return oneway(im, o, p, size) })
			}
		case ScenarioPingpong:
			both("pingpong", timed, func(im impl) (Result, error) { return pingpong(im, o, p) })
		case ScenarioHbload:
			perImpl("hbload", expectHbload(o), func(im impl) ([]Result, error) { return hbload(im, o, p) })
		case ScenarioFanin:
			both("fanin", timed, func(im impl) (Result, error) { return fanin(im, o, p) })
		case ScenarioConns:
			both("conns", expectConns(o.Conns), func(im impl) (Result, error) { return idleConns(im, o, p) })
		case ScenarioStream:
			repeat(step{name: "stream " + sizeName(int(min(o.StreamSize, 1<<40))), expect: expectStream(o), run: func() (Result, error) { return stream(o, p) }})
		case ScenarioScale:
			perImpl("scale", expectScale(o), func(im impl) ([]Result, error) { return scale(im, o, p) })
		case ScenarioHostile:
			steps = append(steps, step{name: "hostile", expect: expectHostile(o), runAll: func() ([]Result, error) { return hostile(o, p) }})
		}
	}
	return steps
}

// stepName is name, with the run's number when there are several.
func stepName(name string, run, runs int) string {
	if runs == 1 {
		return name
	}
	return fmt.Sprintf("%s (run %d/%d)", name, run+1, runs)
}

func describeMachine() Machine {
	m := Machine{CPU: "unknown", CPUs: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	return m
}

// sizeName prints a byte count the way the tables do: 64B, 1KiB, 64KiB, 1MiB, 1GiB.
func sizeName(n int) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dB", n)
}
