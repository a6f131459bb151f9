// Command raftbench runs the same 3-node hashicorp/raft cluster, with
// in-memory stores, over this repository's transport (the hashicorpraft
// adapter), over raft's own NetworkTransport and over raft's
// InmemTransport (no network at all: raft with free RPCs), in
// the same run, and prints Apply throughput and commit latency (p50/p99)
// at each command size with concurrent appliers, and the leader's
// heartbeat round trip to its followers while a stream of large commands
// is applied; then where issue #15's targets stand (throughput >= 2x
// NetworkTransport, p99 commit latency <= NetworkTransport's) and how far
// InmemTransport itself is from NetworkTransport.
//
//	go run ./raftbench                     (in adapters/hashicorpraft)
//	go run ./raftbench -duration 3s -appliers 64 -json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything one run measured.
type report struct {
	Date  string `json:"date"`
	Nodes int    `json:"nodes"`
	Runs  int    `json:"runs"`
	Procs bool   `json:"followers_in_own_processes"`
	// MaxInFlight is the adapter's WithMaxInFlight (0: its default).
	MaxInFlight int               `json:"adapter_max_in_flight"`
	Apply       []applyResult     `json:"apply"`
	Heartbeats  []heartbeatResult `json:"heartbeats"`
	Targets     []target          `json:"targets"`
}

type target struct {
	Name     string `json:"name"`
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	// Reference marks a line that is no target, only context for them.
	Reference bool `json:"reference,omitempty"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == followerFlag {
		return runFollower(args[1], stdout, stderr)
	}
	fs := flag.NewFlagSet("raftbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := fs.Duration("duration", 2*time.Second, "length of each Apply measurement")
	appliers := fs.Int("appliers", 32, "goroutines calling Apply concurrently")
	sizes := fs.String("sizes", "64,1024", "command sizes in bytes, comma-separated")
	loadSize := fs.Int("load-size", 64<<10, "command size of the load during the heartbeat measurement")
	runs := fs.Int("runs", 1, "interleaved runs of each transport")
	asJSON := fs.Bool("json", false, "print JSON instead of the table")
	only := fs.String("only", "", "run one transport only: "+adapterName+", "+networkName+" or "+inmemName)
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	tracePath := fs.String("trace", "", "write a runtime/trace of the run to this file")
	procs := fs.Bool("procs", false, "run each follower in a process of its own (the leader stays in this one)")
	maxInFlight := fs.Int("max-in-flight", 0, "the adapter's WithMaxInFlight: pipelined appends awaiting an answer (0: its default, 1: no pipeline)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var sz []int
	for _, f := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > 16<<20 {
			fmt.Fprintf(stderr, "raftbench: -sizes: bad size %q\n", f)
			return 2
		}
		sz = append(sz, n)
	}
	if *appliers < 1 || *runs < 1 || *d <= 0 || *loadSize < 1 || *maxInFlight < 0 || *maxInFlight > 1<<16 {
		fmt.Fprintln(stderr, "raftbench: -appliers, -runs, -duration and -load-size must be positive, -max-in-flight within 0..65536")
		return 2
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "raftbench:", err)
			return 2
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(stderr, "raftbench:", err)
			return 2
		}
		defer pprof.StopCPUProfile()
	}
	if *tracePath != "" {
		f, err := os.Create(*tracePath)
		if err != nil {
			fmt.Fprintln(stderr, "raftbench:", err)
			return 2
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			fmt.Fprintln(stderr, "raftbench:", err)
			return 2
		}
		defer trace.Stop()
	}
	rep := report{Date: time.Now().UTC().Format(time.RFC3339), Nodes: 3, Runs: *runs, Procs: *procs, MaxInFlight: *maxInFlight}
	facts := factories(*procs, *maxInFlight)
	if *only != "" {
		facts = slices.DeleteFunc(facts, func(f transportFactory) bool { return f.name != *only })
		if len(facts) == 0 {
			fmt.Fprintf(stderr, "raftbench: -only %q: want %s, %s or %s (not with -procs)\n", *only, adapterName, networkName, inmemName)
			return 2
		}
	}
	for i := range *runs {
		order := facts
		if i%2 == 1 { // interleave: neither transport always goes first
			order = slices.Clone(facts)
			slices.Reverse(order)
		}
		for _, f := range order {
			fmt.Fprintf(stderr, "raftbench: run %d/%d, %s\n", i+1, *runs, f.name)
			c, err := startCluster(f, 3, *procs)
			if err != nil {
				fmt.Fprintf(stderr, "raftbench: %s: %v\n", f.name, err)
				return 1
			}
			lead, err := c.leader(10 * time.Second)
			if err != nil {
				c.shutdown()
				fmt.Fprintf(stderr, "raftbench: %s: %v\n", f.name, err)
				return 1
			}
			for _, s := range sz {
				rep.Apply = append(rep.Apply, measureApply(lead, f.name, s, *appliers, *d))
			}
			rep.Heartbeats = append(rep.Heartbeats, measureHeartbeats(c, lead, f.name, *loadSize, *d))
			c.shutdown()
		}
	}
	rep.Targets = targets(rep, sz)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return 0
	}
	writeTable(stdout, rep)
	return 0
}

// median returns the median of xs (the lower middle for an even count).
func median[T int64 | float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	s := append([]T(nil), xs...)
	for i := 1; i < len(s); i++ { // a handful of runs: insertion sort
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s[(len(s)-1)/2]
}

// applyMedians are one transport's medians over runs at one size.
func applyMedians(rs []applyResult, name string, size int) (rate float64, p50, p99 time.Duration) {
	var rates []float64
	var a, b []time.Duration
	for _, r := range rs {
		if r.Transport == name && r.Size == size {
			rates, a, b = append(rates, r.AppliesPerS), append(a, r.P50), append(b, r.P99)
		}
	}
	return median(rates), median(a), median(b)
}

func targets(rep report, sizes []int) []target {
	var out []target
	for _, s := range sizes {
		er, _, ep99 := applyMedians(rep.Apply, adapterName, s)
		nr, _, np99 := applyMedians(rep.Apply, networkName, s)
		ir, _, ip99 := applyMedians(rep.Apply, inmemName, s)
		if nr > 0 {
			v := er / nr
			out = append(out, target{Name: fmt.Sprintf("Apply/s at %d B vs NetworkTransport", s), Goal: ">= 2.00x",
				Measured: fmt.Sprintf("%.2fx (%.0f vs %.0f)", v, er, nr), Met: v >= 2})
		}
		if np99 > 0 {
			out = append(out, target{Name: fmt.Sprintf("p99 commit at %d B vs NetworkTransport", s), Goal: "<= 1.00x",
				Measured: fmt.Sprintf("%.2fx (%v vs %v)", float64(ep99)/float64(np99), ep99.Round(time.Microsecond), np99.Round(time.Microsecond)), Met: ep99 <= np99})
		}
		if nr > 0 && ir > 0 { // raft with free RPCs: context for the targets, not a bound
			out = append(out, target{Name: fmt.Sprintf("reference at %d B: %s vs NetworkTransport", s, inmemName), Goal: "(reference)",
				Measured: fmt.Sprintf("%.2fx Apply/s (%.0f vs %.0f), p99 %v vs %v; engine at %.0f%% of it", ir/nr, ir, nr,
					ip99.Round(time.Microsecond), np99.Round(time.Microsecond), 100*er/ir), Met: true, Reference: true})
		}
	}
	return out
}

func writeTable(w io.Writer, rep report) {
	where := "all nodes in one process"
	if rep.Procs {
		where = "each follower in a process of its own"
	}
	pipeline := "adapter's default WithMaxInFlight"
	if rep.MaxInFlight > 0 {
		pipeline = fmt.Sprintf("adapter WithMaxInFlight(%d)", rep.MaxInFlight)
	}
	fmt.Fprintf(w, "raftbench %s: %d-node hashicorp/raft, in-memory stores, %s, %s, %d run(s)\n\n", rep.Date, rep.Nodes, where, pipeline, rep.Runs)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	cpuHeader := "CPU/apply" // every node's, all in this process
	if rep.Procs {
		cpuHeader = "leader CPU/apply"
	}
	fmt.Fprintf(tw, "transport\tsize\tappliers\tApply/s\tp50 commit\tp99 commit\t%s\terrors\t\n", cpuHeader)
	for _, r := range rep.Apply {
		fmt.Fprintf(tw, "%s\t%d B\t%d\t%.0f\t%v\t%v\t%.1fµs\t%d\t\n", r.Transport, r.Size, r.Appliers, r.AppliesPerS,
			r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), float64(r.CPUPerApply)/1e3, r.Errors)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "transport\theartbeat p50\theartbeat p99\tsamples\twhile applying\t")
	for _, h := range rep.Heartbeats {
		fmt.Fprintf(tw, "%s\t%v\t%v\t%d\t%d B cmds, %.0f MB/s\t\n", h.Transport, h.P50.Round(time.Microsecond), h.P99.Round(time.Microsecond),
			h.Samples, h.LoadSize, h.LoadMBps)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\ntargets (medians over runs)")
	for _, t := range rep.Targets {
		status := "MISSED"
		switch {
		case t.Reference:
			status = "for reference"
		case t.Met:
			status = "met"
		}
		fmt.Fprintf(w, "  %s: %s, goal %s: %s\n", t.Name, t.Measured, t.Goal, status)
	}
}

const (
	adapterName = "engine"
	networkName = "NetworkTransport"
	inmemName   = "InmemTransport"
)
