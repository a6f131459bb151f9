package engine

import (
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
)

// Every PingInterval the ticker asks the loop of each established
// control connection we dialed to send a Ping control frame carrying the
// time it left; the peer's loop answers with a Pong carrying the same
// bytes, and the loop that decodes the Pong records the round trip in the
// peer's histogram. It measures the transport's own round trip, both
// loops included, costs no credit, is no message in the Stats, and keeps
// no state per ping.

// rttBuckets are the histogram's upper bounds: 16 µs, doubling, to about
// 2.1 s; one more bucket counts the slower.
const (
	rttFirstBound = 16 * time.Microsecond
	rttBuckets    = 18
)

// LatencyHistogram counts round trips by duration.
type LatencyHistogram struct {
	// Bounds are the buckets' inclusive upper bounds, ascending. Counts
	// has one more entry than Bounds: the last counts what is above the
	// last bound. Counts are per bucket, not cumulative.
	Bounds []time.Duration `json:"bounds"`
	Counts []uint64        `json:"counts"`
	// Count is the number of samples and Sum their total.
	Count uint64        `json:"count"`
	Sum   time.Duration `json:"sum"`
}

// rttHistogram is LatencyHistogram's lock-free accumulator.
type rttHistogram struct {
	counts [rttBuckets + 1]atomic.Uint64
	count  atomic.Uint64
	sum    atomic.Int64
	last   atomic.Int64 // the latest sample, ns
}

func (h *rttHistogram) observe(d time.Duration) {
	i := 0
	for b := rttFirstBound; i < rttBuckets && d > b; b *= 2 {
		i++
	}
	h.counts[i].Add(1)
	h.count.Add(1)
	h.sum.Add(int64(d))
	h.last.Store(int64(d))
}

func (h *rttHistogram) snapshot() LatencyHistogram {
	out := LatencyHistogram{Bounds: make([]time.Duration, rttBuckets), Counts: make([]uint64, rttBuckets+1)}
	for i, b := 0, rttFirstBound; i < rttBuckets; i, b = i+1, b*2 {
		out.Bounds[i] = b
	}
	for i := range h.counts {
		out.Counts[i] = h.counts[i].Load()
	}
	out.Count, out.Sum = h.count.Load(), time.Duration(h.sum.Load())
	return out
}

// pingAll asks every established control connection we dialed to a peer
// that answers pings to send one. From the ticker.
func (t *Transport) pingAll(now time.Time) []*conn {
	if t.cfg.PingInterval <= 0 || now.Sub(t.lastPing) < t.cfg.PingInterval {
		return nil
	}
	t.lastPing = now
	var due []*conn
	for c := range t.conns {
		if c.outbound && c.class == Control && c.established() && c.pings {
			c.pingDue.Store(true)
			due = append(due, c)
		}
	}
	return due
}

// queuePing appends a Ping when the ticker asked for one. Loop only.
func (c *conn) queuePing() {
	if c.pingDue.Load() && c.pingDue.Swap(false) {
		c.wr.ctrl = codec.AppendPing(c.wr.ctrl, uint64(time.Since(c.t.epoch)), false)
	}
}

// onPing answers a peer's Ping with a Pong of the same bytes. Loop only.
func (c *conn) onPing(echo uint64) {
	c.wr.ctrl = codec.AppendPing(c.wr.ctrl, echo, true)
	c.wake()
}

// onPong records the round trip of one of our Pings. Loop only.
func (c *conn) onPong(p *peer, echo uint64) {
	if rtt := time.Since(c.t.epoch) - time.Duration(echo); rtt >= 0 && rtt < time.Hour {
		p.rtt.observe(rtt)
	}
}
