package engine

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestQueuedPowerOfTwoPayloadsCostTheirSize: a peer's outbound queue full
// of 64 KiB messages holds buffers of about the bytes queued, not twice
// that. Each frame is the payload plus a 5-byte header, which with
// power-of-two buffer classes alone took a 128 KiB buffer; MaxPendingBytes
// then bounded half the memory it claimed to (bufpool's plus classes).
func TestQueuedPowerOfTwoPayloadsCostTheirSize(t *testing.T) {
	const (
		pending = 16 << 20
		msgSize = 64 << 10
	)
	cfg := devConfig("a")
	cfg.MaxPendingBytes = pending
	cfg.Compression.Enabled = false
	cfg.ConnectTimeout = 500 * time.Millisecond
	cfg.CloseTimeout = 100 * time.Millisecond                                               // nothing queued will ever flush
	cfg.Reconnect.InitialBackoff, cfg.Reconnect.MaxBackoff = 30*time.Second, 30*time.Second // the peer stays down: what is sent stays queued
	a := startTransport(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = a.Connect(ctx, PeerConfig{NodeID: "b", Address: closedAddr(t)}) // refused: b is known, not connected

	payload := make([]byte, msgSize)
	queued := 0
	for range 2 * pending / msgSize { // bounded: the queue refuses well before
		err := a.TrySend("b", payload)
		if errors.Is(err, ErrQueueFull) {
			break
		}
		if err != nil {
			t.Fatalf("after %d messages: %v", queued, err)
		}
		queued++
	}
	if queued*msgSize < pending*3/4 {
		t.Fatalf("only %d messages (%d bytes) queued before the queue refused, want about %d bytes", queued, queued*msgSize, pending)
	}
	var held, frames int
	for _, l := range a.peer("b").lanes.Members() {
		l.mu.Lock()
		for _, s := range l.q.segs {
			held += cap(*s.buf)
		}
		frames += l.q.msgs
		l.mu.Unlock()
	}
	if frames != queued {
		t.Fatalf("%d frames in the lanes' queues, %d messages queued", frames, queued)
	}
	if limit := queued * msgSize * 9 / 8; held > limit {
		t.Fatalf("%d queued messages of %d bytes (%d KiB) hold %d KiB of buffers, more than %d KiB",
			queued, msgSize, queued*msgSize>>10, held>>10, limit>>10)
	}
	t.Logf("%d messages, %d KiB queued in %d KiB of buffers", queued, queued*msgSize>>10, held>>10)
	if a.Stats().QueueFull == 0 {
		t.Fatal("the refusal was not counted")
	}
}
