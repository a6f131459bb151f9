package bench

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
)

func TestParseSizeName(t *testing.T) {
	for _, n := range []int{0, 64, 1000, 1 << 10, 64 << 10, 1 << 20, 1 << 30} {
		if got, ok := parseSizeName(sizeName(n)); !ok || got != n {
			t.Errorf("parseSizeName(%q) = %d, %v; want %d", sizeName(n), got, ok, n)
		}
	}
	for _, bad := range []string{"", "KiB", "64", "-1B", "1.5KiB", "2000 idle"} {
		if _, ok := parseSizeName(bad); ok {
			t.Errorf("parseSizeName(%q) accepted", bad)
		}
	}
}

// TestLogTicks checks the log axes' ends and marks: 1-2-5 ends, every
// power of ten labelled, 2 and 5 only over three decades or fewer.
func TestLogTicks(t *testing.T) {
	cases := []struct {
		lo, hi         float64
		wantLo, wantHi float64
		labels         []string
	}{
		{23, 870, 20, 1000, []string{"20", "50", "100", "200", "500", "1000"}},
		{1, 1, 0.5, 2, []string{"0.5", "1", "2"}}, // one value: a step either side
		{12, 3e5, 10, 5e5, []string{"10", "100", "1000", "10000", "100000"}},
		{0.7, 0.9, 0.5, 1, []string{"0.5", "1"}},
	}
	for _, c := range cases {
		p := newPlot("t", "x", "y")
		logAxis(&p.X, c.lo, c.hi, func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) })
		if math.Abs(p.X.Min-lg(c.wantLo)) > 1e-9 || math.Abs(p.X.Max-lg(c.wantHi)) > 1e-9 {
			t.Errorf("[%v, %v]: axis [%v, %v], want [%v, %v]", c.lo, c.hi, math.Pow(10, p.X.Min), math.Pow(10, p.X.Max), c.wantLo, c.wantHi)
		}
		var labels []string
		for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
			if tk.Value < p.X.Min-1e-9 || tk.Value > p.X.Max+1e-9 {
				t.Errorf("[%v, %v]: tick at %v off the axis", c.lo, c.hi, math.Pow(10, tk.Value))
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if !slices.Equal(labels, c.labels) {
			t.Errorf("[%v, %v]: labels %q, want %q", c.lo, c.hi, labels, c.labels)
		}
	}
}

// TestAdvantageRows checks which comparisons get a bar and which way
// it points: right of 1x when the engine did better, whichever way
// better goes.
func TestAdvantageRows(t *testing.T) {
	cs := []Comparison{
		{Scenario: ScenarioOneway, Case: "64B", Metric: mMsgs.name, Engine: 300, Baseline: 100, Better: "higher"},
		{Scenario: ScenarioOneway, Case: "64B", Metric: mMBs.name, Engine: 3, Baseline: 1, Better: "higher"},   // repeats msgs/s
		{Scenario: ScenarioOneway, Case: "64B", Metric: mAllocs.name, Engine: 0, Baseline: 2, Better: "lower"}, // no ratio
		{Scenario: ScenarioOneway, Case: "64B", Metric: mWire.name, Engine: 69, Baseline: 69, Better: "lower"}, // the same frames
		{Scenario: ScenarioPingpong, Case: "64B", Metric: mP99.name, Engine: 40e3, Baseline: 20e3, Better: "lower"},
		{Scenario: ScenarioHbload, Case: hbCtrlLoaded, Metric: mP50.name, Engine: 50e3, Baseline: 5e6, Better: "lower"},
		{Scenario: ScenarioConns, Case: "2000 idle", Metric: mGor.name, Engine: 0, Baseline: 2000, Better: "lower"}, // nothing measured
		{Scenario: ScenarioScale, Case: "10x1KiB", Metric: mCPUKiB.name, Engine: 1, Baseline: 2, Better: "lower"},   // repeats CPU/msg
	}
	want := []advantageRow{
		{"oneway 64B msgs/s", ScenarioOneway, 3},
		{"pingpong 64B p99", ScenarioPingpong, 0.5},
		{"hbload ctrl loaded p50", ScenarioHbload, 100},
	}
	if got := advantageRows(cs); !slices.Equal(got, want) {
		t.Errorf("rows %+v\nwant %+v", got, want)
	}
}

func TestShort(t *testing.T) {
	cases := map[time.Duration]time.Duration{
		0:                        0,
		123 * time.Nanosecond:    123 * time.Nanosecond,
		29_649 * time.Nanosecond: 29_600 * time.Nanosecond,
		1_552_700:                1_550_000,
		970_928_900:              971 * time.Millisecond,
	}
	for d, want := range cases {
		if got := short(d); got != want {
			t.Errorf("short(%v) = %v, want %v", d, got, want)
		}
	}
}
