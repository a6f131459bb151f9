package prometheus_test

import (
	"context"
	"crypto/rand"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	tcprom "github.com/tensorchain/transport/adapters/prometheus"
	"github.com/tensorchain/transport/engine"
)

// TestScrape runs two transports over loopback, a sending messages and a
// request to b, registers a collector for each in one registry (told apart
// by a node label), serves it with promhttp over HTTP, and checks the
// scrape as Prometheus would parse it.
func TestScrape(t *testing.T) {
	a := startTransport(t, "a", func(cfg *engine.Config) {
		cfg.RateLimit.Enabled = true // the default bucket: tcnet_peer_rate_limit_tokens moves
	})
	b := startTransport(t, "b", nil)
	served := serveRequests(b, []byte("pong"))
	defer func() { _ = b.Close(); <-served }()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, engine.PeerConfig{NodeID: "b", Address: b.Addr().String()}); err != nil {
		t.Fatalf("Connect: %v", err)
	}
	const messages, size = 10, 256
	payload := make([]byte, size)
	_, _ = rand.Read(payload) // incompressible: wire bytes >= payload bytes
	for i := range messages {
		if err := a.Send(ctx, "b", payload); err != nil {
			t.Fatalf("Send #%d: %v", i, err)
		}
	}
	reply, err := a.Request(ctx, "b", []byte("ping"))
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	reply.Release()
	peerB := func() engine.PeerStats {
		for _, p := range a.Stats().Peers {
			if p.NodeID == "b" {
				return p
			}
		}
		return engine.PeerStats{}
	}
	waitFor(t, "a round trip to b", func() bool { return peerB().RTTHistogram.Count > 0 })
	waitFor(t, "b to receive everything", func() bool { return b.Stats().MessagesReceived >= messages+1 })

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(
		tcprom.NewCollector(a, tcprom.WithConstLabels(prometheus.Labels{"node": "a"})),
		tcprom.NewCollector(b, tcprom.WithConstLabels(prometheus.Labels{"node": "b"})),
	)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	fams := scrape(t, srv.URL)

	t.Run("families", func(t *testing.T) {
		checkNames(t, fams)
		for name, e := range allExports() {
			switch mf := fams[name]; {
			case mf == nil:
				t.Errorf("%s missing from the scrape", name)
			case mf.GetType() != e.typ:
				t.Errorf("%s is a %v, want a %v", name, mf.GetType(), e.typ)
			}
		}
	})

	t.Run("values", func(t *testing.T) {
		for _, tc := range []struct {
			family   string
			labels   map[string]string
			min, max float64
		}{
			{"tcnet_messages_sent_total", map[string]string{"node": "a"}, messages + 1, math.Inf(1)},
			{"tcnet_sent_bytes_total", map[string]string{"node": "a"}, messages * size, math.Inf(1)},
			{"tcnet_payload_queued_bytes_total", map[string]string{"node": "a"}, messages * size, math.Inf(1)},
			{"tcnet_data_writes_total", map[string]string{"node": "a"}, 1, math.Inf(1)},
			{"tcnet_messages_received_total", map[string]string{"node": "a"}, 1, math.Inf(1)}, // the reply
			{"tcnet_messages_received_total", map[string]string{"node": "b"}, messages + 1, math.Inf(1)},
			{"tcnet_received_bytes_total", map[string]string{"node": "b"}, messages * size, math.Inf(1)},
			{"tcnet_peers", map[string]string{"node": "a"}, 1, 1},
			{"tcnet_connections", map[string]string{"node": "a"}, 1, math.Inf(1)},
			{"tcnet_memory_budget_bytes", map[string]string{"node": "a"}, 1, math.Inf(1)},
			{"tcnet_memory_in_use_bytes", map[string]string{"node": "a"}, 1, math.Inf(1)},
			{"tcnet_requests_pending", map[string]string{"node": "a"}, 0, 0},
			{"tcnet_compression_ratio", map[string]string{"node": "a"}, 0.01, math.Inf(1)},
			{"tcnet_handshake_failures_total", map[string]string{"node": "a", "cause": "tls"}, 0, 0},
			{"tcnet_connections_refused_total", map[string]string{"node": "b", "limit": "max_inbound_connections"}, 0, 0},
			{"tcnet_peer_messages_sent_total", map[string]string{"node": "a", "peer": "b"}, messages + 1, math.Inf(1)},
			{"tcnet_peer_sent_bytes_total", map[string]string{"node": "a", "peer": "b"}, messages * size, math.Inf(1)},
			{"tcnet_peer_messages_received_total", map[string]string{"node": "b", "peer": "a"}, messages + 1, math.Inf(1)},
			{"tcnet_peer_received_bytes_total", map[string]string{"node": "b", "peer": "a"}, messages * size, math.Inf(1)},
			{"tcnet_peer_connections", map[string]string{"node": "a", "peer": "b"}, 1, math.Inf(1)},
			{"tcnet_peer_state", map[string]string{"node": "a", "peer": "b", "state": "active"}, 1, 1},
			{"tcnet_peer_state", map[string]string{"node": "a", "peer": "b", "state": "failed"}, 0, 0},
			{"tcnet_peer_info", map[string]string{"node": "a", "peer": "b", "address": b.Addr().String()}, 1, 1},
			{"tcnet_peer_rate_limit_enabled", map[string]string{"node": "a", "peer": "b"}, 1, 1},
			{"tcnet_peer_rate_limit_tokens", map[string]string{"node": "a", "peer": "b"}, 1, 100}, // the default bucket holds 100
			{"tcnet_peer_rate_limit_enabled", map[string]string{"node": "b", "peer": "a"}, 0, 0},
			{"tcnet_peer_rtt_last_seconds", map[string]string{"node": "a", "peer": "b"}, 1e-9, 10},
		} {
			mf := fams[tc.family]
			if mf == nil {
				t.Errorf("%s missing", tc.family)
				continue
			}
			m := series(mf, tc.labels)
			if m == nil {
				t.Errorf("%s%s missing", tc.family, labelString(tc.labels))
				continue
			}
			if v := value(m); v < tc.min || v > tc.max {
				t.Errorf("%s%s = %v, want in [%v, %v]", tc.family, labelString(tc.labels), v, tc.min, tc.max)
			}
		}
		// b only knows a by a's connections to it: it never measured a round trip.
		if m := series(fams["tcnet_peer_rtt_last_seconds"], map[string]string{"node": "b"}); m != nil {
			t.Errorf("b reports a round trip to a it never measured: %v", m)
		}
	})

	t.Run("histogram", func(t *testing.T) {
		m := series(fams["tcnet_peer_rtt_seconds"], map[string]string{"node": "a", "peer": "b"})
		if m == nil {
			t.Fatal(`tcnet_peer_rtt_seconds{node="a",peer="b"} missing`)
		}
		checkHistogram(t, m.GetHistogram())
	})

	t.Run("lint", func(t *testing.T) {
		problems, err := testutil.GatherAndLint(reg)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	})
}

// checkHistogram checks a scraped histogram: samples, bounds ascending,
// cumulative counts never decreasing, and the +Inf bucket equal to the
// count.
func checkHistogram(t *testing.T, h *dto.Histogram) {
	t.Helper()
	if h.GetSampleCount() == 0 || h.GetSampleSum() <= 0 {
		t.Errorf("count %d, sum %v: want samples", h.GetSampleCount(), h.GetSampleSum())
	}
	buckets := h.GetBucket()
	if len(buckets) < 2 {
		t.Fatalf("%d buckets", len(buckets))
	}
	for i := 1; i < len(buckets); i++ {
		prev, b := buckets[i-1], buckets[i]
		if b.GetUpperBound() <= prev.GetUpperBound() {
			t.Errorf("bucket %d: le=%v after le=%v", i, b.GetUpperBound(), prev.GetUpperBound())
		}
		if b.GetCumulativeCount() < prev.GetCumulativeCount() {
			t.Errorf("bucket le=%v: %d after %d: not cumulative", b.GetUpperBound(), b.GetCumulativeCount(), prev.GetCumulativeCount())
		}
	}
	last := buckets[len(buckets)-1]
	if !math.IsInf(last.GetUpperBound(), 1) || last.GetCumulativeCount() != h.GetSampleCount() {
		t.Errorf("last bucket le=%v count %d, want le=+Inf count %d", last.GetUpperBound(), last.GetCumulativeCount(), h.GetSampleCount())
	}
	if first := buckets[0].GetUpperBound(); first != 16e-6 {
		t.Errorf("first bound %v s, want the engine's 16 µs", first)
	}
}

// scrape GETs url in the text exposition format and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", string(expfmt.NewFormat(expfmt.TypeTextPlain)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want text/plain", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}
