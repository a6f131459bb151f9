package engine

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tensorchain/transport/codec"
)

func TestBackoffTable(t *testing.T) {
	rc := DefaultReconnect()
	ms := time.Millisecond
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 90 * ms, 110 * ms},
		{1, 180 * ms, 220 * ms},
		{2, 360 * ms, 440 * ms},
		{3, 720 * ms, 880 * ms},
		// 100 ms * 2^8 = 25.6 s, still under the 30 s cap (the seed's table
		// rounds this attempt up to the cap; the formula does not).
		{8, 23040 * ms, 28160 * ms},
		{9, 27 * time.Second, 33 * time.Second},
		{50, 27 * time.Second, 33 * time.Second},
		{5000, 27 * time.Second, 33 * time.Second},
	}
	rnd := rand.New(rand.NewPCG(1, 2)) // seeded jitter: reproducible
	for _, tc := range tests {
		if lo, hi := rc.Backoff(tc.attempt, -1), rc.Backoff(tc.attempt, 1); lo != tc.min || hi != tc.max {
			t.Errorf("attempt %d: jitter range [%v, %v], want [%v, %v]", tc.attempt, lo, hi, tc.min, tc.max)
		}
		for range 1000 {
			d := rc.Backoff(tc.attempt, rnd.Float64()*2-1)
			if d < tc.min || d > tc.max {
				t.Fatalf("attempt %d: %v outside [%v, %v]", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
	if mid := rc.Backoff(3, 0); mid != 800*ms {
		t.Errorf("attempt 3 without jitter = %v, want 800ms", mid)
	}
}

// TestRestartPeerSameAddress closes the receiver and starts a new one on the
// same address while the sender keeps sending: the sender reconnects, and
// every message arrives exactly once at one of the two receivers.
func TestRestartPeerSameAddress(t *testing.T) {
	acfg := devConfig("a")
	acfg.MaxPendingMessages = 100_000
	a := startTransport(t, acfg)
	b1, err := New(devConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b1.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := b1.Addr().String()
	connect(t, a, b1)

	const n = 30_000
	var sent atomic.Int64
	sendDone := make(chan error, 1)
	go func() {
		var p [8]byte
		for i := range n {
			binary.BigEndian.PutUint64(p[:], uint64(i))
			if err := a.Send(ctx, "b", p[:]); err != nil {
				sendDone <- err
				return
			}
			sent.Add(1)
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		sendDone <- nil
	}()
	seen := make([]uint8, n)
	var mu sync.Mutex
	collect := func(tr *Transport, stopAt func() bool) int {
		got := 0
		for !stopAt() && ctx.Err() == nil {
			c, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			m, err := tr.Recv(c)
			cancel()
			if errors.Is(err, ErrClosed) {
				return got
			}
			if err != nil {
				continue
			}
			mu.Lock()
			seen[binary.BigEndian.Uint64(m.Payload)]++
			mu.Unlock()
			m.Release()
			got++
		}
		return got
	}
	b1got := make(chan int, 1)
	go func() { b1got <- collect(b1, func() bool { return false }) }()
	for sent.Load() < n/3 {
		time.Sleep(time.Millisecond)
	}
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	got1 := <-b1got
	queuedWhileDown := sent.Load()
	time.Sleep(300 * time.Millisecond) // the sender keeps queueing while b is down

	b2cfg := devConfig("b")
	b2cfg.ListenAddr = addr
	b2 := startTransport(t, b2cfg)
	got2 := collect(b2, func() bool {
		mu.Lock()
		defer mu.Unlock()
		done := 0
		for _, c := range seen {
			if c > 0 {
				done++
			}
		}
		return done == n
	})
	if err := <-sendDone; err != nil {
		t.Fatal(err)
	}
	missing := 0
	for i, c := range seen {
		if c > 1 {
			t.Fatalf("message %d delivered %d times (b1 got %d, b2 got %d)", i, c, got1, got2)
		}
		if c == 0 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("%d messages never arrived (b1 got %d, b2 got %d); sender stats %+v", missing, got1, got2, a.Stats())
	}
	st := a.Stats()
	t.Logf("b1 got %d, b2 got %d, %d sent before the restart; sender stats: reconnects %d unconfirmed %d dropped %d",
		got1, got2, queuedWhileDown, st.ReconnectAttempts, st.MessagesUnconfirmed, st.MessagesDropped)
	if st.ReconnectAttempts == 0 || st.MessagesDropped != 0 {
		t.Fatalf("sender stats: %+v", st)
	}
}

// blackholeListener returns an address whose listener never accepts and
// whose backlog is full, so further connection attempts get no answer.
func blackholeListener(t *testing.T) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, _ := unix.Getsockname(fd)
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*unix.SockaddrInet4).Port}).String()
	for range 4 { // fill the accept queue
		d := net.Dialer{Timeout: 200 * time.Millisecond}
		if c, err := d.Dial("tcp", addr); err == nil {
			t.Cleanup(func() { c.Close() })
		}
	}
	return addr
}

func TestDialTimeout(t *testing.T) {
	addr := blackholeListener(t)
	cfg := devConfig("a")
	cfg.ConnectTimeout = 500 * time.Millisecond
	cfg.Reconnect.Enabled = false
	a := startTransport(t, cfg)
	start := time.Now()
	err := a.Connect(context.Background(), PeerConfig{NodeID: "b", Address: addr})
	elapsed := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Connect to a black hole: %v, want ErrTimeout", err)
	}
	if elapsed < 400*time.Millisecond || elapsed > 3*time.Second {
		t.Fatalf("Connect gave up after %v, want about %v", elapsed, cfg.ConnectTimeout)
	}
	if err := a.Send(context.Background(), "b", []byte("x")); !errors.Is(err, ErrPeerFailed) {
		t.Fatalf("Send to a failed peer: %v, want ErrPeerFailed", err)
	}
}

// TestStalledReaderIOTimeout connects to a raw peer that grants a huge
// window and never reads: the outbound cap must bound memory, and the I/O
// timeout must recycle the connection.
func TestStalledReaderIOTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(4 << 10)
			}
			readFrame(t, c) // the dialer's hello
			h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 30, Window: 1 << 31, Incarnation: 7, NodeID: "sink"}
			_, _ = c.Write(codec.AppendHello(nil, h))
			accepted <- c // and never read again
		}
	}()
	cfg := devConfig("a")
	cfg.IOTimeout = time.Second
	cfg.PoolSize = 1
	a := startTransport(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Connect(ctx, PeerConfig{NodeID: "sink", Address: ln.Addr().String()}); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 64<<10)
	var peak uint64
	var ms runtime.MemStats
	for a.Stats().IOTimeouts == 0 && ctx.Err() == nil {
		_ = a.TrySend("sink", payload)
		time.Sleep(time.Millisecond)
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	if a.Stats().IOTimeouts == 0 {
		t.Fatal("the I/O timeout never fired")
	}
	if peak > 200<<20 {
		t.Fatalf("heap reached %d MiB while the peer did not read", peak>>20)
	}
	waitFor(t, 10*time.Second, func() bool { return len(accepted) >= 2 }) // reconnected
	t.Logf("peak heap %d MiB; stats: %+v", peak>>20, a.Stats())
	for len(accepted) > 0 {
		(<-accepted).Close()
	}
}

func TestSelfDialIsRefused(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	ctx := context.Background()
	if err := a.Connect(ctx, PeerConfig{NodeID: "a", Address: a.Addr().String()}); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Connect to own id: %v", err)
	}
	// Dialing its own address under another name: the handshake notices.
	err := a.Connect(ctx, PeerConfig{NodeID: "other", Address: a.Addr().String()})
	if !errors.Is(err, ErrHandshakeFailed) {
		t.Fatalf("Connect to own address: %v, want ErrHandshakeFailed", err)
	}
	waitFor(t, 2*time.Second, func() bool { return a.Stats().HandshakeFailures["self"] > 0 })
}

func TestDuplicateNodeIDIsRefused(t *testing.T) {
	b := startTransport(t, devConfig("b"))
	first := startTransport(t, devConfig("a"))
	connect(t, first, b)
	impostorCfg := devConfig("a")
	impostorCfg.Reconnect.Enabled = false
	impostor := startTransport(t, impostorCfg)
	err := impostor.Connect(context.Background(), PeerConfig{NodeID: "b", Address: b.Addr().String()})
	if !errors.Is(err, ErrHandshakeFailed) {
		t.Fatalf("second live node with id a: %v, want ErrHandshakeFailed", err)
	}
	waitFor(t, 2*time.Second, func() bool { return b.Stats().HandshakeFailures["duplicate_node_id"] > 0 })
	// The first node still works.
	if err := first.Send(context.Background(), "b", []byte("still here")); err != nil {
		t.Fatal(err)
	}
	if m := recvTimeout(t, b, 5*time.Second); string(m.Payload) != "still here" {
		t.Fatalf("got %q", m.Payload)
	}
}

func TestSimultaneousConnect(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); connect(t, a, b) }()
	go func() { defer wg.Done(); connect(t, b, a) }()
	wg.Wait()
	ctx := context.Background()
	for range 100 {
		if err := a.Send(ctx, "b", []byte("ab")); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(ctx, "a", []byte("ba")); err != nil {
			t.Fatal(err)
		}
	}
	for range 100 {
		if m := recvTimeout(t, b, 5*time.Second); string(m.Payload) != "ab" {
			t.Fatalf("b got %q", m.Payload)
		}
		if m := recvTimeout(t, a, 5*time.Second); string(m.Payload) != "ba" {
			t.Fatalf("a got %q", m.Payload)
		}
	}
	// Each side keeps its own dialed pool (PoolSize bulk lanes and the
	// control lane) and the other's inbound connections.
	if p := a.Peers(); len(p) != 1 || p[0].Connections != 2*(a.cfg.PoolSize+1) {
		t.Fatalf("a's view of b: %+v", p)
	}
}

func TestCloseFlushesAndRefusesCalls(t *testing.T) {
	a, err := New(devConfig("a"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	const n = 5000
	for i := range n {
		if err := a.Send(ctx, "b", make([]byte, 100+i%7)); err != nil {
			t.Fatal(err)
		}
	}
	received := make(chan int, 1)
	go func() { // the application keeps reading while its peer closes
		got := 0
		for ; got < n; got++ {
			c, cancel := context.WithTimeout(ctx, 10*time.Second)
			m, err := b.Recv(c)
			cancel()
			if err != nil {
				break
			}
			m.Release()
		}
		received <- got
	}()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-received; got != n {
		t.Fatalf("b received %d of %d messages flushed by Close", got, n)
	}
	checks := map[string]error{
		"Send":       a.Send(ctx, "b", nil),
		"TrySend":    a.TrySend("b", nil),
		"Broadcast":  a.Broadcast(ctx, nil),
		"Connect":    a.Connect(ctx, PeerConfig{NodeID: "b", Address: b.Addr().String()}),
		"Close":      a.Close(),
		"Start":      a.Start(ctx),
		"Disconnect": a.Disconnect("b"),
	}
	if _, err := a.Recv(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("Recv after Close: %v", err)
	}
	for name, err := range checks {
		if name == "Broadcast" || name == "Disconnect" {
			continue // nothing to send to / no peer: checked below
		}
		if !errors.Is(err, ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if st := a.Stats(); st.MessagesSent != n || st.MessagesDropped != 0 {
		t.Errorf("Close did not flush: %+v", st)
	}
	// b saw a goodbye, not an error.
	waitFor(t, 3*time.Second, func() bool { return b.Stats().ConnectionCount == 0 })
	if st := b.Stats(); st.ProtocolErrors != 0 {
		t.Errorf("b counted protocol errors: %+v", st)
	}
}

func TestMaxAttemptsFailsPeerAndReportsDrops(t *testing.T) {
	b, err := New(devConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := devConfig("a")
	cfg.Reconnect.InitialBackoff = 200 * time.Millisecond
	cfg.Reconnect.MaxBackoff = 300 * time.Millisecond
	cfg.Reconnect.MaxAttempts = 3
	a := startTransport(t, cfg)
	connect(t, a, b)
	_ = b.Close()
	waitFor(t, 3*time.Second, func() bool { return a.Stats().ConnectionCount == 0 })
	// Queue a few messages while it is reconnecting, then let it fail.
	queued := 0
	for range 10 {
		if err := a.TrySend("b", []byte("lost?")); err == nil {
			queued++
		}
	}
	if queued == 0 {
		t.Fatal("nothing could be queued while reconnecting")
	}
	waitFor(t, 10*time.Second, func() bool { return a.Peers()[0].State == StateFailed })
	// The lane turns Failed first (so no send can slip in after its queue
	// is drained), then drops and counts what it held: wait for the count.
	waitFor(t, 3*time.Second, func() bool { return a.Stats().MessagesDropped >= uint64(queued) })
	if st := a.Stats(); st.MessagesDropped != uint64(queued) {
		t.Fatalf("%d messages queued for a peer that failed, %d reported dropped", queued, st.MessagesDropped)
	}
	if err := a.Send(context.Background(), "b", []byte("x")); !errors.Is(err, ErrPeerFailed) {
		t.Fatalf("Send to a failed peer: %v", err)
	}
}

// TestDialFailuresLogOncePerOutage: every lane of an unreachable peer
// redials with backoff; the log says so once per outage at Info (the rest
// at Debug), and again after the peer was reached in between.
func TestDialFailuresLogOncePerOutage(t *testing.T) {
	var logs logSink
	cfg := devConfig("a")
	cfg.Logger = logs.logger()
	cfg.PoolSize = 3
	cfg.Reconnect.InitialBackoff = 10 * time.Millisecond
	cfg.Reconnect.MaxBackoff = 20 * time.Millisecond
	a := startTransport(t, cfg)
	b1, addr := restartable(t, devConfig("b"))
	_ = b1.Close() // nothing listens at addr now
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.Connect(ctx, PeerConfig{NodeID: "b", Address: addr})
	infoFailures := func() (info, all int) {
		for _, r := range logs.records("dial failed") {
			all++
			if r["level"] == "INFO" {
				info++
			}
		}
		return info, all
	}
	waitFor(t, 5*time.Second, func() bool { _, all := infoFailures(); return all >= 20 })
	if info, all := infoFailures(); info != 1 {
		t.Fatalf("%d of %d dial failures logged at Info, want 1 per outage", info, all)
	}
	b2 := restartAt(t, devConfig("b"), addr)
	waitLanesActive(t, a, "b", cfg.PoolSize+1, 5*time.Second)
	_ = b2.Close()
	waitFor(t, 5*time.Second, func() bool { info, _ := infoFailures(); return info >= 2 })
	time.Sleep(100 * time.Millisecond) // several more failed redials
	if info, all := infoFailures(); info != 2 {
		t.Fatalf("%d of %d dial failures logged at Info over two outages, want 2", info, all)
	}
}
