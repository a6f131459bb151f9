package engine

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStartOnAPortInUse: Start on a port another socket listens on says
// so, with syscall.EADDRINUSE in the error chain.
func TestStartOnAPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := devConfig("busy")
	cfg.ListenAddr = ln.Addr().String()
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = tr.Start(ctx)
	if err == nil {
		_ = tr.Close()
		t.Fatal("Start succeeded on a port in use")
	}
	if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start: %v; want address already in use (EADDRINUSE in the chain)", err)
	}
	if err := tr.Close(); err != nil && !errors.Is(err, ErrClosed) {
		t.Fatalf("Close after a failed Start: %v", err)
	}
}
