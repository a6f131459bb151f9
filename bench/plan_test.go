package bench

import (
	"bytes"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/engine"
)

// scenariosOf lists the scenarios of a plan's steps in order, each once.
func scenariosOf(steps []step) []string {
	var out []string
	for _, s := range steps {
		sc, _, _ := strings.Cut(s.name, " ")
		if len(out) == 0 || out[len(out)-1] != sc {
			out = append(out, sc)
		}
	}
	return out
}

// TestPlanFollowsScenarioOrder checks that a run takes its scenarios in
// the order Options gives them.
func TestPlanFollowsScenarioOrder(t *testing.T) {
	cases := []struct {
		name      string
		scenarios []string
		want      []string
	}{
		{"default", DefaultOptions().Scenarios, []string{"rawpump", "oneway", "pingpong", "hbload", "fanin", "conns", "stream"}},
		{"reversed", []string{ScenarioPingpong, ScenarioOneway}, []string{"pingpong", "oneway"}},
		{"hostile first", []string{ScenarioHostile, ScenarioRawpump, ScenarioConns}, []string{"hostile", "rawpump", "conns"}},
		{"named twice", []string{ScenarioFanin, ScenarioOneway, ScenarioFanin}, []string{"fanin", "oneway"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Scenarios, o.Sizes = c.scenarios, []int{64}
			if got := scenariosOf(plan(o, nil)); !slices.Equal(got, c.want) {
				t.Errorf("steps run %q, want %q", got, c.want)
			}
		})
	}
	if !slices.Equal(DefaultOptions().Scenarios, slices.DeleteFunc(slices.Clone(AllScenarios), func(s string) bool { return s == ScenarioHostile || s == ScenarioScale })) {
		t.Errorf("default scenarios %q are not AllScenarios' order less hostile and scale", DefaultOptions().Scenarios)
	}
}

// TestTableFollowsScenarioOrder checks that the table shows scenarios in
// the run's order.
func TestTableFollowsScenarioOrder(t *testing.T) {
	rep := syntheticReport()
	rep.Options.Scenarios = []string{ScenarioHbload, ScenarioPingpong, ScenarioOneway}
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	var order []string
	table, _, _ := strings.Cut(b.String(), "\ntargets\n")
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && slices.Contains(AllScenarios, f[0]) && (len(order) == 0 || order[len(order)-1] != f[0]) {
			order = append(order, f[0])
		}
	}
	// scenarios the report has results for but the options do not name
	// follow, in AllScenarios' order
	if want := []string{"hbload", "pingpong", "oneway", "rawpump", "conns", "scale"}; !slices.Equal(order, want) {
		t.Errorf("table rows in order %q, want %q:\n%s", order, want, b.String())
	}
}

// TestProgressEvents checks what a Progress hears of a plan: a start and
// an end per step, in order, with the time expected of the step and of
// the steps after it.
func TestProgressEvents(t *testing.T) {
	o := DefaultOptions()
	o.Scenarios, o.Sizes, o.Duration = []string{ScenarioOneway, ScenarioHbload, ScenarioConns}, []int{64, 1024}, 400*time.Millisecond
	steps := plan(o, nil)
	var got []StepEvent
	feed := newProgressFeed(func(e StepEvent) { got = append(got, e) }, steps)
	boom := errors.New("boom")
	for i := range steps {
		feed.start(i)
		feed.end(i, time.Second, map[bool]error{true: boom}[i == 2])
	}
	if len(got) != 2*len(steps) {
		t.Fatalf("%d events for %d steps", len(got), len(steps))
	}
	var total time.Duration
	for _, s := range steps {
		total += s.expect
	}
	left := total
	for i, s := range steps {
		start, end := got[2*i], got[2*i+1]
		left -= s.expect
		if start.Done || !end.Done || start.Step != i+1 || start.Steps != len(steps) || start.Name != s.name {
			t.Errorf("step %d: events %+v, %+v", i, start, end)
		}
		if start.Expected <= 0 || start.Expected != s.expect || start.ExpectedLeft != left {
			t.Errorf("step %d (%s): expected %v, left %v; want %v, %v", i, s.name, start.Expected, start.ExpectedLeft, s.expect, left)
		}
		if end.Took != time.Second || (end.Err != nil) != (i == 2) {
			t.Errorf("step %d: took %v, err %v", i, end.Took, end.Err)
		}
	}
	if want := warmup(o.Duration) + o.Duration; steps[0].expect != want {
		t.Errorf("a oneway step expects %v, want its warm-up and window, %v", steps[0].expect, want)
	}
	newProgressFeed(nil, steps).start(0) // a nil Progress is not told
}

// TestDefaultsAreTheEngines checks that tcbench's engine settings are
// engine.NewConfig's unless a benchmark must differ (DefaultOptions).
func TestDefaultsAreTheEngines(t *testing.T) {
	cfg, o := engine.NewConfig("x", "127.0.0.1:0"), DefaultOptions()
	cases := []struct {
		name      string
		got, want int
	}{
		{"PoolSize", o.PoolSize, cfg.PoolSize},
		{"EventLoops", o.EventLoops, cfg.EventLoops},
		{"EventLoops is a loop per CPU", o.EventLoops, runtime.NumCPU()},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s: tcbench %d, engine %d", c.name, c.got, c.want)
		}
	}
	if got, err := engineConfig(nodeSpec{id: "x", opts: o}); err != nil || got.PoolSize != cfg.PoolSize || got.EventLoops != cfg.EventLoops ||
		got.ReceiveWindow != cfg.ReceiveWindow || got.MaxMessageSize != cfg.MaxMessageSize {
		t.Errorf("the bench's engine config differs from NewConfig's beyond what it must: %v", err)
	}
}
