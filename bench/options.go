package bench

import (
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// Scenario names.
const (
	ScenarioOneway   = "oneway"
	ScenarioPingpong = "pingpong"
	ScenarioHbload   = "hbload"
	ScenarioFanin    = "fanin"
	ScenarioConns    = "conns"
	ScenarioRawpump  = "rawpump"
	ScenarioHostile  = "hostile"
	ScenarioStream   = "stream"
	ScenarioScale    = "scale"
)

// AllScenarios lists every scenario in the default run's order (Run takes
// Options.Scenarios in the order given). The default run leaves
// hostile (a node per attack: about a minute) and scale (a node per point
// of its sweeps, and 10,000 connections) out.
var AllScenarios = []string{ScenarioRawpump, ScenarioOneway, ScenarioPingpong, ScenarioHbload, ScenarioFanin, ScenarioConns, ScenarioStream, ScenarioScale, ScenarioHostile}

// Options selects what Run measures and how. In JSON its names are
// snake_case and Duration is a string ("1s").
type Options struct {
	// Scenarios to run, from AllScenarios, in the order they run (a
	// scenario named twice runs once).
	Scenarios []string `json:"scenarios"`
	// Sizes are the oneway payload sizes, in bytes.
	Sizes []int `json:"sizes"`
	// Duration is how long each timed measurement runs (after a warm-up).
	Duration time.Duration `json:"duration"`
	// TLS runs engine and baseline over mutual TLS 1.3.
	TLS bool `json:"tls"`
	// TLSRecords is the engine's TLS record layer with TLS: its own, which
	// decrypts in place (the default), or crypto/tls's.
	TLSRecords tlsstate.RecordLayer `json:"tls_records"`
	// LZ4 turns compression on and sends compressible payloads.
	LZ4 bool `json:"lz4"`
	// Compressible sends compressible (JSON-like) payloads even without
	// LZ4, so a run with and a run without compression move the same data.
	Compressible bool `json:"compressible"`
	// PoolSize is the engine's bulk connections per peer.
	PoolSize int `json:"pool_size"`
	// EventLoops is the engine's reactor count.
	EventLoops int `json:"event_loops"`
	// Peers is the number of senders in fanin.
	Peers int `json:"peers"`
	// FaninSize is the payload size in fanin, in bytes.
	FaninSize int `json:"fanin_size"`
	// Conns is the number of idle connections in conns.
	Conns int `json:"conns"`
	// PingSize is the payload size in pingpong and the raw round trip.
	PingSize int `json:"ping_size"`
	// Deliver is how the engine hands messages over: "recv" (the Recv ring,
	// like the baseline's channel) or "handler" (the inline zero-copy path).
	Deliver string `json:"deliver"`
	// HostileBudget is the MemoryBudget of the node under attack in
	// hostile, in bytes.
	HostileBudget int64 `json:"hostile_budget"`
	// Attacks selects hostile's attack classes by name (empty: all).
	Attacks []string `json:"attacks,omitempty"`
	// StreamSize is the length of the stream in stream, in bytes.
	StreamSize int64 `json:"stream_size"`
	// ScaleSenders are the connection counts of scale's senders sweep (at
	// 1 KiB), ScaleSizes the message sizes of its sizes sweep (at 10
	// senders), and ScaleIdle its idle connections (0: none).
	ScaleSenders []int `json:"scale_senders"`
	ScaleSizes   []int `json:"scale_sizes"`
	ScaleIdle    int   `json:"scale_idle"`
	// Batch is how many messages oneway's sender and receiver move per
	// call: 1 is Send and Recv; more is the engine's SendBatch and
	// RecvBatch, against a baseline that likewise queues a batch as one
	// item and hands the frames it has already buffered to its reader as
	// one. 0 is 1.
	Batch int `json:"batch"`
	// Runs is how many times each case is measured, engine and baseline
	// interleaved; the report gives medians and ranges (runs.go). 0 is 1.
	Runs int `json:"runs"`
}

// batch is Batch, at least 1.
func (o Options) batch() int { return max(o.Batch, 1) }

// compressible reports whether payloads are the compressible kind.
func (o Options) compressible() bool { return o.LZ4 || o.Compressible }

// DefaultOptions is a run that finishes in well under a minute. The
// engine's settings are engine.NewConfig's (PoolSize 2, EventLoops one per
// CPU) except where a benchmark must differ: no rate limit, compression
// only with LZ4 (the baseline and raw sockets do not compress), no
// reconnection, and connection limits that admit what conns holds
// (enginenode.go).
func DefaultOptions() Options {
	return Options{
		Scenarios:  slices.DeleteFunc(slices.Clone(AllScenarios), func(s string) bool { return s == ScenarioHostile || s == ScenarioScale }),
		Sizes:      []int{64, 1 << 10, 64 << 10, 1 << 20},
		Duration:   time.Second,
		PoolSize:   2,
		EventLoops: runtime.NumCPU(),
		Peers:      4,
		FaninSize:  1 << 10,
		Conns:      2000,
		PingSize:   64,
		Deliver:    "recv",

		HostileBudget: 128 << 20,
		StreamSize:    1 << 30,
		ScaleSenders:  []int{1, 10, 100, 1000},
		ScaleSizes:    []int{64, 1 << 10, 64 << 10, 1 << 20},
		ScaleIdle:     10_000,
		Runs:          1,
		Batch:         1,
	}
}

// Validate reports the first bad option, naming it.
func (o Options) Validate() error {
	for _, s := range o.Scenarios {
		if !slices.Contains(AllScenarios, s) {
			return fmt.Errorf("scenario %q: want one of %v", s, AllScenarios)
		}
	}
	for _, n := range o.Sizes {
		if n < 0 || n > 16<<20 {
			return fmt.Errorf("size %d: want 0..16MiB", n)
		}
	}
	switch {
	case o.Duration < 10*time.Millisecond || o.Duration > 10*time.Minute:
		return fmt.Errorf("duration %v: want 10ms..10m", o.Duration)
	case o.PoolSize < 1 || o.PoolSize > 64:
		return fmt.Errorf("pool %d: want 1..64", o.PoolSize)
	case o.EventLoops < 1 || o.EventLoops > 256:
		return fmt.Errorf("loops %d: want 1..256", o.EventLoops)
	case o.Peers < 1 || o.Peers > 64:
		return fmt.Errorf("peers %d: want 1..64", o.Peers)
	case o.FaninSize < 0 || o.FaninSize > 16<<20:
		return fmt.Errorf("fanin-size %d: want 0..16MiB", o.FaninSize)
	case o.Conns < 1 || o.Conns > 50_000:
		return fmt.Errorf("conns %d: want 1..50000", o.Conns)
	case o.PingSize < 0 || o.PingSize > 1<<20:
		return fmt.Errorf("ping-size %d: want 0..1MiB", o.PingSize)
	case o.has(ScenarioScale) && (len(o.ScaleSenders)+len(o.ScaleSizes) == 0 || o.ScaleIdle < 0 || o.ScaleIdle > 50_000):
		return fmt.Errorf("scale: want senders or sizes to sweep, and scale-idle 0..50000")
	case o.Batch < 0 || o.Batch > 1024:
		return fmt.Errorf("batch %d: want 1..1024", o.Batch)
	case o.Runs < 0 || o.Runs > 100:
		return fmt.Errorf("runs %d: want 1..100", o.Runs)
	case o.Deliver != "recv" && o.Deliver != "handler":
		return fmt.Errorf("deliver %q: want recv or handler", o.Deliver)
	case o.has(ScenarioStream) && (o.StreamSize < 0 || o.StreamSize > 1<<40):
		return fmt.Errorf("stream-size %d: want 0..1TiB", o.StreamSize)
	case o.has(ScenarioHostile) && (o.HostileBudget < 16<<20 || o.HostileBudget > 64<<30):
		return fmt.Errorf("hostile-budget %d: want 16MiB..64GiB", o.HostileBudget)
	}
	for _, a := range o.Attacks {
		if !slices.ContainsFunc(attacks, func(at attack) bool { return at.name == a }) {
			return fmt.Errorf("attacks: %q is not one of %s", a, attackNames())
		}
	}
	return nil
}

func (o Options) has(s string) bool { return slices.Contains(o.Scenarios, s) }

// order is the scenarios in the order they run: Scenarios as given, each
// once.
func (o Options) order() []string {
	var out []string
	for _, s := range o.Scenarios {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
