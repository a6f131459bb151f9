package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/bench"
)

// TestJSONOutputParses runs a short harness with -json and decodes what it
// prints.
func TestJSONOutputParses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	var stdout, stderr bytes.Buffer
	args := []string{"-json", "-scenarios", "rawpump,oneway,pingpong", "-sizes", "64,1KiB", "-duration", "30ms"}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	var rep bench.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("-json output does not parse: %v\n%s", err, stdout.String())
	}
	if got := len(rep.Results); got != 2+2*2+2 { // rawpump + round trip, oneway 2 sizes x 2 impls, pingpong 2 impls
		t.Errorf("results = %d, want 8: %+v", got, rep.Results)
	}
	if rep.Machine.CPUs == 0 || rep.Date == "" {
		t.Errorf("report does not say where and when: %+v", rep.Machine)
	}
	if rep.Options.Duration != 30*time.Millisecond || rep.Options.PoolSize != 2 {
		t.Errorf("options read back as %+v", rep.Options)
	}
	for _, r := range rep.Results {
		if r.Scenario == bench.ScenarioPingpong && (r.P99 <= 0 || len(r.CDF) < 2) {
			t.Errorf("%s %s: p99 %v and %d CDF points read back", r.Scenario, r.Impl, r.P99, len(r.CDF))
		}
	}
	var raw struct {
		Options map[string]any   `json:"options"`
		Results []map[string]any `json:"results"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if d, ok := raw.Options["duration"].(string); !ok || d != "30ms" {
		t.Errorf("options.duration = %#v, want \"30ms\"", raw.Options["duration"])
	}
	if _, ok := raw.Options["pool_size"]; !ok {
		t.Errorf("options have no pool_size: %v", raw.Options)
	}
	for _, r := range raw.Results {
		if r["scenario"] == bench.ScenarioPingpong {
			if _, ok := r["p99"].(string); !ok {
				t.Errorf("pingpong p99 = %#v, want a duration string", r["p99"])
			}
		}
	}
	// stderr is no terminal here: a line per step, then the summary
	if lines := strings.Count(stderr.String(), "\ntcbench: ["); lines != 7 || !strings.Contains(stderr.String(), "tcbench: 8 steps in") {
		t.Errorf("progress on stderr:\n%s", stderr.String())
	}
}

// TestReportFlag runs a short harness with -report and checks that the
// page and its charts are where it says.
func TestReportFlag(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	dir := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-scenarios", "pingpong,oneway", "-sizes", "64", "-duration", "30ms", "-report", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	page := filepath.Join(dir, bench.HTMLIndex)
	if !strings.Contains(stderr.String(), "report in "+page) {
		t.Errorf("stderr does not say where the report is:\n%s", stderr.String())
	}
	for _, f := range []string{bench.HTMLIndex, "pingpong-cdf.svg", "oneway-throughput.svg", "advantage.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// the table still goes to stdout, pingpong first as asked
	if p, o := strings.Index(stdout.String(), "pingpong"), strings.Index(stdout.String(), "oneway"); p < 0 || o < p {
		t.Errorf("table rows not in the order given:\n%s", stdout.String())
	}
}

// TestTableIsTheDefault checks that without -json the report is the
// aligned table.
func TestTableIsTheDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-scenarios", "oneway", "-sizes", "64", "-duration", "30ms"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"oneway", "64B", "engine", "baseline"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestHbloadTableOverTLS runs the heartbeat-under-load scenario over
// mutual TLS and checks its rows and targets in the table.
func TestHbloadTableOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the harness")
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-scenarios", "hbload", "-tls", "-duration", "200ms"}, &stdout, &stderr); code != 0 { // TLS streams start slowly: see bench's TestHbloadRows
		t.Fatalf("exit status %d; stderr:\n%s", code, stderr.String())
	}
	for _, want := range []string{"tls=true", "ctrl idle", "ctrl loaded", "bulk alone", "bulk loaded", "ctrl paced", "bulk paced", "p99", "MB/s",
		"hbload control p50 under 64 KiB bulk load", "hbload bulk MB/s under control load vs alone"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, stdout.String())
		}
	}
}

// TestBadFlagsExitTwoNamingTheFlag checks each kind of bad command line.
func TestBadFlagsExitTwoNamingTheFlag(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "-nope"},
		{[]string{"-sizes", "64,big"}, "-sizes"},
		{[]string{"-scenarios", "warp"}, `scenario "warp"`},
		{[]string{"-pool", "0"}, "pool"},
		{[]string{"-deliver", "pigeon"}, "deliver"},
		{[]string{"-duration", "soon"}, "-duration"},
		{[]string{"stray"}, `"stray"`},
		{[]string{"-scenarios", "pingpong", "-report", filepath.Join(notADir, "report")}, "-report"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != 2 {
			t.Errorf("%q: exit status %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%q: stderr does not name %q:\n%s", c.args, c.want, stderr.String())
		}
	}
}

// TestParseSize reads the size notations the flags accept.
func TestParseSize(t *testing.T) {
	cases := map[string]int{"0": 0, "64": 64, "64B": 64, "1KiB": 1024, "64KiB": 65536, "1MiB": 1 << 20, "1GiB": 1 << 30}
	for in, want := range cases {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1TiB", "KiB", "1.5KiB"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) accepted", bad)
		}
	}
}
