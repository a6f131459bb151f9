package expvarstats_test

import (
	"context"
	"encoding/json"
	"expvar"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/metrics/expvarstats"
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

// Publish a transport's statistics at start-up and serve /debug/vars on
// an operations-only address: `curl -s 127.0.0.1:6060/debug/vars | jq
// .transport.messages_sent`.
func ExamplePublish() {
	t := start("node1")
	defer t.Close()

	expvarstats.Publish("transport", t) // once per process: a second Publish("transport", ...) panics

	mux := http.NewServeMux()
	mux.Handle("/debug/vars", expvar.Handler())
	log.Fatal(http.ListenAndServe("127.0.0.1:6060", mux))
}

// Group several transports under one variable with an expvar.Map; once
// published (expvar.Publish("transports", m), once per process), they
// appear on /debug/vars as "transports": {"gossip": {...}, "raft": {...}}.
func ExampleVar() {
	raft, gossip := start("raft1"), start("gossip1")
	defer raft.Close()
	defer gossip.Close()

	m := new(expvar.Map).Init()
	m.Set("raft", expvarstats.Var(raft))
	m.Set("gossip", expvarstats.Var(gossip))

	var all map[string]struct {
		MessagesSent uint64 `json:"messages_sent"`
		PeerCount    int    `json:"peer_count"`
	}
	if err := json.Unmarshal([]byte(m.String()), &all); err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"gossip", "raft"} {
		fmt.Printf("%s: messages_sent=%d peer_count=%d\n", name, all[name].MessagesSent, all[name].PeerCount)
	}
	// Output:
	// gossip: messages_sent=0 peer_count=0
	// raft: messages_sent=0 peer_count=0
}
