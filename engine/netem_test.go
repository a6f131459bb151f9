package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestNetemSoak runs only under scripts/netem.sh, which creates two network
// namespaces with netem delay and loss. It streams messages to a child node
// in the other namespace, partitions the link for a few seconds, heals it,
// and checks that every message was delivered or reported by the sender.
func TestNetemSoak(t *testing.T) {
	peerNS, peerAddr := os.Getenv("TRANSPORT_NETEM_PEER_NS"), os.Getenv("TRANSPORT_NETEM_PEER_ADDR")
	if peerNS == "" || peerAddr == "" {
		t.Skip("run by scripts/netem.sh (needs network namespaces)")
	}
	cut, heal := os.Getenv("TRANSPORT_NETEM_CUT"), os.Getenv("TRANSPORT_NETEM_HEAL")
	var mu sync.Mutex
	seen := map[uint64]int{}
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }

	child := startChildIn(t, peerNS, peerAddr, func(n uint64) { mu.Lock(); seen[n]++; mu.Unlock() })
	cfg := devConfig("a")
	cfg.ListenAddr = os.Getenv("TRANSPORT_NETEM_LOCAL_ADDR")
	cfg.MaxPendingMessages = 1_000_000
	cfg.IOTimeout = 3 * time.Second
	cfg.Reconnect.MaxBackoff = time.Second
	a := startTransport(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := a.Connect(ctx, PeerConfig{NodeID: "child", Address: peerAddr}); err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	sendDone := make(chan error, 1)
	go func() {
		var p [512]byte
		for i := range n {
			binary.BigEndian.PutUint64(p[:], uint64(i))
			if err := a.Send(ctx, "child", p[:64+i%448]); err != nil {
				sendDone <- fmt.Errorf("send %d: %w", i, err)
				return
			}
			time.Sleep(500 * time.Microsecond) // about 20 s of traffic
		}
		sendDone <- nil
	}()
	run := func(cmdline string) {
		if out, err := exec.Command("sh", "-c", cmdline).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", cmdline, err, out)
		}
	}
	time.Sleep(6 * time.Second)
	t.Logf("partition for 5 s: %s (received so far %d)", cut, received())
	run(cut)
	time.Sleep(5 * time.Second)
	run(heal)
	t.Logf("healed (received so far %d)", received())
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*time.Minute, func() bool {
		st := a.Stats()
		return len(st.Peers) == 1 && st.Peers[0].QueueDepth == 0 && uint64(received())+st.MessagesUnconfirmed+st.MessagesDropped >= n
	})
	_ = child.Process.Signal(syscall.SIGTERM)
	_ = child.Wait()
	st := a.Stats()
	lost := n - received()
	t.Logf("received %d of %d, lost %d; sender: unconfirmed %d dropped %d io-timeouts %d reconnects %d",
		received(), n, lost, st.MessagesUnconfirmed, st.MessagesDropped, st.IOTimeouts, st.ReconnectAttempts)
	if uint64(lost) > st.MessagesUnconfirmed+st.MessagesDropped {
		t.Fatalf("%d messages lost silently", uint64(lost)-st.MessagesUnconfirmed-st.MessagesDropped)
	}
	for seq, c := range seen {
		if c != 1 {
			t.Fatalf("message %d reported %d times", seq, c)
		}
	}
}

// startChildIn runs a child node inside a network namespace.
func startChildIn(t *testing.T, ns, addr string, seen func(uint64)) *exec.Cmd {
	t.Helper()
	return startChildCmd(t, exec.Command("ip", "netns", "exec", ns, os.Args[0], "-test.run=^$"), addr, seen)
}
