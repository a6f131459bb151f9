package main

import (
	"crypto/tls"
	"path/filepath"
	"testing"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/config"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// TestExampleConfigLoads keeps docs/node.example.toml valid and true to
// its comments: apart from the node's own id, peers, certificates and
// inbound limit, every value it shows is the default.
func TestExampleConfigLoads(t *testing.T) {
	dir := filepath.Join("..", "..", "docs")
	cfg, opt, err := parseConfig([]string{"-config", filepath.Join(dir, "node.example.toml")})
	if err != nil {
		t.Fatal(err)
	}
	wantTLS := tlsstate.NewSecureConfig(
		filepath.Join(dir, "certs/n1.pem"), filepath.Join(dir, "certs/n1.key"), filepath.Join(dir, "certs/ca.pem"))
	wantTLS.MinVersion = tls.VersionTLS13 // the default (zero) made explicit
	equal(t, "TLS", *cfg.TLS, *wantTLS)
	equal(t, "InboundRateLimit", cfg.InboundRateLimit, bucket.Disabled())
	equal(t, "peers", opt.Peers, []engine.PeerConfig{{NodeID: "n2", Address: "10.0.1.2:9100"}, {NodeID: "n3", Address: "10.0.1.3:9100"}})

	want := engine.NewConfig("n1", config.DefaultListen)
	want.TLS, cfg.TLS = nil, nil
	want.InboundRateLimit = cfg.InboundRateLimit
	equal(t, "config", cfg, want)
}
