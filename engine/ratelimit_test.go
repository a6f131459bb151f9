package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
)

func TestOutboundRateLimit(t *testing.T) {
	acfg := devConfig("a")
	acfg.RateLimit = bucket.Config{Enabled: true, BucketSize: 10, RefillRate: 5}
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx := context.Background()
	ok, limited := 0, 0
	for i := range 50 {
		err := a.Send(ctx, "b", []byte("x"))
		switch {
		case err == nil:
			if limited > 0 {
				t.Fatalf("send %d succeeded after a refusal: no refill should have happened yet", i)
			}
			ok++
		case errors.Is(err, ErrRateLimited):
			limited++
		default:
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if ok != 10 || limited != 40 {
		t.Fatalf("%d sent, %d rate limited; want 10 and 40", ok, limited)
	}
	if st := a.Stats(); st.RateLimited != 40 || st.Peers[0].RateLimited != 40 || st.PayloadBytesQueued != 10 {
		t.Fatalf("stats: rate limited %d (peer %d), queued %d bytes", st.RateLimited, st.Peers[0].RateLimited, st.PayloadBytesQueued)
	}
	time.Sleep(time.Second)
	more := 0
	for range 50 {
		if a.TrySend("b", []byte("y")) == nil {
			more++
		}
	}
	if more < 4 || more > 6 {
		t.Fatalf("%d sends passed one second later, want about 5", more)
	}
	for range ok + more {
		m := recvTimeout(t, b, 5*time.Second)
		m.Release()
	}
	// Disconnect forgets the bucket: a new Connect starts full.
	if err := a.Disconnect("b"); err != nil {
		t.Fatal(err)
	}
	connect(t, a, b)
	full := 0
	for range 20 {
		if a.TrySend("b", []byte("z")) == nil {
			full++
		}
	}
	if full != 10 {
		t.Fatalf("after Disconnect and Connect, %d sends passed, want a fresh bucket of 10", full)
	}
}

func TestInboundRateLimitThrottlesWithoutLoss(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.InboundRateLimit = bucket.Config{Enabled: true, BucketSize: 20, RefillRate: 100}
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, bcfg)
	connect(t, a, b)
	const n = 120 // 20 at once, then about 100 per second
	for i := range n {
		if err := a.Send(context.Background(), "b", []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	for range n {
		m := recvTimeout(t, b, 10*time.Second)
		m.Release()
	}
	elapsed := time.Since(start)
	waitCounted(t, func() uint64 { return b.Stats().MessagesReceived }, n)
	st := b.Stats()
	if st.InboundThrottled == 0 || st.MessagesReceived != n {
		t.Fatalf("throttled %d times, received %d of %d", st.InboundThrottled, st.MessagesReceived, n)
	}
	// 100 messages beyond the burst at 100/s cannot all arrive at once.
	if elapsed < 500*time.Millisecond {
		t.Fatalf("all %d messages arrived in %v: the inbound limit did not hold", n, elapsed)
	}
	if st.MessagesDropped != 0 || st.ProtocolErrors != 0 {
		t.Fatalf("stats: %+v", st)
	}
}
