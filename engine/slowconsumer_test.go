package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// TestSlowConsumerBoundedMemory sends 1 GiB while the receiver does not call
// Recv for a while. Credit-based flow control must hold the sender back, so
// the (shared) heap stays far below the data volume, and every message must
// arrive once Recv resumes.
func TestSlowConsumerBoundedMemory(t *testing.T) {
	const (
		msgSize   = 64 << 10
		total     = 1 << 30
		n         = total / msgSize
		heapLimit = 160 << 20 // both nodes, all queues and buffers
	)
	acfg := devConfig("a")
	acfg.MaxPendingBytes = 16 << 20
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)

	runtime.GC() // the garbage of earlier tests is not this one's peak
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	base := ms0.HeapInuse // what earlier tests left in use (pooled buffers), for the peak's growth
	var peak atomic.Uint64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sendDone := make(chan error, 1)
	var sent atomic.Int64
	go func() {
		buf := make([]byte, msgSize)
		fillPayload(buf, 0)
		for i := range n {
			binary.BigEndian.PutUint64(buf, uint64(i))
			if err := a.Send(ctx, "b", buf); err != nil {
				sendDone <- err
				return
			}
			sent.Add(1)
		}
		sendDone <- nil
	}()

	// Nobody receives: the sender must stall well before 1 GiB, once its
	// queue (MaxPendingBytes) and the receive windows are full.
	stalledAt := int64(-1)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		before := sent.Load()
		time.Sleep(500 * time.Millisecond)
		if sent.Load() == before {
			stalledAt = before
			break
		}
	}
	// Queued at the sender: at most MaxPendingMessages, or MaxPendingBytes of
	// frames (compressed when LZ4 applies); in flight: at most one window
	// plus one message per connection (credit counts uncompressed bytes).
	queued := min(int64(acfg.MaxPendingMessages), int64(acfg.MaxPendingBytes)/msgSize)
	if a.Stats().CompressedFrames > 0 {
		queued = int64(acfg.MaxPendingMessages)
	}
	bound := queued + int64(2*(b.cfg.ReceiveWindow/msgSize+1))
	if stalledAt < 0 || stalledAt > bound {
		t.Fatalf("sender not held back: %d sent (bound %d)", sent.Load(), bound)
	}
	t.Logf("sender stalled after %d messages (%d MiB, bound %d)", stalledAt, stalledAt*msgSize>>20, bound)

	template := make([]byte, msgSize)
	fillPayload(template, 0)
	seqs := make([]uint8, n)
	for i := range n {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("recv %d: %v", i, err)
		}
		if len(m.Payload) != msgSize || !bytes.Equal(m.Payload[8:], template[8:]) {
			t.Fatalf("message %d corrupted (%d bytes)", i, len(m.Payload))
		}
		seqs[binary.BigEndian.Uint64(m.Payload)]++
		m.Release()
	}
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	for seq := range uint64(n) {
		if seqs[seq] != 1 {
			t.Fatalf("message %d delivered %d times", seq, seqs[seq])
		}
	}
	close(stopSampling)
	<-sampled
	if p := peak.Load() - min(base, peak.Load()); p > heapLimit {
		t.Fatalf("peak heap %d MiB above the %d MiB in use at the start, while moving 1 GiB; limit %d MiB", p>>20, base>>20, heapLimit>>20)
	} else {
		t.Logf("peak heap in use: %d MiB above the %d MiB at the start, for 1 GiB transferred", p>>20, base>>20)
	}
	waitCounted(t, func() uint64 { return b.Stats().MessagesReceived }, n)
	if st := b.Stats(); st.MessagesReceived != n || st.ProtocolErrors != 0 {
		t.Fatalf("receiver stats: %+v", st)
	}
}
