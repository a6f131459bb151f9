package engine

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestFloodingPeerDoesNotDelayOthers: a peer fills its inbox on a node
// whose application has not read yet (by message count, or by bytes);
// another peer's message still gets in, and the first Recvs serve the
// peers in turn rather than the flood first. With one shared ring the
// quiet peer's message could not even be queued.
func TestFloodingPeerDoesNotDelayOthers(t *testing.T) {
	cases := []struct {
		name     string
		slots    int
		maxBytes int
		size     int
		full     int // messages that fill the flooder's inbox
	}{
		{"by messages", 32, 0, 64, 32},
		{"by bytes", 1024, 64 << 10, 8000, 8}, // 8 frames of 8005 bytes fit 64 KiB
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bcfg := devConfig("b")
			bcfg.RecvBufferSize, bcfg.RecvBufferBytes = tc.slots, tc.maxBytes
			bcfg.Compression.Enabled = false
			b := startTransport(t, bcfg)
			flood, quiet := startTransport(t, devConfig("flood")), startTransport(t, devConfig("quiet"))
			connect(t, flood, b)
			connect(t, quiet, b)
			payload := bytes.Repeat([]byte{'f'}, tc.size)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for i := range 4 * tc.full { // more than its inbox holds: the rest waits at the sender
				if err := flood.TrySend("b", payload); err != nil {
					t.Fatalf("flood send %d: %v", i, err)
				}
			}
			waitFor(t, 5*time.Second, func() bool { return peerStats(t, b, "flood").MessagesReceived >= uint64(tc.full) })
			if err := quiet.Send(ctx, "b", []byte("quiet")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, func() bool { return peerStats(t, b, "quiet").MessagesReceived == 1 })
			var order []string
			for range 3 {
				m := recvTimeout(t, b, 5*time.Second)
				order = append(order, m.From)
				m.Release()
			}
			if order[0] != "quiet" && order[1] != "quiet" {
				t.Fatalf("first Recvs %v: the quiet peer's message waited behind the flood", order)
			}
			for got := 3; got < 4*tc.full+1; got++ { // the rest of the flood, nothing lost
				m := recvTimeout(t, b, 5*time.Second)
				if m.From != "flood" {
					t.Fatalf("message %d from %s", got, m.From)
				}
				m.Release()
			}
			if st := peerStats(t, b, "flood"); st.MessagesReceived != uint64(4*tc.full) {
				t.Fatalf("flood delivered %d of %d", st.MessagesReceived, 4*tc.full)
			}
		})
	}
}
