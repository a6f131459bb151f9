package bench

import (
	"slices"
	"time"

	"github.com/tensorchain/transport/codec"
)

// Result is one measurement of one implementation. In JSON its durations
// are strings ("25.312µs"; result_json.go).
type Result struct {
	Scenario string `json:"scenario"`
	// Case names the variant, e.g. the payload size ("64B").
	Case string `json:"case"`
	// Impl is engine, baseline or raw.
	Impl string `json:"impl"`
	// Runs is how many runs the figures are the median of (Options.Runs).
	Runs int `json:"runs,omitempty"`

	Messages uint64 `json:"messages,omitempty"`
	// Elapsed is the timed window the figures were counted over.
	Elapsed     time.Duration `json:"elapsed,omitempty"`
	MsgsPerSec  float64       `json:"msgs_per_sec,omitempty"`
	BytesPerSec float64       `json:"bytes_per_sec,omitempty"` // payload bytes
	// AllocsPerMsg counts heap allocations in the whole process (sender and
	// receiver) per message delivered, over the timed window.
	AllocsPerMsg *float64 `json:"allocs_per_msg,omitempty"`
	// WirePerMsg is the average frame size on the wire (header included,
	// after compression), from the sender's counters.
	WirePerMsg float64 `json:"wire_bytes_per_msg,omitempty"`

	// Round-trip percentiles (pingpong, the raw floor, hbload's control
	// cases, hostile during the attack), and the whole distribution in
	// compact form where it was sampled (cdf.go; not for hostile).
	P50  time.Duration `json:"p50,omitempty"`
	P99  time.Duration `json:"p99,omitempty"`
	P999 time.Duration `json:"p999,omitempty"`
	CDF  CDF           `json:"cdf,omitempty"`

	// Conns and BytesPerConn: live heap plus goroutine stacks per idle
	// connection on the accepting side (conns).
	Conns        int     `json:"conns,omitempty"`
	BytesPerConn float64 `json:"bytes_per_conn,omitempty"`
	Goroutines   int     `json:"goroutines_per_1000_conns,omitempty"`

	// hostile: the legitimate peer's round trips before the attack (P50,
	// P99 are during it), round trips over pingTimeout, the set-up time of
	// a fresh legitimate connection during the attack, the node's peak
	// resident memory and budget, the descriptors still open after it,
	// and what the node refused or cut.
	BaseP50        time.Duration `json:"base_p50,omitempty"`
	BaseP99        time.Duration `json:"base_p99,omitempty"`
	LostRoundTrips int           `json:"lost_round_trips,omitempty"`
	FreshConnect   time.Duration `json:"fresh_connect,omitempty"`
	PeakRSSBytes   int64         `json:"peak_rss_bytes,omitempty"`
	BudgetBytes    int64         `json:"budget_bytes,omitempty"`
	FDsLeft        int           `json:"fds_left,omitempty"`
	// scale: the receiving process's CPU time per message, and per KiB of
	// payload, in nanoseconds (duration strings in JSON).
	CPUPerMsg float64 `json:"cpu_per_msg,omitempty"`
	CPUPerKiB float64 `json:"cpu_per_kib,omitempty"`
	// stream: the sending process's peak resident memory (PeakRSSBytes is
	// the receiving one's).
	SenderPeakRSSBytes int64  `json:"sender_peak_rss_bytes,omitempty"`
	Defences           string `json:"defences,omitempty"`
}

// throughput fills the rate fields from a counted window.
func (r *Result) throughput(msgs uint64, payload int, d time.Duration, mallocs uint64) {
	r.Messages, r.Elapsed = msgs, d
	r.MsgsPerSec = float64(msgs) / d.Seconds()
	r.BytesPerSec = r.MsgsPerSec * float64(payload)
	if msgs > 0 {
		a := float64(mallocs) / float64(msgs)
		r.AllocsPerMsg = &a
	}
}

// wire fills WirePerMsg for messages of size payload bytes from a
// sender's byte counters.
func (r *Result) wire(size int, n node) {
	payload, wire := n.bytesQueued()
	if payload > 0 {
		r.WirePerMsg = float64(size) * float64(wire) / float64(payload)
	} else if wire > 0 { // empty payloads: every frame is a bare header
		r.WirePerMsg = codec.HeaderSize
	}
}

// latency fills the percentile fields and the CDF from round-trip samples
// (sorted in place).
func (r *Result) latency(samples []time.Duration, d time.Duration) {
	slices.Sort(samples)
	r.Messages, r.Elapsed = uint64(len(samples)), d
	r.MsgsPerSec = float64(len(samples)) / d.Seconds()
	r.P50, r.P99, r.P999 = percentile(samples, 0.50), percentile(samples, 0.99), percentile(samples, 0.999)
	r.CDF = newCDF(samples)
}

// percentile returns the q-quantile of sorted samples (nearest rank).
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
