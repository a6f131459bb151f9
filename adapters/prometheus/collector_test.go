package prometheus_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	tcprom "github.com/tensorchain/transport/adapters/prometheus"
	"github.com/tensorchain/transport/engine"
)

// TestCollect compares what the collector makes of given statistics with
// the exposition it must produce.
func TestCollect(t *testing.T) {
	rtt := engine.LatencyHistogram{
		Bounds: []time.Duration{time.Millisecond, 2 * time.Millisecond, 4 * time.Millisecond},
		Counts: []uint64{1, 2, 0, 3}, // 3 above 4 ms
		Count:  6,
		Sum:    40 * time.Millisecond,
	}
	for _, tc := range []struct {
		name    string
		stats   engine.Stats
		metrics []string // the families compared; others are ignored
		want    string
	}{{
		name: "idle transport",
		stats: engine.Stats{
			CompressionRatio:  1,
			MemoryBudget:      512 << 20,
			HandshakeFailures: map[string]uint64{"timeout": 0, "tls": 2},
		},
		metrics: []string{"tcnet_compression_ratio", "tcnet_memory_budget_bytes", "tcnet_handshake_failures_total", "tcnet_peers", "tcnet_peer_state"},
		want: `
# HELP tcnet_compression_ratio Payload bytes queued per wire byte queued since start (1 when idle).
# TYPE tcnet_compression_ratio gauge
tcnet_compression_ratio 1
# HELP tcnet_handshake_failures_total Failed handshakes by cause.
# TYPE tcnet_handshake_failures_total counter
tcnet_handshake_failures_total{cause="timeout"} 0
tcnet_handshake_failures_total{cause="tls"} 2
# HELP tcnet_memory_budget_bytes The memory budget (Config.MemoryBudget).
# TYPE tcnet_memory_budget_bytes gauge
tcnet_memory_budget_bytes 5.36870912e+08
# HELP tcnet_peers Peers the transport knows, dialed or connected to it.
# TYPE tcnet_peers gauge
tcnet_peers 0
`,
	}, {
		name: "peer state is one-hot",
		stats: engine.Stats{Peers: []engine.PeerStats{
			{NodeID: "b", Address: "10.0.0.2:7000", State: "active"},
			{NodeID: "c", State: "reconnecting"},
		}},
		metrics: []string{"tcnet_peer_state", "tcnet_peer_info"},
		want: `
# HELP tcnet_peer_info Always 1; label address is the peer's dial address (empty for a peer known only by its connections to this node).
# TYPE tcnet_peer_info gauge
tcnet_peer_info{address="10.0.0.2:7000",peer="b"} 1
tcnet_peer_info{address="",peer="c"} 1
# HELP tcnet_peer_state 1 for the state the peer is in, 0 for the others.
# TYPE tcnet_peer_state gauge
tcnet_peer_state{peer="b",state="active"} 1
tcnet_peer_state{peer="b",state="closed"} 0
tcnet_peer_state{peer="b",state="connecting"} 0
tcnet_peer_state{peer="b",state="failed"} 0
tcnet_peer_state{peer="b",state="handshaking"} 0
tcnet_peer_state{peer="b",state="reconnecting"} 0
tcnet_peer_state{peer="c",state="active"} 0
tcnet_peer_state{peer="c",state="closed"} 0
tcnet_peer_state{peer="c",state="connecting"} 0
tcnet_peer_state{peer="c",state="failed"} 0
tcnet_peer_state{peer="c",state="handshaking"} 0
tcnet_peer_state{peer="c",state="reconnecting"} 1
`,
	}, {
		name:    "a state this package does not know is still reported",
		stats:   engine.Stats{Peers: []engine.PeerStats{{NodeID: "b", State: "draining"}}},
		metrics: []string{"tcnet_peer_state"},
		want: `
# HELP tcnet_peer_state 1 for the state the peer is in, 0 for the others.
# TYPE tcnet_peer_state gauge
tcnet_peer_state{peer="b",state="active"} 0
tcnet_peer_state{peer="b",state="closed"} 0
tcnet_peer_state{peer="b",state="connecting"} 0
tcnet_peer_state{peer="b",state="draining"} 1
tcnet_peer_state{peer="b",state="failed"} 0
tcnet_peer_state{peer="b",state="handshaking"} 0
tcnet_peer_state{peer="b",state="reconnecting"} 0
`,
	}, {
		name:    "round trips: cumulative buckets in seconds, the overflow only in +Inf",
		stats:   engine.Stats{Peers: []engine.PeerStats{{NodeID: "b", State: "active", RTT: 1500 * time.Microsecond, RTTHistogram: rtt}}},
		metrics: []string{"tcnet_peer_rtt_seconds", "tcnet_peer_rtt_last_seconds"},
		want: `
# HELP tcnet_peer_rtt_last_seconds The latest round trip measured to the peer (absent until the first).
# TYPE tcnet_peer_rtt_last_seconds gauge
tcnet_peer_rtt_last_seconds{peer="b"} 0.0015
# HELP tcnet_peer_rtt_seconds Round trips to the peer measured every PingInterval, on the control connection this node dialed.
# TYPE tcnet_peer_rtt_seconds histogram
tcnet_peer_rtt_seconds_bucket{peer="b",le="0.001"} 1
tcnet_peer_rtt_seconds_bucket{peer="b",le="0.002"} 3
tcnet_peer_rtt_seconds_bucket{peer="b",le="0.004"} 3
tcnet_peer_rtt_seconds_bucket{peer="b",le="+Inf"} 6
tcnet_peer_rtt_seconds_sum{peer="b"} 0.04
tcnet_peer_rtt_seconds_count{peer="b"} 6
`,
	}, {
		name: "round trips not measured yet: an empty histogram and no latest",
		stats: engine.Stats{Peers: []engine.PeerStats{{NodeID: "a", State: "active", RTTHistogram: engine.LatencyHistogram{
			Bounds: []time.Duration{time.Millisecond}, Counts: []uint64{0, 0},
		}}}},
		metrics: []string{"tcnet_peer_rtt_seconds", "tcnet_peer_rtt_last_seconds"},
		want: `
# HELP tcnet_peer_rtt_seconds Round trips to the peer measured every PingInterval, on the control connection this node dialed.
# TYPE tcnet_peer_rtt_seconds histogram
tcnet_peer_rtt_seconds_bucket{peer="a",le="0.001"} 0
tcnet_peer_rtt_seconds_bucket{peer="a",le="+Inf"} 0
tcnet_peer_rtt_seconds_sum{peer="a"} 0
tcnet_peer_rtt_seconds_count{peer="a"} 0
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tcprom.NewCollector(&fakeSource{stats: tc.stats})
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want), tc.metrics...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestNoPeersNoPeerMetrics checks that a transport without peers exports
// no tcnet_peer_* series, and registers all the same (Describe does not
// depend on the peers).
func TestNoPeersNoPeerMetrics(t *testing.T) {
	for name := range gather(t, tcprom.NewCollector(&fakeSource{})) {
		if strings.HasPrefix(name, "tcnet_peer_") {
			t.Errorf("%s exported with no peers", name)
		}
	}
}

// TestOneSnapshotPerScrape checks that registering costs no Stats call
// and each scrape exactly one.
func TestOneSnapshotPerScrape(t *testing.T) {
	src := &fakeSource{stats: filledStats()}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(tcprom.NewCollector(src))
	if n := src.calls.Load(); n != 0 {
		t.Fatalf("Register called Stats %d times", n)
	}
	for want := int64(1); want <= 3; want++ {
		if _, err := reg.Gather(); err != nil {
			t.Fatal(err)
		}
		if n := src.calls.Load(); n != want {
			t.Fatalf("after %d scrapes: %d Stats calls", want, n)
		}
	}
}

// TestOptions checks the namespace and constant labels.
func TestOptions(t *testing.T) {
	stats := engine.Stats{MessagesSent: 3, Peers: []engine.PeerStats{{NodeID: "b", MessagesSent: 2}}}
	for _, tc := range []struct {
		name    string
		opts    []tcprom.Option
		metrics []string
		want    string
	}{{
		name:    "default namespace",
		metrics: []string{"tcnet_messages_sent_total"},
		want: `
# HELP tcnet_messages_sent_total Messages written to peers.
# TYPE tcnet_messages_sent_total counter
tcnet_messages_sent_total 3
`,
	}, {
		name:    "namespace",
		opts:    []tcprom.Option{tcprom.WithNamespace("raft_transport")},
		metrics: []string{"raft_transport_messages_sent_total", "raft_transport_peer_messages_sent_total"},
		want: `
# HELP raft_transport_messages_sent_total Messages written to peers.
# TYPE raft_transport_messages_sent_total counter
raft_transport_messages_sent_total 3
# HELP raft_transport_peer_messages_sent_total Messages written to the peer.
# TYPE raft_transport_peer_messages_sent_total counter
raft_transport_peer_messages_sent_total{peer="b"} 2
`,
	}, {
		name:    "no namespace",
		opts:    []tcprom.Option{tcprom.WithNamespace("")},
		metrics: []string{"messages_sent_total"},
		want: `
# HELP messages_sent_total Messages written to peers.
# TYPE messages_sent_total counter
messages_sent_total 3
`,
	}, {
		name:    "constant labels on every series",
		opts:    []tcprom.Option{tcprom.WithConstLabels(prometheus.Labels{"node": "a", "cluster": "eu"})},
		metrics: []string{"tcnet_messages_sent_total", "tcnet_peer_messages_sent_total"},
		want: `
# HELP tcnet_messages_sent_total Messages written to peers.
# TYPE tcnet_messages_sent_total counter
tcnet_messages_sent_total{cluster="eu",node="a"} 3
# HELP tcnet_peer_messages_sent_total Messages written to the peer.
# TYPE tcnet_peer_messages_sent_total counter
tcnet_peer_messages_sent_total{cluster="eu",node="a",peer="b"} 2
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			c := tcprom.NewCollector(&fakeSource{stats: stats}, tc.opts...)
			if err := testutil.CollectAndCompare(c, strings.NewReader(tc.want), tc.metrics...); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestWithConstLabelsCopies checks that changing the map after the option
// was made changes nothing.
func TestWithConstLabelsCopies(t *testing.T) {
	labels := prometheus.Labels{"node": "a"}
	opt := tcprom.WithConstLabels(labels)
	labels["node"] = "changed"
	c := tcprom.NewCollector(&fakeSource{}, opt)
	want := "# HELP tcnet_peers Peers the transport knows, dialed or connected to it.\n# TYPE tcnet_peers gauge\ntcnet_peers{node=\"a\"} 0\n"
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "tcnet_peers"); err != nil {
		t.Error(err)
	}
}

// TestRegistrationErrors checks that bad options and colliding
// collectors fail at registration, not at scrape time.
func TestRegistrationErrors(t *testing.T) {
	src := &fakeSource{}
	for _, tc := range []struct {
		name       string
		collectors []prometheus.Collector
	}{
		{"namespace with a dash", []prometheus.Collector{tcprom.NewCollector(src, tcprom.WithNamespace("tc-net"))}},
		{"constant label named like a variable one", []prometheus.Collector{tcprom.NewCollector(src, tcprom.WithConstLabels(prometheus.Labels{"peer": "x"}))}},
		{"invalid constant label name", []prometheus.Collector{tcprom.NewCollector(src, tcprom.WithConstLabels(prometheus.Labels{"a-b": "x"}))}},
		{"two transports with the same labels", []prometheus.Collector{tcprom.NewCollector(src), tcprom.NewCollector(src)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			var err error
			for _, c := range tc.collectors {
				if err = reg.Register(c); err != nil {
					break
				}
			}
			if err == nil {
				t.Error("registration succeeded")
			}
		})
	}
	// Telling the transports apart makes them fit in one registry.
	reg := prometheus.NewPedanticRegistry()
	for _, node := range []string{"a", "b"} {
		if err := reg.Register(tcprom.NewCollector(src, tcprom.WithConstLabels(prometheus.Labels{"node": node}))); err != nil {
			t.Errorf("node %s: %v", node, err)
		}
	}
}
