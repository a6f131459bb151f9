package engine

import (
	"testing"
	"time"
)

func TestRTTHistogramBuckets(t *testing.T) {
	var h rttHistogram
	for _, d := range []time.Duration{0, 16 * time.Microsecond, 17 * time.Microsecond, 40 * time.Microsecond, time.Hour} {
		h.observe(d)
	}
	s := h.snapshot()
	if len(s.Bounds) != rttBuckets || len(s.Counts) != rttBuckets+1 || s.Bounds[0] != 16*time.Microsecond || s.Bounds[1] != 32*time.Microsecond {
		t.Fatalf("bounds %v", s.Bounds)
	}
	want := map[int]uint64{0: 2, 1: 1, 2: 1, rttBuckets: 1} // <=16µs twice, <=32µs, <=64µs, and the overflow
	for i, c := range s.Counts {
		if c != want[i] {
			t.Fatalf("bucket %d (<= %v) counts %d, want %d: %v", i, s.Bounds[min(i, rttBuckets-1)], c, want[i], s.Counts)
		}
	}
	if s.Count != 5 || s.Sum != time.Hour+73*time.Microsecond || time.Duration(h.last.Load()) != time.Hour {
		t.Fatalf("count %d sum %v last %v", s.Count, s.Sum, time.Duration(h.last.Load()))
	}
}

// TestPingMeasuresTheRoundTrip: a dialer measures its round trip to the
// peer on the control connection, and the pings are no messages.
func TestPingMeasuresTheRoundTrip(t *testing.T) {
	acfg := devConfig("a")
	acfg.PingInterval = 20 * time.Millisecond
	a, b := startTransport(t, acfg), startTransport(t, devConfig("b"))
	connect(t, a, b)
	waitFor(t, 5*time.Second, func() bool { return peerStats(t, a, "b").RTTHistogram.Count >= 5 })
	ps := peerStats(t, a, "b")
	if ps.RTT <= 0 || ps.RTT > time.Second {
		t.Fatalf("rtt %v", ps.RTT)
	}
	if st := a.Stats(); st.MessagesSent != 0 || b.Stats().MessagesReceived != 0 {
		t.Fatalf("pings counted as messages: sent %d, received %d", st.MessagesSent, b.Stats().MessagesReceived)
	}
	off := devConfig("c")
	off.PingInterval = 0
	c := startTransport(t, off)
	connect(t, c, b)
	time.Sleep(100 * time.Millisecond)
	if n := peerStats(t, c, "b").RTTHistogram.Count; n != 0 {
		t.Fatalf("%d pings with PingInterval 0", n)
	}
}
