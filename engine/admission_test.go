package engine

import (
	"context"
	"crypto/tls"
	"net"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// dialRaw opens a plain TCP connection to tr.
func dialRaw(t *testing.T, tr *Transport) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", tr.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// helloOf is the encoded hello of a raw client with that node id.
func helloOf(id string) []byte {
	return codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 7, NodeID: id})
}

// answered reports whether tr answers a raw hello on nc with its own.
func answered(nc net.Conn, id string) bool {
	if _, err := nc.Write(helloOf(id)); err != nil {
		return false
	}
	_ = nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	var hdr [codec.HeaderSize]byte
	_, err := nc.Read(hdr[:])
	return err == nil
}

// TestConnectionLimits: each limit admits exactly its number of
// connections, refuses the next one (closed without an answer, counted
// under its name), and admits again once one of them has gone.
func TestConnectionLimits(t *testing.T) {
	cases := []struct {
		name  string
		tune  func(*Config)
		limit int
		ids   func(i int) string
	}{
		{"max_inbound_connections", func(c *Config) { c.MaxInboundConnections = 3 }, 3, func(i int) string { return "n" + itoa(i) }},
		{"max_connections_per_address", func(c *Config) { c.MaxConnectionsPerAddress = 4 }, 4, func(i int) string { return "n" + itoa(i) }},
		{"max_connections_per_peer", func(c *Config) { c.MaxConnectionsPerPeer = 2 }, 2, func(int) string { return "same" }},
		{"memory_budget", func(c *Config) { c.MemoryBudget, c.ConnMemoryReserve = 4<<20, 1<<20 }, 4, func(i int) string { return "n" + itoa(i) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := devConfig("b")
			tc.tune(&cfg)
			b := startTransport(t, cfg)
			var admitted []net.Conn
			for i := range tc.limit {
				nc := dialRaw(t, b)
				if !answered(nc, tc.ids(i)) {
					t.Fatalf("connection %d of %d refused", i+1, tc.limit)
				}
				admitted = append(admitted, nc)
			}
			over := dialRaw(t, b)
			if answered(over, tc.ids(tc.limit)) {
				t.Fatalf("connection %d admitted over the limit of %d", tc.limit+1, tc.limit)
			}
			waitFor(t, 5*time.Second, func() bool { return b.Stats().HandshakeFailures["overloaded"] == 1 }) // ErrOverloaded's cause
			if n := b.Stats().ConnectionsRefused[tc.name]; n != 1 {
				t.Fatalf("refused under %s: %d, want 1 (%v)", tc.name, n, b.Stats().ConnectionsRefused)
			}
			admitted[0].Close()
			waitFor(t, 5*time.Second, func() bool { return b.Stats().ConnectionCount == tc.limit-1 })
			if !answered(dialRaw(t, b), tc.ids(0)) {
				t.Fatal("a connection was refused after one of the admitted ones closed")
			}
		})
	}
}

// TestHandshakeIdleTimeout: a connection that sends nothing, or trickles
// its hello a byte at a time, is cut once HandshakeIdleTimeout passes (well
// before ConnectTimeout), and counted; one whose hello is in is not.
func TestHandshakeIdleTimeout(t *testing.T) {
	cfg := devConfig("b")
	cfg.HandshakeIdleTimeout = 200 * time.Millisecond
	cfg.ConnectTimeout = 30 * time.Second
	b := startTransport(t, cfg)
	silent := dialRaw(t, b)
	trickle := dialRaw(t, b)
	hello := helloOf("slow")
	go func() {
		for _, c := range hello[:len(hello)-1] {
			if _, err := trickle.Write([]byte{c}); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	prompt := dialRaw(t, b)
	if !answered(prompt, "prompt") {
		t.Fatal("a prompt hello was refused")
	}
	expectClosed(t, silent, 5*time.Second)
	expectClosed(t, trickle, 5*time.Second)
	if st := b.Stats(); st.HandshakeIdleTimeouts != 2 || st.HandshakeFailures["timeout"] != 2 {
		t.Fatalf("idle timeouts %d, handshake timeouts %d; want 2 and 2", st.HandshakeIdleTimeouts, st.HandshakeFailures["timeout"])
	}
	if closedWithin(prompt, 300*time.Millisecond) {
		t.Fatal("the idle deadline cut a connection whose hello had arrived")
	}
}

// clientHello returns the first flight of a TLS client for tc: what a
// peer that stalls right after its ClientHello sends.
func clientHello(t *testing.T, tc *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = tls.Client(a, tc).Handshake() }()
	buf := make([]byte, 16<<10)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

// TestStalledHandshakesDoNotDelayNewOnes: 300 peers send a valid
// ClientHello and then nothing, against 4 handshake slots. A legitimate
// peer's Connect still completes at once, well inside ConnectTimeout:
// handshakes waiting for their peer hold no slot. (When they held one, the
// legitimate handshake queued behind all 300.)
func TestStalledHandshakesDoNotDelayNewOnes(t *testing.T) {
	ca := newTestCA(t, "ca")
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	bcfg.HandshakeConcurrency = 4
	bcfg.ConnectTimeout = 5 * time.Second
	const stalled = 300
	allowConnections(&bcfg, stalled)
	b := startTransport(t, bcfg)
	acfg := tlsConfig("a", ca.issue(t, "a", certOpts{}))
	creds, err := acfg.TLS.Load()
	if err != nil {
		t.Fatal(err)
	}
	ch := clientHello(t, creds.ClientConfig(Strict, "b"))
	for range stalled {
		if _, err := dialRaw(t, b).Write(ch); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 5*time.Second, func() bool { return b.hsLimiter.Parked() >= stalled })
	a := startTransport(t, acfg)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), bcfg.ConnectTimeout)
	defer cancel()
	if err := a.Connect(ctx, PeerConfig{NodeID: "b", Address: b.Addr().String()}); err != nil {
		t.Fatalf("Connect behind %d stalled handshakes: %v", stalled, err)
	}
	if took := time.Since(start); took > bcfg.ConnectTimeout/2 {
		t.Fatalf("Connect took %v behind %d stalled handshakes (ConnectTimeout %v)", took, stalled, bcfg.ConnectTimeout)
	}
	t.Logf("Connect took %v behind %d stalled handshakes holding no slot", time.Since(start), stalled)
}

// TestPartialHelloTimesOut: a hello that stops half way is cut by
// FrameTimeout when HandshakeIdleTimeout is longer (the ticker's check of
// a connection with no lane yet once crashed the node).
func TestPartialHelloTimesOut(t *testing.T) {
	cfg := devConfig("b")
	cfg.FrameTimeout = 100 * time.Millisecond
	cfg.HandshakeIdleTimeout = 30 * time.Second
	b := startTransport(t, cfg)
	nc := dialRaw(t, b)
	hello := helloOf("half")
	if _, err := nc.Write(hello[:len(hello)/2]); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, nc, 5*time.Second)
	if st := b.Stats(); st.HandshakeFailures["timeout"] != 1 || st.HandshakeIdleTimeouts != 0 {
		t.Fatalf("handshake timeouts %d, idle timeouts %d: want the frame timeout to cut it", st.HandshakeFailures["timeout"], st.HandshakeIdleTimeouts)
	}
}

// TestFullNodeEvictsOldestHandshake: at MaxInboundConnections with every
// connection still in its handshake, a newcomer is admitted and the oldest
// of them is evicted (counted); at the limit with every connection
// established, a newcomer is refused instead.
func TestFullNodeEvictsOldestHandshake(t *testing.T) {
	cfg := devConfig("b")
	cfg.MaxInboundConnections = 3
	cfg.HandshakeIdleTimeout = 30 * time.Second
	b := startTransport(t, cfg)
	var silent []net.Conn
	for range 3 {
		silent = append(silent, dialRaw(t, b))
		time.Sleep(20 * time.Millisecond) // an order of arrival
	}
	if !answered(dialRaw(t, b), "newcomer") {
		t.Fatal("a newcomer was refused while the node held only connections in their handshake")
	}
	expectClosed(t, silent[0], 5*time.Second)
	if closedWithin(silent[1], 100*time.Millisecond) || closedWithin(silent[2], 100*time.Millisecond) {
		t.Fatal("a younger handshake was evicted instead of the oldest")
	}
	if st := b.Stats(); st.HandshakesEvicted != 1 || st.ConnectionsRefused["max_inbound_connections"] != 0 {
		t.Fatalf("evicted %d, refused %d; want 1 and 0", st.HandshakesEvicted, st.ConnectionsRefused["max_inbound_connections"])
	}
	for i := range 2 { // the two silent ones make way; then all three are established
		if !answered(dialRaw(t, b), "late"+itoa(i)) {
			t.Fatalf("newcomer %d refused", i)
		}
	}
	if answered(dialRaw(t, b), "one-too-many") {
		t.Fatal("admitted over the limit with every connection established")
	}
	if n := b.Stats().ConnectionsRefused["max_inbound_connections"]; n != 1 {
		t.Fatalf("refused %d, want 1", n)
	}
}
