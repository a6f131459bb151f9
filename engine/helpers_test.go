package engine

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"
)

// testLogger discards logs unless TRANSPORT_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("TRANSPORT_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// devConfig is a plaintext loopback configuration for tests.
func devConfig(id string) Config {
	cfg := NewConfig(id, "127.0.0.1:0")
	cfg.SecurityMode = Development
	cfg.EventLoops = 2
	cfg.RateLimit.Enabled = false
	cfg.Logger = testLogger()
	return cfg
}

// allowConnections raises the connection limits for a test that opens n
// connections from loopback (one address), possibly with one node id.
func allowConnections(cfg *Config, n int) {
	cfg.MaxInboundConnections = max(cfg.MaxInboundConnections, n+16)
	cfg.MaxConnectionsPerAddress = max(cfg.MaxConnectionsPerAddress, n+16)
	cfg.MaxConnectionsPerPeer = max(cfg.MaxConnectionsPerPeer, n+16)
}

// startTransport starts a transport and closes it when the test ends.
func startTransport(t testing.TB, cfg Config) *Transport {
	t.Helper()
	tr, err := New(cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", cfg.NodeID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatalf("Start(%s): %v", cfg.NodeID, err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// connect dials from a to b.
func connect(t testing.TB, a, b *Transport) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, PeerConfig{NodeID: b.cfg.NodeID, Address: b.Addr().String()}); err != nil {
		t.Fatalf("Connect %s -> %s: %v", a.cfg.NodeID, b.cfg.NodeID, err)
	}
}

// recvTimeout receives one message or fails the test.
func recvTimeout(t testing.TB, tr *Transport, d time.Duration) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	m, err := tr.Recv(ctx)
	if err != nil {
		t.Fatalf("Recv on %s: %v", tr.cfg.NodeID, err)
	}
	return m
}

// waitCounted waits (at most 5 s) until count reaches want, then returns
// it: counters publish at the end of an event-loop callback, which may
// still run when its last message has been taken by Recv. The caller
// checks the result exactly, so an overcount still fails.
func waitCounted(t testing.TB, count func() uint64, want uint64) uint64 {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); count() < want && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	return count()
}
