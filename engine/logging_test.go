package engine

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the loops' concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCleanGoodbyeIsNotNews: a peer that closes with a goodbye is logged
// at Debug, not Info (a lost connection stays at Info).
func TestCleanGoodbyeIsNotNews(t *testing.T) {
	var logs syncBuffer
	acfg := devConfig("a")
	acfg.Reconnect.Enabled = false
	acfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, b := startTransport(t, acfg), startTransport(t, devConfig("b"))
	connect(t, a, b)
	_ = b.Close()
	waitFor(t, 5*time.Second, func() bool { return a.Stats().ConnectionCount == 0 })
	if out := logs.String(); strings.Contains(out, "connection closed") {
		t.Fatalf("a clean goodbye was logged at Info:\n%s", out)
	}
}
