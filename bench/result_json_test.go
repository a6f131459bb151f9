package bench

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// snakeCase is what every JSON name of the report matches.
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys calls f with the path and name of every object key in v.
func jsonKeys(v any, path string, f func(path, key string)) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			f(path, k)
			jsonKeys(e, path+"."+k, f)
		}
	case []any:
		for _, e := range v {
			jsonKeys(e, path+"[]", f)
		}
	}
}

// TestReportJSONIsSnakeCase checks every name in a full report's JSON,
// the options block and the CDFs included.
func TestReportJSONIsSnakeCase(t *testing.T) {
	rep := syntheticReport()
	rep.Results = append(rep.Results, hostileResult(), streamResult())
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	jsonKeys(v, "", func(path, key string) {
		seen[strings.TrimPrefix(path+"."+key, ".")] = true
		if !snakeCase.MatchString(key) {
			t.Errorf("%s.%s: not snake_case", path, key)
		}
	})
	for _, want := range []string{"options.pool_size", "options.event_loops", "options.duration", "results[].p99", "results[].cdf.q", "results[].cdf.rtt",
		"results[].elapsed", "results[].fresh_connect", "results[].cpu_per_msg", "comparisons[].unit", "targets[].unit"} {
		if !seen[want] {
			t.Errorf("JSON has no %s", want)
		}
	}
}

// TestDurationsAreStrings checks each duration of the JSON: a string
// that time.ParseDuration reads back to the figure.
func TestDurationsAreStrings(t *testing.T) {
	r := hostileResult()
	r.Elapsed, r.P999, r.CPUPerMsg, r.CPUPerKiB = 1500*time.Millisecond, 3*time.Millisecond, 312, 4992
	o := DefaultOptions()
	o.Duration = 1500 * time.Millisecond
	b, err := json.Marshal(Report{Options: o, Results: []Result{r}})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Options map[string]any   `json:"options"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		got  any
		want time.Duration
	}{
		{"options.duration", v.Options["duration"], 1500 * time.Millisecond},
		{"elapsed", v.Results[0]["elapsed"], r.Elapsed},
		{"p50", v.Results[0]["p50"], r.P50},
		{"p99", v.Results[0]["p99"], r.P99},
		{"p999", v.Results[0]["p999"], r.P999},
		{"base_p50", v.Results[0]["base_p50"], r.BaseP50},
		{"base_p99", v.Results[0]["base_p99"], r.BaseP99},
		{"fresh_connect", v.Results[0]["fresh_connect"], r.FreshConnect},
		{"cpu_per_msg", v.Results[0]["cpu_per_msg"], 312},
		{"cpu_per_kib", v.Results[0]["cpu_per_kib"], 4992},
	}
	for _, c := range cases {
		s, ok := c.got.(string)
		if !ok {
			t.Errorf("%s = %#v, want a duration string", c.name, c.got)
			continue
		}
		if d, err := time.ParseDuration(s); err != nil || d != c.want {
			t.Errorf("%s = %q (%v, %v), want %v", c.name, s, d, err, c.want)
		}
	}
}

// TestReportJSONRoundTrip encodes a full report and decodes it back to
// the same figures: what a tool reading tcbench -json gets.
func TestReportJSONRoundTrip(t *testing.T) {
	rep := syntheticReport()
	rep.Results = append(rep.Results, hostileResult(), streamResult())
	for i := range rep.Results { // JSON carries CPU times in whole nanoseconds
		rep.Results[i].CPUPerMsg, rep.Results[i].CPUPerKiB = float64(int64(rep.Results[i].CPUPerMsg)), float64(int64(rep.Results[i].CPUPerKiB))
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Options, rep.Options) {
		t.Errorf("options:\n%+v\nwant\n%+v", back.Options, rep.Options)
	}
	if len(back.Results) != len(rep.Results) {
		t.Fatalf("%d results back, want %d", len(back.Results), len(rep.Results))
	}
	for i := range rep.Results {
		if !reflect.DeepEqual(back.Results[i], rep.Results[i]) {
			t.Errorf("result %d:\n%+v\nwant\n%+v", i, back.Results[i], rep.Results[i])
		}
	}
	var bad Result
	if err := json.Unmarshal([]byte(`{"p50": 25300}`), &bad); err == nil {
		t.Error("a duration as a bare number accepted")
	}
}

// hostileResult is a result of the hostile scenario: the duration
// fields the other scenarios leave out.
func hostileResult() Result {
	return Result{Scenario: ScenarioHostile, Case: "slowloris", Impl: "engine", Messages: 100, P50: 40 * time.Microsecond, P99: 90 * time.Microsecond,
		BaseP50: 35 * time.Microsecond, BaseP99: 80 * time.Microsecond, FreshConnect: 2500 * time.Microsecond, PeakRSSBytes: 90 << 20, BudgetBytes: 128 << 20, Defences: "slow_frames=3"}
}

// streamResult is a result of the stream scenario.
func streamResult() Result {
	return Result{Scenario: ScenarioStream, Case: "1GiB", Impl: "engine", Messages: 1, Elapsed: 2 * time.Second, BytesPerSec: 5e8, PeakRSSBytes: 20 << 20, SenderPeakRSSBytes: 30 << 20}
}
