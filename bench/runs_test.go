package bench

import (
	"slices"
	"testing"
	"time"
)

func TestPlanInterleavesRuns(t *testing.T) {
	o := DefaultOptions()
	o.Scenarios, o.Sizes, o.Runs = []string{ScenarioOneway}, []int{64}, 3
	var names []string
	for _, s := range plan(o, nil) {
		names = append(names, s.name)
	}
	want := []string{
		"oneway 64B engine (run 1/3)", "oneway 64B baseline (run 1/3)",
		"oneway 64B baseline (run 2/3)", "oneway 64B engine (run 2/3)",
		"oneway 64B engine (run 3/3)", "oneway 64B baseline (run 3/3)",
	}
	if !slices.Equal(names, want) {
		t.Fatalf("steps %q\nwant %q", names, want)
	}
}

func TestMediansAndRanges(t *testing.T) {
	a := func(v float64) *float64 { return &v }
	runs := []Result{
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "engine", P99: 30 * time.Microsecond, AllocsPerMsg: a(1)},
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "baseline", P99: 10 * time.Microsecond, AllocsPerMsg: a(2)},
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "engine", P99: 10 * time.Microsecond, AllocsPerMsg: a(5)},
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "baseline", P99: 20 * time.Microsecond, AllocsPerMsg: a(2)},
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "engine", P99: 20 * time.Microsecond, AllocsPerMsg: a(3)},
		{Scenario: ScenarioPingpong, Case: "64B", Impl: "baseline", P99: 90 * time.Microsecond, AllocsPerMsg: a(2)},
	}
	rs := medians(runs)
	if len(rs) != 2 || rs[0].Impl != "engine" || rs[1].Impl != "baseline" {
		t.Fatalf("medians %+v", rs)
	}
	if e := rs[0]; e.P99 != 20*time.Microsecond || *e.AllocsPerMsg != 3 || e.Runs != 3 {
		t.Fatalf("engine median p99 %v allocs %v runs %d", e.P99, *e.AllocsPerMsg, e.Runs)
	}
	var p99 Comparison
	for _, c := range compare(rs, runs) {
		if c.Metric == mP99.name {
			p99 = c
		}
	}
	if p99.Ratio != 1 || p99.EngineRange == nil || *p99.EngineRange != [2]float64{10e3, 30e3} || *p99.BaselineRange != [2]float64{10e3, 90e3} {
		t.Fatalf("p99 comparison %+v (ranges %v %v)", p99, p99.EngineRange, p99.BaselineRange)
	}
	if got := medianFloat([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Fatalf("median of an even count %v", got)
	}
}

// TestScaleSweeps runs a small scale scenario and checks that every point
// of both sweeps, and the idle connections, were measured for engine and
// baseline.
func TestScaleSweeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	o := tinyOptions()
	o.Scenarios, o.ScaleSenders, o.ScaleSizes, o.ScaleIdle = []string{ScenarioScale}, []int{1, 20}, []int{64, 64 << 10}, 80
	o.Duration = 300 * time.Millisecond // tiny's 30 ms can pass before 64 KiB frames flow under -race on a busy machine
	rep, err := Run(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range []string{"engine", "baseline"} {
		for _, cas := range []string{"1x1KiB", "20x1KiB", "10x64B", "10x64KiB"} {
			r, ok := find(rep.Results, ScenarioScale, cas, im)
			if !ok || r.Messages == 0 || r.CPUPerMsg <= 0 || r.Conns == 0 {
				t.Errorf("%s %s: %+v (found %v)", im, cas, r, ok)
			}
		}
		if r, ok := find(rep.Results, ScenarioScale, "80 idle", im); !ok || r.BytesPerConn == 0 {
			t.Errorf("%s idle: %+v (found %v)", im, r, ok)
		}
	}
}
