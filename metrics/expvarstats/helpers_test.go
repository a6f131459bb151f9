package expvarstats_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/tensorchain/transport/engine"
)

// startTransport starts a plaintext loopback transport and closes it when
// the test ends.
func startTransport(t *testing.T, id string) *engine.Transport {
	t.Helper()
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.SecurityMode = engine.Development // no TLS: loopback tests only
	cfg.RateLimit.Enabled = false
	cfg.EventLoops = 1
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	tr, err := engine.New(cfg)
	if err != nil {
		t.Fatalf("engine.New(%s): %v", id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// exchange connects a to b (as node "b") and delivers n messages of
// payload from a to b.
func exchange(t *testing.T, a, b *engine.Transport, n int, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Connect(ctx, engine.PeerConfig{NodeID: "b", Address: b.Addr().String()}); err != nil {
		t.Fatalf("Connect a -> b: %v", err)
	}
	for i := range n {
		if err := a.Send(ctx, "b", payload); err != nil {
			t.Fatalf("Send #%d: %v", i, err)
		}
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("Recv #%d: %v", i, err)
		}
		m.Release()
	}
}
