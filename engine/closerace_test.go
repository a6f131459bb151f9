package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// TestCloseDuringAcceptsLeaksNothing: a node that Close stops while peers
// keep connecting leaves no accepted socket open. gnet accepts on its main
// reactor and hands each socket to an event loop as a queued task; Engine.Stop
// stops the event loops before that reactor, so a socket accepted in between
// was queued to a loop that had exited, and nobody ever closed it (the
// adapter's TestNoLeaks found two in CLOSE_WAIT, with a peer's hello unread).
func TestCloseDuringAcceptsLeaksNothing(t *testing.T) {
	const rounds = 30
	var logs logSink
	before := openFDs(t)
	for range rounds {
		cfg := devConfig("a")
		cfg.Logger = logs.logger()
		allowConnections(&cfg, 4000)
		tr, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := tr.Start(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		storm := dialStorm(tr.Addr().String(), 2, 1000)
		storm.waitDials(20)
		if err := tr.Close(); err != nil {
			t.Fatal(err)
		}
		storm.stop()
	}
	fdsBackTo(t, before, fmt.Sprintf("%d Closes during a dial storm", rounds))
	// The acceptor stopped with its listener, and its exit, an error to
	// gnet, is no news to whoever reads the log.
	if recs := logs.records("the acceptor did not stop with its listener; stopping the event loops"); len(recs) > 0 {
		t.Fatalf("%d of %d Closes fell back to Engine.Stop", len(recs), rounds)
	}
	for _, level := range []string{"WARN", "ERROR"} {
		if recs := logs.fromComponent("gnet", level); len(recs) > 0 {
			t.Fatalf("gnet logged at %s during Close: %v", level, recs[0])
		}
	}
}

// storm dials one address from several goroutines until stopped, holding
// every connection it makes open until then.
type storm struct {
	mu    sync.Mutex
	held  []net.Conn
	dials chan struct{}
	done  chan struct{}
	wg    sync.WaitGroup
}

// dialStorm starts dialers goroutines, each making at most limit dials.
func dialStorm(addr string, dialers, limit int) *storm {
	s := &storm{dials: make(chan struct{}, dialers*limit), done: make(chan struct{})}
	for range dialers {
		s.wg.Add(1)
		go s.dial(addr, limit)
	}
	return s
}

func (s *storm) dial(addr string, limit int) {
	defer s.wg.Done()
	for range limit {
		select {
		case <-s.done:
			return
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue // refused once the listener is closed
		}
		_, _ = c.Write([]byte("not a hello")) // what the leaked sockets held unread
		s.mu.Lock()
		s.held = append(s.held, c)
		s.mu.Unlock()
		s.dials <- struct{}{}
	}
}

// waitDials waits until n dials have connected, or a dialer gave up.
func (s *storm) waitDials(n int) {
	for range n {
		select {
		case <-s.dials:
		case <-time.After(5 * time.Second):
			return
		}
	}
}

// stop ends the dials and closes every connection made.
func (s *storm) stop() {
	close(s.done)
	s.wg.Wait()
	for _, c := range s.held {
		_ = c.Close()
	}
}

// TestStartWithAnEndingContext: Start whose context ends while gnet is
// still booting returns the context's error, and leaves nothing running.
// Close, called from Start, used to stop gnet before it had booted: Stop
// failed on an engine not yet set, and Close waited forever for gnet.Run.
func TestStartWithAnEndingContext(t *testing.T) {
	const rounds = 100
	before := openFDs(t)
	ended := 0
	for i := range rounds {
		tr, err := New(devConfig("a"))
		if err != nil {
			t.Fatal(err)
		}
		// Deadlines from 0 to 380 µs sweep the end across gnet's boot.
		ctx, cancel := context.WithTimeout(context.Background(), time.Duration(i%20)*20*time.Microsecond)
		done := make(chan error, 1)
		go func() { done <- tr.Start(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("round %d: Start: %v, want the context's end", i, err)
				}
				ended++
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Start has not returned after 10 s", i)
		}
		cancel()
		_ = tr.Close()
	}
	if ended == 0 {
		t.Fatalf("no Start of %d saw its context end: the test swept nothing", rounds)
	}
	fdsBackTo(t, before, fmt.Sprintf("%d Starts", rounds))
}

// TestStartAfterGnetFailed: a Start whose gnet.Run failed leaves the
// transport unable to run, and says so; a second Start neither panics nor
// races (gnet.Run's end is closed once per transport).
func TestStartAfterGnetFailed(t *testing.T) {
	cfg := devConfig("a")
	cfg.ListenAddr = "192.0.2.1:0" // TEST-NET-1, on no interface: gnet's bind fails (port 0 skips the probe)
	tr, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Start(ctx); err == nil {
		t.Fatal("Start on an address of no interface succeeded")
	}
	if err := tr.Start(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Start: %v, want ErrClosed", err)
	}
	if err := tr.Send(ctx, "b", []byte("x")); !errors.Is(err, ErrNotStarted) {
		t.Fatalf("Send after a failed Start: %v, want ErrNotStarted", err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestStoppedEngineFreesItsPort: once gnet has stopped, for whatever
// reason, nothing keeps its port listening: the transport's duplicate of
// the listening socket is closed as gnet.Run returns, not at Close.
func TestStoppedEngineFreesItsPort(t *testing.T) {
	tr := startTransport(t, devConfig("a"))
	addr := tr.Addr().String()
	tr.stopEngine() // as if gnet had stopped on its own (an accept error)
	select {
	case <-tr.runDone:
	case <-time.After(10 * time.Second):
		t.Fatal("gnet.Run did not return after Engine.Stop")
	}
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("%s still accepts connections after gnet stopped", addr)
	}
}

// TestCloseRacingStart: a Close that runs while Start is still setting up
// stops whatever Start went on to run. Start either fails with ErrClosed or
// succeeds and is closed; in both cases no event loop, port or descriptor
// is left once both have returned.
func TestCloseRacingStart(t *testing.T) {
	const rounds = 100
	before := openFDs(t)
	for i := range rounds {
		tr, err := New(devConfig("a"))
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan error, 1)
		go func() { started <- tr.Start(context.Background()) }()
		// Delays from 0 to 190 µs sweep Close across Start's set-up.
		time.Sleep(time.Duration(i%20) * 10 * time.Microsecond)
		_ = tr.Close()
		select {
		case err := <-started:
			if err != nil && !errors.Is(err, ErrClosed) {
				t.Fatalf("round %d: Start: %v, want nil or ErrClosed", i, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: Start has not returned 10 s after Close", i)
		}
		if addr := tr.Addr(); addr != nil {
			if c, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
				c.Close()
				t.Fatalf("round %d: %s still accepts connections after Close and Start returned", i, addr)
			}
		}
	}
	fdsBackTo(t, before, fmt.Sprintf("%d Closes racing Start", rounds))
}
