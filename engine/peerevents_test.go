package engine

import (
	"context"
	"strings"
	"testing"
	"time"
)

// nextEvent waits for the next event about id, skipping others.
func nextEvent(t *testing.T, tr *Transport, id string) PeerEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-tr.Events():
			if !ok {
				t.Fatal("events closed")
			}
			if ev.NodeID == id {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event about %s", id)
		}
	}
}

// TestPeerEventsFollowThePeer: a peer we dial comes up, goes away
// (reconnecting, with the reason), comes back on the same address (up),
// is disconnected (down); one that can never be reached fails with the
// reason; the listener sees its inbound-only peer come and go; and
// Peers() says when each was last heard from.
func TestPeerEventsFollowThePeer(t *testing.T) {
	acfg := devConfig("a")
	acfg.Reconnect.InitialBackoff, acfg.Reconnect.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	a := startTransport(t, acfg)
	b := startTransport(t, devConfig("b"))
	addr := b.Addr().String()
	before := time.Now()
	connect(t, a, b)
	if ev := nextEvent(t, a, "b"); ev.Kind != PeerUp {
		t.Fatalf("first event %v, want up", ev.Kind)
	}
	if ev := nextEvent(t, b, "a"); ev.Kind != PeerUp {
		t.Fatalf("listener's first event %v, want up", ev.Kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Send(ctx, "b", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	m := recvTimeout(t, b, 5*time.Second)
	m.Release()
	if heard := b.Peers()[0].LastHeard; heard.Before(before) {
		t.Fatalf("b last heard from a at %v, before the test began", heard)
	}

	_ = b.Close()
	ev := nextEvent(t, a, "b")
	if ev.Kind != PeerReconnecting || ev.Reason == "" {
		t.Fatalf("after b closed: %v %q, want reconnecting with a reason", ev.Kind, ev.Reason)
	}
	bcfg := devConfig("b")
	bcfg.ListenAddr = addr
	startTransport(t, bcfg)
	if ev := nextEvent(t, a, "b"); ev.Kind != PeerUp {
		t.Fatalf("after b came back: %v, want up", ev.Kind)
	}
	if err := a.Disconnect("b"); err != nil {
		t.Fatal(err)
	}
	if ev := nextEvent(t, a, "b"); ev.Kind != PeerDown {
		t.Fatalf("after Disconnect: %v, want down", ev.Kind)
	}

	ccfg := devConfig("c")
	ccfg.Reconnect.MaxAttempts = 1
	ccfg.Reconnect.InitialBackoff = 10 * time.Millisecond
	c := startTransport(t, ccfg)
	_ = c.Connect(ctx, PeerConfig{NodeID: "nobody", Address: closedAddr(t)})
	for {
		ev := nextEvent(t, c, "nobody")
		if ev.Kind == PeerFailed {
			if !strings.Contains(ev.Reason, "attempts") {
				t.Fatalf("failed for %q", ev.Reason)
			}
			break
		}
		if ev.Kind != PeerReconnecting {
			t.Fatalf("unreachable peer: %v before failing", ev.Kind)
		}
	}
}

// TestEventsCoalesceForASlowConsumer: with nobody reading, a hundred peers
// flapping a hundred times each fill the channel and then wait one per
// peer, never blocking the reporter; reading afterwards gives each peer's
// events in order, ending with its final state, and says how many were
// merged.
func TestEventsCoalesceForASlowConsumer(t *testing.T) {
	h := newEventHub()
	done := make(chan struct{})
	go h.run(done)
	defer close(done)
	peers := make([]*peer, 100)
	for i := range peers {
		peers[i] = newPeer("p"+itoa(i), RateLimitConfig{}, RateLimitConfig{}, nil)
	}
	report := func(p *peer, s State) { // as a lane's state change would, with the state given
		h.mu.Lock()
		h.reportLocked(p, s, false)
		h.mu.Unlock()
	}
	start := time.Now()
	for round := range 100 {
		for _, p := range peers {
			s := StateActive
			if round%2 == 1 {
				s = StateReconnecting
			}
			report(p, s)
		}
	}
	for _, p := range peers {
		report(p, StateFailed)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("reporting took %v: it must never wait for the consumer", took)
	}
	final := map[string]PeerEvent{}
	coalesced, failed := 0, 0
	for failed < len(peers) {
		select {
		case ev := <-h.out:
			if prev, ok := final[ev.NodeID]; ok && prev.Kind == PeerFailed {
				t.Fatalf("%s: %v after failed", ev.NodeID, ev.Kind)
			}
			final[ev.NodeID] = ev
			coalesced += ev.Coalesced
			if ev.Kind == PeerFailed {
				failed++
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of %d peers reached failed", failed, len(peers))
		}
	}
	for id, ev := range final {
		if ev.Kind != PeerFailed {
			t.Fatalf("%s ended %v, want failed", id, ev.Kind)
		}
	}
	if coalesced == 0 {
		t.Fatal("nothing was coalesced: the test did not outrun the channel")
	}
}
