package engine

import (
	"context"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"
)

// conns returns the connections tr has open.
func conns(tr *Transport) []*conn {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var cs []*conn
	for c := range tr.conns {
		cs = append(cs, c)
	}
	return cs
}

// belledConn returns an established connection of tr whose loop's doorbell
// is open, and the bell.
func belledConn(t *testing.T, tr *Transport) (*conn, *doorbell) {
	t.Helper()
	var found *conn
	waitFor(t, 5*time.Second, func() bool {
		for _, c := range conns(tr) {
			if b := c.bell.bell.Load(); c.established() && b != nil && b.open.Load() {
				found = c
				return true
			}
		}
		return false
	})
	return found, found.bell.bell.Load()
}

// waitServed spins until the loop has taken c off its bell's list.
func waitServed(c *conn) {
	for deadline := time.Now().Add(5 * time.Second); c.inBell.Load() && time.Now().Before(deadline); {
		runtime.Gosched()
	}
}

// TestWakesAllocateNothing: once a loop's doorbell is open, waking a
// connection rings it (one byte written) and allocates nothing; gnet's
// Wake allocated a closure and a queue node every time.
func TestWakesAllocateNothing(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	c, bell := belledConn(t, a)
	before := bell.rings.Load()
	const runs = 500
	allocs := testing.AllocsPerRun(runs, func() {
		c.forceWake()
		waitServed(c)
	})
	if allocs != 0 {
		t.Errorf("a wake allocates %.2f times, want 0", allocs)
	}
	if c.inBell.Load() {
		t.Fatal("the loop never served the last wake")
	}
	if rung := bell.rings.Load() - before; rung < runs {
		t.Errorf("the bell rang %d times for %d served wakes, want one each", rung, runs)
	}
}

// TestDoorbellConcurrentWakes: many goroutines waking the connections of
// both loops while messages stream leave no connection listed and lose
// no message.
func TestDoorbellConcurrentWakes(t *testing.T) {
	acfg := devConfig("a")
	acfg.PoolSize = 4
	a, b := startTransport(t, acfg), startTransport(t, devConfig("b"))
	connect(t, a, b)
	belledConn(t, a)
	const msgs = 5000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				for _, c := range conns(a) {
					c.forceWake()
				}
			}
		}()
	}
	payload := make([]byte, 256)
	for i := 0; i < msgs; i++ {
		if err := a.Send(ctx, "b", payload); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < msgs; i++ {
		m := recvTimeout(t, b, 10*time.Second)
		m.Release()
	}
	wg.Wait()
	waitFor(t, 5*time.Second, func() bool {
		for _, c := range conns(a) {
			if c.inBell.Load() {
				return false
			}
		}
		return true
	})
}

// TestEveryLoopHasABellAtStart: Start gives each event loop its own bell,
// before any connection exists.
func TestEveryLoopHasABellAtStart(t *testing.T) {
	for _, loops := range []int{1, 2, 4} {
		cfg := devConfig("a")
		cfg.EventLoops = loops
		a := startTransport(t, cfg)
		a.bells.mu.Lock()
		open := 0
		for _, s := range a.bells.byLoop {
			if b := s.bell.Load(); b != nil && b.open.Load() {
				open++
			}
		}
		made := len(a.bells.all)
		a.bells.mu.Unlock()
		if open != loops || made != loops {
			t.Errorf("%d loops: %d bells open, %d made, want %d of each", loops, open, made, loops)
		}
	}
}

// TestClosedDoorbellFallsBack: should the bells close while the transport
// runs, connections are woken gnet's way and nothing stalls.
func TestClosedDoorbellFallsBack(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	belledConn(t, a)
	a.bells.mu.Lock()
	all := a.bells.all
	a.bells.mu.Unlock()
	for _, bell := range all {
		_ = bell.sock.Close()
	}
	waitFor(t, 5*time.Second, func() bool {
		for _, bell := range all {
			if bell.open.Load() {
				return false
			}
		}
		return true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const msgs = 3000 // sent back to back: the queue, and the loop's wakes, carry most
	for i := 0; i < msgs; i++ {
		if err := a.Send(ctx, "b", []byte("after the bell")); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	for i := 0; i < msgs; i++ {
		m := recvTimeout(t, b, 10*time.Second)
		m.Release()
	}
	if st := a.Stats(); st.DirectWrites == st.MessagesSent {
		t.Fatalf("all %d messages were written directly: no wake was needed", st.MessagesSent)
	}
}

// TestCloseClosesDoorbells: Close leaves no descriptor of the bells open.
func TestCloseClosesDoorbells(t *testing.T) {
	before := openFDs(t)
	for i := 0; i < 3; i++ {
		a, err := New(devConfig("a"))
		if err != nil {
			t.Fatal(err)
		}
		b := startTransport(t, devConfig("b"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		connect(t, a, b)
		belledConn(t, a)
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fdsBackTo(t, before, "3 rounds of two transports closed")
}

// fdsBackTo waits up to 5 s for the process's open descriptors to fall
// back to before, and fails the test with how many are left after what.
func fdsBackTo(t *testing.T, before int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for openFDs(t) > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d descriptors left open after %s", openFDs(t)-before, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("counting descriptors: %v", err)
	}
	return len(ents)
}
