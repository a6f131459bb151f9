package engine

import (
	"log/slog"
	"testing"
	"time"
)

// TestCleanGoodbyeIsNotNews: a peer that closes with a goodbye is logged
// at Debug, not Info (a lost connection stays at Info).
func TestCleanGoodbyeIsNotNews(t *testing.T) {
	var logs logSink
	acfg := devConfig("a")
	acfg.Reconnect.Enabled = false
	acfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	a, b := startTransport(t, acfg), startTransport(t, devConfig("b"))
	connect(t, a, b)
	_ = b.Close()
	waitFor(t, 5*time.Second, func() bool { return a.Stats().ConnectionCount == 0 })
	if recs := logs.records("connection closed"); len(recs) > 0 {
		t.Fatalf("a clean goodbye was logged at Info: %v", recs)
	}
}
