package tlsstate

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// holdSlots takes n slots as a computing handshake would, and returns
// the function that gives them back.
func holdSlots(lim *Limiter, n int) (release func()) {
	lim.mu.Lock()
	lim.inFlight += n
	lim.mu.Unlock()
	return func() {
		lim.mu.Lock()
		lim.inFlight -= n
		lim.grantLocked()
		lim.mu.Unlock()
	}
}

// TestLimiterBoundsHandshakes starts 10 client handshakes with a limit of 2.
// A client handshake writes its ClientHello at once and then waits for the
// server, which never answers: it gives its slot up while it waits, so all
// 10 get to write theirs, never more than 2 at a time holding a slot, and
// the waiting ones keep their goroutine but no slot.
func TestLimiterBoundsHandshakes(t *testing.T) {
	p := newPKI(t)
	tc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	base := runtime.NumGoroutine()
	lim := NewLimiter(2)
	var eps []*endpoint
	for range 10 {
		e := newEndpoint(tc, Client)
		e.start(lim, time.Now().Add(time.Minute))
		eps = append(eps, e)
		if n := lim.InFlight(); n > 2 {
			t.Fatalf("in flight %d", n)
		}
	}
	waitFor(t, 5*time.Second, "ClientHellos", func() bool {
		if n := lim.InFlight(); n > 2 {
			t.Fatalf("in flight %d", n)
		}
		for _, e := range eps {
			if !e.s.HasOutput() {
				return false
			}
		}
		return true
	})
	waitFor(t, 5*time.Second, "all parked", func() bool { return lim.Parked() == 10 && lim.InFlight() == 0 && lim.Waiting() == 0 })
	for _, e := range eps {
		e.s.TakeOutput(nil)
		e.s.Close()
		if err := recvErr(t, e.done, 5*time.Second); !errors.Is(err, ErrClosed) {
			t.Fatalf("closed session: %v", err)
		}
	}
	if lim.InFlight() != 0 || lim.Waiting() != 0 || lim.Parked() != 0 {
		t.Fatalf("in flight %d waiting %d parked %d", lim.InFlight(), lim.Waiting(), lim.Parked())
	}
	waitGoroutines(t, base)
}

// TestLimiterStalledHandshakesHoldNoSlot: with one slot and 20 server
// handshakes whose peers send nothing, a handshake whose ClientHello has
// arrived still gets the slot at once and completes.
func TestLimiterStalledHandshakesHoldNoSlot(t *testing.T) {
	p := newPKI(t)
	stc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	ctc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	lim := NewLimiter(1)
	var stalled []*endpoint
	for range 20 {
		e := newEndpoint(stc, Server)
		e.start(lim, time.Now().Add(time.Minute))
		stalled = append(stalled, e)
	}
	waitFor(t, 5*time.Second, "stalled ones parked", func() bool { return lim.Parked() == 20 })
	cerr, serr := handshakePairLimited(t, newEndpoint(ctc, Client), newEndpoint(stc, Server), lim)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake behind 20 stalled ones: client %v, server %v", cerr, serr)
	}
	for _, e := range stalled {
		e.s.Close()
		recvErr(t, e.done, 5*time.Second)
	}
	waitFor(t, 5*time.Second, "slots free", func() bool { return lim.InFlight() == 0 && lim.Parked() == 0 })
}

func TestLimiterQueuedDeadlineAndClose(t *testing.T) {
	p := newPKI(t)
	tc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	base := runtime.NumGoroutine()
	lim := NewLimiter(1)
	release := holdSlots(lim, 1) // a handshake computing

	// Queued past its deadline: reported without ever getting the slot.
	late := newEndpoint(tc, Server)
	start := time.Now()
	late.start(lim, start.Add(50*time.Millisecond))
	err := recvErr(t, late.done, 5*time.Second)
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("queued deadline: %v", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Error("queued deadline reported late")
	}
	t.Logf("queued: %v", err)

	// Closed while queued.
	closed := newEndpoint(tc, Server)
	closed.start(lim, time.Now().Add(time.Minute))
	if lim.Waiting() != 1 {
		t.Fatalf("waiting %d", lim.Waiting())
	}
	closed.s.Close()
	if err := recvErr(t, closed.done, 5*time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("closed while queued: %v", err)
	}
	if lim.Waiting() != 0 {
		t.Fatalf("waiting %d", lim.Waiting())
	}

	// A queued handshake gets the slot once it is free, and gives it up
	// while it waits for its peer.
	next := newEndpoint(tc, Server)
	next.start(lim, time.Now().Add(time.Minute))
	if lim.Waiting() != 1 {
		t.Fatalf("waiting %d", lim.Waiting())
	}
	release()
	waitFor(t, time.Second, "next runs, then waits for input", func() bool { return lim.Parked() == 1 && lim.Waiting() == 0 && lim.InFlight() == 0 })
	next.s.Close()
	recvErr(t, next.done, 5*time.Second)
	waitFor(t, time.Second, "nothing held", func() bool { return lim.InFlight() == 0 && lim.Parked() == 0 })
	waitGoroutines(t, base)
	if NewLimiter(0).Cap() != 1 {
		t.Error("NewLimiter(0) should allow one")
	}
}
