package engine

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// rawHello dials tr and completes the application handshake by hand,
// returning the raw socket.
func rawHello(t testing.TB, tr *Transport, id string) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", tr.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: uint64(time.Now().UnixNano()), NodeID: id}
	if _, err := nc.Write(codec.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	readFrame(t, nc) // the transport's hello
	return nc
}

// readFrame reads one frame from a raw socket, within five seconds.
func readFrame(t testing.TB, nc net.Conn) codec.Frame {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	return readFrameFrom(t, nc)
}

// readFrameFrom reads one frame from r.
func readFrameFrom(t testing.TB, r io.Reader) codec.Frame {
	t.Helper()
	var hdr [codec.HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatalf("read frame header: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(hdr[:])-1)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read frame body: %v", err)
	}
	return codec.Frame{Flags: hdr[4], Payload: body}
}

// expectClosed waits until the transport closes the raw socket.
func expectClosed(t *testing.T, nc net.Conn, within time.Duration) {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(within))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("connection still open after %v", within)
		}
		return // EOF or reset: closed
	}
}

// keepTraffic streams messages a -> b until stop, and returns a function
// that reports how many were sent and received intact.
func keepTraffic(t *testing.T, a, b *Transport) (stop func() (sent, got int64)) {
	var sent, got atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil && i < 1_000_000; i++ {
			var p [8]byte
			binary.BigEndian.PutUint64(p[:], uint64(i))
			if a.Send(ctx, b.cfg.NodeID, p[:]) == nil {
				sent.Add(1)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() {
		defer wg.Done()
		for {
			m, err := b.Recv(ctx)
			if err != nil {
				return
			}
			if m.From == a.cfg.NodeID && len(m.Payload) == 8 {
				got.Add(1)
			}
			m.Release()
		}
	}()
	return func() (int64, int64) {
		deadline := time.Now().Add(5 * time.Second)
		time.Sleep(50 * time.Millisecond)
		cancel()
		wg.Wait()
		// drain what is still in flight
		for got.Load() < sent.Load() && time.Now().Before(deadline) {
			c2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
			if m, err := b.Recv(c2); err == nil {
				got.Add(1)
				m.Release()
			}
			cancel2()
		}
		return sent.Load(), got.Load()
	}
}

func TestHostileRawPeers(t *testing.T) {
	acfg, bcfg := devConfig("a"), devConfig("b")
	bcfg.ConnectTimeout = 500 * time.Millisecond
	bcfg.MaxMessageSize = 1 << 20
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	stop := keepTraffic(t, a, b)

	dataFrame := func(flags byte, payload []byte) []byte { return codec.AppendFrame(nil, flags, payload) }
	tests := []struct {
		name  string
		hello bool   // complete the handshake first
		send  []byte // then write these bytes
		check func(Stats) uint64
	}{
		{"reserved flag bit", true, dataFrame(0x80, []byte("x")), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"reserved flag bit 3", true, dataFrame(0x08, []byte("x")), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"length above limit", true, binary.BigEndian.AppendUint32(nil, 1<<20+2+codec.TagSize), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"untagged length above limit", true, append(binary.BigEndian.AppendUint32(nil, 1<<20+2), 0), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"tagged frame shorter than its tag", true, dataFrame(codec.FlagTagged, []byte{1, 2}), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"tagged frame of unknown kind", true, dataFrame(codec.FlagTagged, []byte{99, 0, 0, 0, 0, 0, 0, 0, 1}), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"stream data too large", true, dataFrame(codec.FlagTagged, append([]byte{codec.KindStreamData, 0, 0, 0, 0, 0, 0, 0, 1}, make([]byte, codec.MaxStreamChunk+1)...)), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"zero length", true, []byte{0, 0, 0, 0, 0}, func(s Stats) uint64 { return s.ProtocolErrors }},
		{"compressed without negotiation", true, dataFrame(codec.FlagCompressed, []byte{4, 1, 2, 3}), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"bad control frame", true, dataFrame(codec.FlagControl, []byte{99}), func(s Stats) uint64 { return s.ProtocolErrors }},
		{"garbage handshake", false, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), func(s Stats) uint64 { return s.HandshakeFailures["protocol"] }},
		{"data before hello", false, dataFrame(0, []byte("hi")), func(s Stats) uint64 { return s.HandshakeFailures["protocol"] }},
		{"oversized hello", false, binary.BigEndian.AppendUint32(nil, 100_000), func(s Stats) uint64 { return s.HandshakeFailures["protocol"] }},
		{"wrong version", false, func() []byte {
			f := codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1, Window: 1, NodeID: "v"})
			f[codec.HeaderSize+1] = 9
			return f
		}(), func(s Stats) uint64 { return s.HandshakeFailures["version"] }},
		{"handshake never comes", false, nil, func(s Stats) uint64 { return s.HandshakeFailures["timeout"] }},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.check(b.Stats())
			var nc net.Conn
			if tc.hello {
				nc = rawHello(t, b, "raw"+string(rune('a'+i)))
			} else {
				var err error
				if nc, err = net.Dial("tcp", b.Addr().String()); err != nil {
					t.Fatal(err)
				}
			}
			defer nc.Close()
			if tc.send != nil {
				if _, err := nc.Write(tc.send); err != nil {
					t.Fatal(err)
				}
			}
			expectClosed(t, nc, 3*time.Second)
			deadline := time.Now().Add(2 * time.Second)
			for tc.check(b.Stats()) == before && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			if got := tc.check(b.Stats()); got != before+1 {
				t.Fatalf("counter went %d -> %d, want +1; stats %+v", before, got, b.Stats())
			}
		})
	}
	sent, got := stop()
	if sent == 0 || got != sent {
		t.Fatalf("good peer's traffic disturbed: sent %d, received %d", sent, got)
	}
	for _, p := range b.Peers() {
		if p.NodeID != "a" {
			t.Errorf("a refused raw client is still listed as peer %q", p.NodeID)
		}
	}
}

func TestGoroutinesDoNotGrowWithConnections(t *testing.T) {
	const n = 500
	cfg := devConfig("b")
	allowConnections(&cfg, n)
	b := startTransport(t, cfg)
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	conns := make([]net.Conn, n)
	for i := range conns {
		conns[i] = rawHello(t, b, "c"+itoa(i))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for b.Stats().ConnectionCount < n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := b.Stats().ConnectionCount; got != n {
		t.Fatalf("%d established connections, want %d", got, n)
	}
	time.Sleep(200 * time.Millisecond) // let handshake timers that fired finish
	if grown := runtime.NumGoroutine() - base; grown > 5 {
		t.Fatalf("goroutines grew by %d with %d connections (base %d)", grown, n, base)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// TestPeerIgnoringCreditWhileStalled: with the inbound ring full nothing is
// delivered, so the window check on delivery never runs; a peer that keeps
// sending past its credit must still be cut off (gnet keeps reading the
// socket whatever the engine does), over plaintext and over TLS.
func TestPeerIgnoringCreditWhileStalled(t *testing.T) {
	ca := newTestCA(t, "ca")
	for _, mode := range []string{"plain", "tls"} {
		t.Run(mode, func(t *testing.T) {
			b, nc := floodIgnoringCredit(t, ca, mode, func(cfg *Config) {
				cfg.RecvBufferSize = 4 // nobody calls Recv: the ring fills at once
			})
			expectClosed(t, nc, 10*time.Second)
			waitFor(t, 5*time.Second, func() bool { return b.Stats().ProtocolErrors == 1 })
			if st := b.Stats(); st.RecvStalls == 0 || st.RecvQueueDepth != 4 {
				t.Fatalf("the ring never filled (stalls %d, depth %d): the test missed the stalled path", st.RecvStalls, st.RecvQueueDepth)
			}
		})
	}
}

// floodIgnoringCredit starts node b (plaintext, or Strict mTLS with mode
// "tls") with a 64 KiB window and message size, changed by tune, and a raw
// peer that completes the handshake and then sends 2 MiB of 1 KiB frames,
// ten times what the window and one frame allow, whatever the credit.
func floodIgnoringCredit(t *testing.T, ca *testCA, mode string, tune func(*Config)) (*Transport, net.Conn) {
	t.Helper()
	cfg := devConfig("b")
	var client *tls.Config
	if mode == "tls" {
		cfg = tlsConfig("b", ca.issue(t, "b", certOpts{}))
		creds, err := tlsConfig("raw", ca.issue(t, "raw", certOpts{})).TLS.Load()
		if err != nil {
			t.Fatal(err)
		}
		client = creds.ClientConfig(Strict, "b")
	}
	cfg.ReceiveWindow = 64 << 10
	cfg.MaxMessageSize = 64 << 10
	tune(&cfg)
	b := startTransport(t, cfg)
	nc, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if client != nil {
		nc = tls.Client(nc, client)
	}
	t.Cleanup(func() { nc.Close() })
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 7, NodeID: "raw"}
	if _, err := nc.Write(codec.AppendHello(nil, h)); err != nil {
		t.Fatal(err)
	}
	readFrame(t, nc) // b's hello
	frame := codec.AppendFrame(nil, 0, make([]byte, 1<<10))
	go func() {
		for range 2048 {
			if _, err := nc.Write(frame); err != nil {
				return
			}
		}
	}()
	return b, nc
}

// TestBroadcastDoesNotWaitForStuckPeers: peers that never grant credit
// fill their queues; a Broadcast returns at once, with ErrQueueFull for
// each stuck peer (named) and the healthy peer's copy queued, however many
// Broadcasts follow. (Waiting for room at the stuck peers, even after
// serving the others first, held every later Broadcast back by its whole
// context.)
func TestBroadcastDoesNotWaitForStuckPeers(t *testing.T) {
	cfg := devConfig("a")
	cfg.MaxPendingMessages = 4
	cfg.CloseTimeout = 200 * time.Millisecond // the stuck peers' queues never drain
	a := startTransport(t, cfg)
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	for i := range 3 {
		id := "stuck" + itoa(i)
		rawClassConn(t, a, id, codec.ClassBulk, 0, 1, uint64(time.Now().UnixNano())|1) // one byte of credit, never more
		waitFor(t, 5*time.Second, func() bool { return a.peer(id) != nil })
		for range 2 { // until its queue is full, after the loop wrote the one message its credit allows
			for a.TrySend(id, []byte("fill")) == nil {
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for round := range 20 {
		err := a.Broadcast(ctx, []byte("news"))
		for i := range 3 {
			if !strings.Contains(err.Error(), "send to stuck"+itoa(i)+":") {
				t.Fatalf("round %d: Broadcast: %v; want stuck%d named", round, err, i)
			}
		}
		if !errors.Is(err, ErrQueueFull) || strings.Contains(err.Error(), "send to b:") {
			t.Fatalf("round %d: Broadcast: %v; want ErrQueueFull for the stuck peers only", round, err)
		}
		m := recvTimeout(t, b, 5*time.Second)
		if string(m.Payload) != "news" {
			t.Fatalf("round %d: b got %q", round, m.Payload)
		}
		m.Release()
	}
}
