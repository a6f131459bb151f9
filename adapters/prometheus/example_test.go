package prometheus_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	tcprom "github.com/tensorchain/transport/adapters/prometheus"
	"github.com/tensorchain/transport/engine"
)

// start starts a plaintext transport on loopback for the examples.
func start(id string) *engine.Transport {
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.SecurityMode = engine.Development // no TLS: local testing only
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	t, err := engine.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	if err := t.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	return t
}

// Register a transport's collector and serve it on /metrics. In a server:
//
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//	log.Fatal(http.ListenAndServe("127.0.0.1:9100", nil))
func ExampleNewCollector() {
	t := start("node1")
	defer t.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(tcprom.NewCollector(t))

	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		if line := sc.Text(); strings.HasPrefix(line, "tcnet_peers ") || strings.HasPrefix(line, "# TYPE tcnet_messages_sent_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// # TYPE tcnet_messages_sent_total counter
	// tcnet_peers 0
}

// Two transports in one process share a registry when a constant label
// tells them apart.
func ExampleWithConstLabels() {
	raft, gossip := start("raft1"), start("gossip1")
	defer raft.Close()
	defer gossip.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		tcprom.NewCollector(raft, tcprom.WithConstLabels(prometheus.Labels{"transport": "raft"})),
		tcprom.NewCollector(gossip, tcprom.WithConstLabels(prometheus.Labels{"transport": "gossip"})),
	)
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "tcnet_peers" {
			for _, m := range mf.GetMetric() {
				fmt.Printf("%s{transport=%q} %v\n", mf.GetName(), m.GetLabel()[0].GetValue(), m.GetGauge().GetValue())
			}
		}
	}
	// Output:
	// tcnet_peers{transport="gossip"} 0
	// tcnet_peers{transport="raft"} 0
}

// WithNamespace renames every metric, here for a second registry's
// naming scheme.
func ExampleWithNamespace() {
	t := start("node1")
	defer t.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(tcprom.NewCollector(t, tcprom.WithNamespace("consensus_transport")))
	mfs, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(mfs[0].GetName())
	// Output: consensus_transport_compressed_frames_total
}
