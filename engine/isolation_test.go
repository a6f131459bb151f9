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
			flooded := waitCounted(t, func() uint64 { return peerStats(t, b, "flood").MessagesReceived }, uint64(4*tc.full))
			if flooded != uint64(4*tc.full) {
				t.Fatalf("flood delivered %d of %d", flooded, 4*tc.full)
			}
		})
	}
}

// TestRecvSharesByBytes: a peer whose inbox holds 1 MiB messages and one
// whose inbox holds 64-byte ones get the application's attention by
// bytes: every small message comes out before the second large one (taking
// turns by message would interleave them one for one).
func TestRecvSharesByBytes(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.Compression.Enabled = false
	b := startTransport(t, bcfg)
	big, small := startTransport(t, devConfig("big")), startTransport(t, devConfig("small"))
	connect(t, big, b)
	connect(t, small, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const bigs, smalls = 4, 100
	for range bigs {
		if err := big.Send(ctx, "b", bytes.Repeat([]byte{'B'}, 1<<20)); err != nil {
			t.Fatal(err)
		}
	}
	for range smalls {
		if err := small.Send(ctx, "b", []byte("small")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, func() bool { return b.Stats().RecvQueueDepth == bigs+smalls })
	var order []string
	for range bigs + smalls {
		m := recvTimeout(t, b, 5*time.Second)
		order = append(order, m.From)
		m.Release()
	}
	seenBig, smallBeforeSecondBig := 0, 0
	for _, from := range order {
		if from == "big" {
			if seenBig++; seenBig == 2 {
				break
			}
		} else {
			smallBeforeSecondBig++
		}
	}
	if smallBeforeSecondBig != smalls {
		t.Fatalf("%d of %d small messages came before the second 1 MiB one", smallBeforeSecondBig, smalls)
	}
}
