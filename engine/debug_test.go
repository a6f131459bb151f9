package engine

import (
	"context"
	"encoding/binary"
	"testing"
	"time"
)

// TestTinyRingStallsLoseNothing forces the inbound ring to be full almost
// all the time (16 slots, a slow consumer), so connections stall and resume
// constantly, with frames split across reads. Every message must arrive
// exactly once and in order per connection.
func TestTinyRingStallsLoseNothing(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.RecvBufferSize = 16
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, bcfg)
	connect(t, a, b)
	const n = 200_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	go func() {
		p := make([]byte, 100)
		for i := range n {
			binary.BigEndian.PutUint64(p, uint64(i))
			if err := a.Send(ctx, "b", p[:8+i%90]); err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
		}
	}()
	seen := make([]bool, n)
	last := map[uint64]int{}
	for i := range n {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("after %d messages: %v (stats %+v)", i, err, b.Stats())
		}
		seq := int(binary.BigEndian.Uint64(m.Payload))
		if seq >= n || seen[seq] || len(m.Payload) != 8+seq%90 {
			t.Fatalf("bad or duplicate message seq %d len %d", seq, len(m.Payload))
		}
		if prev, ok := last[m.ConnID]; ok && seq <= prev {
			t.Fatalf("conn %d: seq %d after %d", m.ConnID, seq, prev)
		}
		seen[seq], last[m.ConnID] = true, seq
		m.Release()
		if i%1000 == 0 {
			time.Sleep(time.Millisecond) // let the ring fill
		}
	}
	if st := b.Stats(); st.RecvStalls == 0 {
		t.Fatal("the ring never filled: the test did not exercise stalls")
	}
}
