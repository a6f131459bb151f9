package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the conns scenario re-run this test binary as its
// connection holder.
func TestMain(m *testing.M) {
	RunChildIfRequested()
	os.Exit(m.Run())
}

// tinyOptions is a run of every scenario small enough for the race detector.
func tinyOptions() Options {
	o := DefaultOptions()
	o.Sizes = []int{64, 64 << 10}
	o.Duration = 30 * time.Millisecond
	o.Peers = 2
	o.Conns = 100 // more than MaxConnectionsPerAddress's default: all come from 127.0.0.1
	o.StreamSize = 8 << 20
	return o
}

// TestRunMeasuresEveryScenario runs every scenario, plaintext and over
// mutual TLS with LZ4, and checks that each produced engine and baseline
// figures, the comparisons and the targets, and that the table and JSON
// render.
func TestRunMeasuresEveryScenario(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	for _, secure := range []bool{false, true} {
		name := map[bool]string{false: "plain", true: "tls+lz4"}[secure]
		t.Run(name, func(t *testing.T) {
			o := tinyOptions()
			o.TLS, o.LZ4 = secure, secure
			if secure {
				o.Deliver = "handler"
			}
			rep, err := Run(o, nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			checkReport(t, rep, o)
			checkWire(t, rep, o)
		})
	}
}

// checkReport asserts that every selected case was measured for every
// implementation that takes part in it.
func checkReport(t *testing.T, rep *Report, o Options) {
	t.Helper()
	want := []struct{ scenario, cas, impl string }{
		{ScenarioRawpump, "64KiB", "raw"},
		{ScenarioPingpong, sizeName(o.PingSize), "raw"},
	}
	for _, im := range []string{"engine", "baseline"} {
		for _, size := range o.Sizes {
			want = append(want, struct{ scenario, cas, impl string }{ScenarioOneway, sizeName(size), im})
		}
		want = append(want,
			struct{ scenario, cas, impl string }{ScenarioPingpong, sizeName(o.PingSize), im},
			struct{ scenario, cas, impl string }{ScenarioConns, "", im})
		for _, cas := range []string{hbCtrlIdle, hbCtrlLoaded, hbBulkAlone, hbBulkLoaded, hbCtrlPaced, hbBulkPaced} {
			want = append(want, struct{ scenario, cas, impl string }{ScenarioHbload, cas, im})
		}
	}
	for _, w := range want {
		r, ok := findLoose(rep.Results, w.scenario, w.cas, w.impl)
		if !ok {
			t.Errorf("no %s result for %s %s; results: %+v", w.impl, w.scenario, w.cas, rep.Results)
			continue
		}
		checkResult(t, r)
	}
	if n := countImpl(rep.Results, ScenarioFanin, "engine") + countImpl(rep.Results, ScenarioFanin, "baseline"); n != 2 {
		t.Errorf("fanin results = %d, want engine and baseline", n)
	}
	if len(rep.Comparisons) == 0 || len(rep.Targets) == 0 {
		t.Errorf("comparisons %d, targets %d: want both", len(rep.Comparisons), len(rep.Targets))
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"oneway", "pingpong", "hbload", "ctrl loaded", "bulk loaded", "fanin", "conns", "rawpump"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("table has no %s row:\n%s", s, table.String())
		}
	}
	var back Report
	if b, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("report JSON does not parse: %v", err)
	}
	if len(back.Results) != len(rep.Results) {
		t.Errorf("JSON round trip kept %d of %d results", len(back.Results), len(rep.Results))
	}
}

// TestHbloadRows runs the hbload scenario alone, plaintext and over mutual
// TLS, with Recv delivery (the full run above takes the handler path over
// TLS), and checks its four cases, its rows and its targets.
func TestHbloadRows(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	for _, secure := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "tls"}[secure], func(t *testing.T) {
			o := tinyOptions()
			o.Scenarios = []string{ScenarioHbload}
			o.TLS = secure
			// A TLS stream of 64 KiB messages starts slowly (pools and
			// record buffers warming: ~100 MB/s over its first 50 ms, before
			// and after this scenario existed); a 30 ms window may see none.
			o.Duration = 200 * time.Millisecond
			rep, err := Run(o, nil)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if len(rep.Results) != 12 {
				t.Fatalf("results = %d, want 6 cases x engine and baseline: %+v", len(rep.Results), rep.Results)
			}
			for _, r := range rep.Results {
				checkResult(t, r)
			}
			want := map[string]int{hbCtrlIdle: 3, hbCtrlLoaded: 3, hbBulkAlone: 1, hbBulkLoaded: 1, hbCtrlPaced: 3, hbBulkPaced: 1} // metrics per case
			for _, c := range rep.Comparisons {
				want[c.Case]--
				if c.Engine <= 0 || c.Baseline <= 0 || c.Ratio <= 0 {
					t.Errorf("comparison %+v: want engine, baseline and ratio", c)
				}
			}
			for cas, n := range want {
				if n != 0 {
					t.Errorf("case %q: %d comparisons missing (negative: extra)", cas, n)
				}
			}
			var names []string
			for _, tg := range rep.Targets {
				names = append(names, tg.Name)
			}
			joined := strings.Join(names, "|")
			if len(rep.Targets) != 5 || !strings.Contains(joined, "hbload control p99") || !strings.Contains(joined, "1 ms heartbeats") {
				t.Errorf("targets = %q, want the five hbload targets", names)
			}
			var table bytes.Buffer
			if err := rep.WriteTable(&table); err != nil {
				t.Fatal(err)
			}
			for _, row := range []string{"ctrl idle", "ctrl loaded", "bulk alone", "bulk loaded", "p999", "MB/s", "hbload bulk MB/s under control load vs alone"} {
				if !strings.Contains(table.String(), row) {
					t.Errorf("table lacks %q:\n%s", row, table.String())
				}
			}
		})
	}
}

// checkWire asserts that oneway reports frame sizes on the wire: a header
// more than the payload without compression, a fraction of it with LZ4 on
// compressible payloads.
func checkWire(t *testing.T, rep *Report, o Options) {
	t.Helper()
	for _, r := range rep.Results {
		if r.Scenario != ScenarioOneway || r.Case != "64KiB" {
			continue
		}
		size := float64(64 << 10)
		if o.LZ4 && r.WirePerMsg >= size/2 {
			t.Errorf("%s: %.0f wire bytes per 64 KiB compressible message with LZ4", r.Impl, r.WirePerMsg)
		}
		if !o.LZ4 && r.WirePerMsg != size+5 {
			t.Errorf("%s: %.0f wire bytes per 64 KiB message, want %v", r.Impl, r.WirePerMsg, size+5)
		}
	}
}

// checkResult asserts that a result holds a measurement, not zeros.
func checkResult(t *testing.T, r Result) {
	t.Helper()
	switch r.Scenario {
	case ScenarioConns:
		if r.Conns == 0 || r.BytesPerConn <= 0 || r.Goroutines <= 0 {
			t.Errorf("%s %s: empty conns result %+v", r.Scenario, r.Impl, r)
		}
	case ScenarioPingpong, ScenarioHbload:
		if r.Scenario == ScenarioHbload && hbStreamCase(r.Case) {
			if r.Messages == 0 || r.BytesPerSec <= 0 {
				t.Errorf("%s %s %s: nothing moved %+v", r.Scenario, r.Case, r.Impl, r)
			}
			return
		}
		if r.Messages == 0 || r.P50 <= 0 || r.P99 < r.P50 || r.P999 < r.P99 {
			t.Errorf("%s %s: bad percentiles %+v", r.Scenario, r.Impl, r)
		}
	default:
		if r.Messages == 0 || r.MsgsPerSec <= 0 {
			t.Errorf("%s %s %s: nothing moved %+v", r.Scenario, r.Case, r.Impl, r)
		}
	}
}

// findLoose is find, ignoring the case when cas is empty.
func findLoose(rs []Result, scenario, cas, impl string) (Result, bool) {
	for _, r := range rs {
		if r.Scenario == scenario && r.Impl == impl && (cas == "" || r.Case == cas) {
			return r, true
		}
	}
	return Result{}, false
}

// countImpl counts the results of impl in scenario.
func countImpl(rs []Result, scenario, impl string) int {
	n := 0
	for _, r := range rs {
		if r.Scenario == scenario && r.Impl == impl {
			n++
		}
	}
	return n
}

// TestValidateNamesTheBadOption checks that each bad option is refused
// with its name in the error.
func TestValidateNamesTheBadOption(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"scenario", func(o *Options) { o.Scenarios = []string{"warp"} }, `scenario "warp"`},
		{"size", func(o *Options) { o.Sizes = []int{-1} }, "size -1"},
		{"duration", func(o *Options) { o.Duration = time.Millisecond }, "duration"},
		{"pool", func(o *Options) { o.PoolSize = 0 }, "pool 0"},
		{"loops", func(o *Options) { o.EventLoops = 0 }, "loops 0"},
		{"peers", func(o *Options) { o.Peers = 100 }, "peers 100"},
		{"conns", func(o *Options) { o.Conns = 0 }, "conns 0"},
		{"deliver", func(o *Options) { o.Deliver = "pigeon" }, `deliver "pigeon"`},
		{"batch", func(o *Options) { o.Batch = 5000 }, "batch 5000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.edit(&o)
			err := o.Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("default options invalid: %v", err)
	}
}
