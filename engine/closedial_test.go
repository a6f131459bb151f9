package engine

import (
	"context"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Close during a dial leaves no connection behind. gnet registers a dialed
// connection from a worker goroutine, which dups its socket and waits for
// the event loop to open it; a loop that stopped first never does, and
// the worker waits forever holding both descriptors. Close therefore lets
// every registration already under way reach its loop before stopping
// the loops.
func TestCloseDuringDialLeaksNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and hold: the handshake never completes
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	const rounds = 150
	addr := ln.Addr().String()
	for i := range rounds {
		cfg := devConfig("a")
		cfg.ConnectTimeout = 50 * time.Millisecond
		cfg.PoolSize = 4
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Connect with a context already done returns at once; the dials it
		// started go on in the transport's own goroutines.
		gone, cancel := context.WithCancel(context.Background())
		cancel()
		_ = tr.Connect(gone, PeerConfig{NodeID: "b", Address: addr})
		spin(time.Duration(i%50) * 40 * time.Microsecond) // sweep Close across the dials' registration
		_ = tr.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		stuck := stuckRegistrations()
		if stuck == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d gnet workers still wait to register a connection %d Closes later", stuck, rounds)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// spin waits d without sleeping, for delays below the timer's resolution.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}

// stuckRegistrations counts goroutines inside gnet's registration of a
// dialed connection.
func stuckRegistrations() int {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "gnet/v2.(*eventloop).enroll") {
			n++
		}
	}
	return n
}
