package tlsstate

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// TestLimiterBoundsHandshakes starts 10 client handshakes with a limit of 2.
// A running client handshake writes its ClientHello at once, so the number
// of sessions with output is the number that got a slot. No server answers;
// the test closes running sessions to free slots.
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
	}
	if lim.InFlight() > 2 {
		t.Fatalf("in flight %d", lim.InFlight())
	}
	finished := 0
	started := map[int]bool{}
	for finished < len(eps) {
		// Wait for the running handshakes to write their ClientHello.
		want := min(2, len(eps)-finished)
		waitFor(t, 5*time.Second, "ClientHellos", func() bool {
			n := 0
			for i, e := range eps {
				if !started[i] && e.s.HasOutput() {
					n++
				}
			}
			return n == want
		})
		if n := lim.InFlight(); n != want {
			t.Fatalf("in flight %d, want %d", n, want)
		}
		if w := lim.Waiting(); w != len(eps)-finished-want {
			t.Fatalf("waiting %d, want %d", w, len(eps)-finished-want)
		}
		// Queued handshakes have no goroutine: only the slots do.
		if g := runtime.NumGoroutine() - base; g > 2 {
			t.Fatalf("%d goroutines for 2 handshake slots and %d queued", g, lim.Waiting())
		}
		for i, e := range eps {
			if !started[i] && e.s.HasOutput() {
				started[i] = true
				e.s.TakeOutput(nil)
				e.s.Close()
				if err := recvErr(t, e.done, 5*time.Second); !errors.Is(err, ErrClosed) {
					t.Fatalf("closed session: %v", err)
				}
				finished++
			}
		}
	}
	if lim.InFlight() != 0 || lim.Waiting() != 0 {
		t.Fatalf("in flight %d waiting %d", lim.InFlight(), lim.Waiting())
	}
	waitGoroutines(t, base)
}

func TestLimiterQueuedDeadlineAndClose(t *testing.T) {
	p := newPKI(t)
	tc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	base := runtime.NumGoroutine()
	lim := NewLimiter(1)
	holder := newEndpoint(tc, Server)
	holder.start(lim, time.Now().Add(time.Minute))
	waitFor(t, time.Second, "slot taken", func() bool { return lim.InFlight() == 1 })

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

	// A queued handshake that gets the slot runs in the same goroutine.
	next := newEndpoint(tc, Server)
	next.start(lim, time.Now().Add(time.Minute))
	holder.s.Close()
	if err := recvErr(t, holder.done, 5*time.Second); !errors.Is(err, ErrClosed) {
		t.Fatal(err)
	}
	waitFor(t, time.Second, "next runs", func() bool { return lim.InFlight() == 1 && lim.Waiting() == 0 })
	next.s.Close()
	recvErr(t, next.done, 5*time.Second)
	waitFor(t, time.Second, "slots free", func() bool { return lim.InFlight() == 0 })
	waitGoroutines(t, base)
	if NewLimiter(0).Cap() != 1 {
		t.Error("NewLimiter(0) should allow one")
	}
}
