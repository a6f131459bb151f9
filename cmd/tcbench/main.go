// Command tcbench measures the transport on this machine: throughput,
// latency, heartbeats under bulk load, fan-in and idle-connection memory,
// each against a same-run baseline written the ordinary Go way (goroutines
// per connection, net.Conn, bufio, crypto/tls) and against raw sockets. See
// package bench.
//
// With no flags it runs every scenario for a second each on loopback and
// prints the table in under a minute:
//
//	go run ./cmd/tcbench
//	go run ./cmd/tcbench -tls -lz4 -sizes 64,64KiB -duration 3s
//	go run ./cmd/tcbench -scenarios pingpong,conns -conns 10000 -json
//	go run ./cmd/tcbench -report report   # then open report/index.html
//
// While it runs, stderr shows its progress: on a terminal a bar with the
// step running and an ETA, elsewhere a line per step.
//
// Flags:
//
//	-scenarios  comma-separated, run in the order given: rawpump,oneway,pingpong,hbload,fanin,conns,stream,scale,hostile
//	            (default all but scale and hostile, which start a node per case: a minute or more)
//	-sizes      oneway payload sizes (default 64,1KiB,64KiB,1MiB)
//	-duration   timed window per measurement, after a warm-up (default 1s)
//	-tls        mutual TLS 1.3 for engine and baseline
//	-lz4        LZ4 compression on, with compressible payloads
//	-compressible  compressible (JSON-like) payloads without -lz4 too
//	-pool       engine bulk connections per peer (default 2, engine.NewConfig's)
//	-loops      engine event loops (default: CPUs, engine.NewConfig's)
//	-peers      fan-in senders (default 4)
//	-fanin-size fan-in payload size (default 1KiB)
//	-conns      idle connections in conns (default 2000)
//	-ping-size  ping-pong payload size (default 64)
//	-deliver    engine delivery: recv (the Recv ring) or handler (inline)
//	-hostile-budget  memory budget of the node under attack (default 128MiB)
//	-attacks    hostile's attack classes, comma-separated (default all)
//	-stream-size  length of the stream in stream, between two node processes (default 1GiB)
//	-scale-senders, -scale-sizes, -scale-idle  the scale scenario's sweeps (default 1,10,100,1000
//	            senders at 1KiB; 64,1KiB,64KiB,1MiB at 10 senders; 10000 idle connections)
//	-runs       measure each case N times, engine and baseline interleaved; medians and [min..max] (default 1)
//	-json       print the report as JSON instead of the table (snake_case, durations as strings)
//	-report     write an HTML report with charts to this directory (DIR/index.html and its SVGs)
//	-cpuprofile write a CPU profile of the whole run to this file
//	-trace      write a runtime/trace of the whole run to this file
//
// It exits 0 when every step ran (missed targets are reported, not
// failures), 1 when a step failed, 2 on bad flags.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"

	"github.com/tensorchain/transport/bench"
)

func main() {
	bench.RunChildIfRequested() // conns and hostile re-run this binary: to hold clients, as the node under attack
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run parses args, runs the harness and prints the report; it returns the
// exit status.
func run(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		fmt.Fprintln(stderr, "tcbench:", err)
		return 2
	}
	if c.cpuProfile != "" {
		stop, err := startCPUProfile(c.cpuProfile)
		if err != nil {
			fmt.Fprintln(stderr, "tcbench: flag -cpuprofile:", err)
			return 2
		}
		defer stop()
	}
	if c.reportDir != "" { // before the run, not after it: fail fast
		if err := os.MkdirAll(c.reportDir, 0o755); err != nil {
			fmt.Fprintln(stderr, "tcbench: flag -report:", err)
			return 2
		}
	}
	if c.tracePath != "" {
		stop, err := startTrace(c.tracePath)
		if err != nil {
			fmt.Fprintln(stderr, "tcbench: flag -trace:", err)
			return 2
		}
		defer stop()
	}
	prog := newProgress(stderr)
	rep, runErr := bench.Run(c.opts, prog.step)
	prog.close()
	if rep == nil {
		fmt.Fprintln(stderr, "tcbench:", runErr)
		return 2
	}
	if c.reportDir != "" {
		if err := rep.WriteHTML(c.reportDir); err != nil {
			fmt.Fprintln(stderr, "tcbench: -report:", err)
			return 1
		}
		fmt.Fprintln(stderr, "tcbench: report in", filepath.Join(c.reportDir, bench.HTMLIndex))
	}
	if c.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.WriteTable(stdout)
	}
	if err != nil {
		fmt.Fprintln(stderr, "tcbench:", err)
		return 1
	}
	if runErr != nil {
		fmt.Fprintln(stderr, "tcbench:", runErr)
		return 1
	}
	return 0
}

// cli is what the command line asks for.
type cli struct {
	opts       bench.Options
	asJSON     bool
	reportDir  string
	cpuProfile string
	tracePath  string
}

// parseFlags turns the command line into options; errors name the flag.
func parseFlags(args []string, stderr io.Writer) (cli, error) {
	c := cli{opts: bench.DefaultOptions()}
	o := &c.opts
	fs := flag.NewFlagSet("tcbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	scenarios := fs.String("scenarios", strings.Join(o.Scenarios, ","), "comma-separated scenarios, run in the order given: "+strings.Join(bench.AllScenarios, ","))
	sizes := fs.String("sizes", "64,1KiB,64KiB,1MiB", "oneway payload sizes, comma-separated (B, KiB, MiB suffixes)")
	fs.DurationVar(&o.Duration, "duration", o.Duration, "timed window per measurement (after a warm-up)")
	fs.BoolVar(&o.TLS, "tls", false, "mutual TLS 1.3 for engine and baseline")
	fs.Var(&o.TLSRecords, "tls-records", "the engine's TLS record `layer`: engine (in place) or crypto/tls")
	fs.BoolVar(&o.LZ4, "lz4", false, "LZ4 compression with compressible payloads")
	fs.BoolVar(&o.Compressible, "compressible", false, "compressible (JSON-like) payloads, also without -lz4")
	fs.IntVar(&o.PoolSize, "pool", o.PoolSize, "engine bulk connections per peer")
	fs.IntVar(&o.EventLoops, "loops", o.EventLoops, "engine event loops")
	fs.IntVar(&o.Peers, "peers", o.Peers, "fan-in senders")
	faninSize := fs.String("fanin-size", "1KiB", "fan-in payload size")
	fs.IntVar(&o.Conns, "conns", o.Conns, "idle connections in the conns scenario")
	pingSize := fs.String("ping-size", "64", "ping-pong payload size")
	fs.StringVar(&o.Deliver, "deliver", o.Deliver, "engine delivery: recv or handler")
	hostileBudget := fs.String("hostile-budget", "128MiB", "memory budget of the node under attack in hostile")
	attackList := fs.String("attacks", "", "hostile's attack classes, comma-separated (default all)")
	streamSize := fs.String("stream-size", "1GiB", "length of the stream in the stream scenario")
	scaleSenders := fs.String("scale-senders", "1,10,100,1000", "scale: connection counts of the senders sweep (1 KiB messages)")
	scaleSizes := fs.String("scale-sizes", "64,1KiB,64KiB,1MiB", "scale: message sizes of the sizes sweep (10 senders)")
	fs.IntVar(&o.ScaleIdle, "scale-idle", o.ScaleIdle, "scale: idle connections (0: none)")
	fs.IntVar(&o.Batch, "batch", o.Batch, "oneway: messages per send and receive call (more than 1: the engine's SendBatch and RecvBatch)")
	fs.IntVar(&o.Runs, "runs", o.Runs, "measure each case this many times, engine and baseline interleaved; report medians and ranges")
	fs.BoolVar(&c.asJSON, "json", false, "print JSON instead of the table")
	fs.StringVar(&c.reportDir, "report", "", "write an HTML report with charts to this directory")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	fs.StringVar(&c.tracePath, "trace", "", "write a runtime/trace of the run to this file (go tool trace; -pprof=sched for scheduler latency)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.Scenarios = splitList(*scenarios)
	o.Sizes = o.Sizes[:0]
	for _, s := range splitList(*sizes) {
		n, err := parseSize(s)
		if err != nil {
			return c, fmt.Errorf("flag -sizes: %w", err)
		}
		o.Sizes = append(o.Sizes, n)
	}
	var err error
	if o.FaninSize, err = parseSize(*faninSize); err != nil {
		return c, fmt.Errorf("flag -fanin-size: %w", err)
	}
	if o.PingSize, err = parseSize(*pingSize); err != nil {
		return c, fmt.Errorf("flag -ping-size: %w", err)
	}
	hb, err := parseSize(*hostileBudget)
	if err != nil {
		return c, fmt.Errorf("flag -hostile-budget: %w", err)
	}
	o.HostileBudget = int64(hb)
	ss, err := parseSize(*streamSize)
	if err != nil {
		return c, fmt.Errorf("flag -stream-size: %w", err)
	}
	o.StreamSize = int64(ss)
	if o.ScaleSenders, err = parseSizes(*scaleSenders); err != nil {
		return c, fmt.Errorf("flag -scale-senders: %w", err)
	}
	if o.ScaleSizes, err = parseSizes(*scaleSizes); err != nil {
		return c, fmt.Errorf("flag -scale-sizes: %w", err)
	}
	o.Attacks = splitList(*attackList)
	if err := o.Validate(); err != nil {
		return c, fmt.Errorf("flag -%w", err)
	}
	return c, nil
}

// parseSizes reads a comma-separated list of sizes (parseSize).
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range splitList(s) {
		n, err := parseSize(f)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// parseSize reads "64", "64B", "1KiB", "1MiB", "1GiB".
func parseSize(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad size %q (want e.g. 64, 1KiB, 1MiB)", s)
	}
	return n * mult, nil
}

// startCPUProfile starts profiling into path and returns the function that
// stops and writes it.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// startTrace starts a runtime/trace into path and returns the function
// that stops it.
func startTrace(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := trace.Start(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { trace.Stop(); f.Close() }, nil
}
