package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

func TestTLSStrictPairExchanges(t *testing.T) {
	ca := newTestCA(t, "ca")
	a := startTransport(t, tlsConfig("a", ca.issue(t, "a", certOpts{})))
	b := startTransport(t, tlsConfig("b", ca.issue(t, "b", certOpts{})))
	connect(t, a, b)
	ctx := context.Background()
	for _, size := range []int{0, 1, 64, 64 << 10, 1 << 20} {
		p := bytes.Repeat([]byte{byte(size)}, size)
		if err := a.Send(ctx, "b", p); err != nil {
			t.Fatal(err)
		}
		m := recvTimeout(t, b, 10*time.Second)
		if m.From != "a" || !bytes.Equal(m.Payload, p) {
			t.Fatalf("%d bytes: got %d bytes from %q", size, len(m.Payload), m.From)
		}
		m.Release()
		if err := b.Send(ctx, "a", p); err != nil {
			t.Fatal(err)
		}
		m = recvTimeout(t, a, 10*time.Second)
		if !bytes.Equal(m.Payload, p) {
			t.Fatalf("reply of %d bytes corrupted", size)
		}
		m.Release()
	}
}

// rawTLSClient dials tr over TLS as a bare crypto/tls client (optionally
// with a certificate), sends a hello for nodeID and returns the connection.
func rawTLSClient(t *testing.T, tr *Transport, ca *testCA, cert *tlsstate.Config, nodeID string) (*tls.Conn, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	tc := &tls.Config{RootCAs: pool, ServerName: tr.cfg.NodeID, MinVersion: tls.VersionTLS13}
	if cert != nil {
		kp, err := tls.LoadX509KeyPair(cert.CertPath, cert.KeyPath)
		if err != nil {
			t.Fatal(err)
		}
		tc.Certificates = []tls.Certificate{kp}
	}
	c, err := tls.Dial("tcp", tr.Addr().String(), tc)
	if err != nil {
		return nil, err
	}
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 42, NodeID: nodeID}
	_, err = c.Write(codec.AppendHello(nil, h))
	return c, err
}

func TestTLSPermissiveWithoutClientCert(t *testing.T) {
	ca := newTestCA(t, "ca")
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	bcfg.SecurityMode = Permissive
	bcfg.TLS.RequireClientAuth = false
	bcfg.TLS.NodeIDVerification = tlsstate.NodeIDNone
	b := startTransport(t, bcfg)
	c, err := rawTLSClient(t, b, ca, nil, "anon")
	if err != nil {
		t.Fatalf("anonymous TLS client refused by a Permissive listener: %v", err)
	}
	defer c.Close()
	readFrame(t, c) // the listener's hello: accepted
	if _, err := c.Write(codec.AppendFrame(nil, 0, []byte("hi"))); err != nil {
		t.Fatal(err)
	}
	if m := recvTimeout(t, b, 5*time.Second); m.From != "anon" || string(m.Payload) != "hi" {
		t.Fatalf("got %q from %q", m.Payload, m.From)
	}
	// The same client is refused by a Strict listener.
	s := startTransport(t, tlsConfig("s", ca.issue(t, "s", certOpts{})))
	if c2, err := rawTLSClient(t, s, ca, nil, "anon"); err == nil {
		defer c2.Close()
		expectClosed(t, c2, 5*time.Second)
	}
	waitFor(t, 3*time.Second, func() bool { return s.Stats().HandshakeFailures["tls"] == 1 })
}

// TestTLSRefusals dials a Strict listener with bad credentials. Each must
// fail with ErrHandshakeFailed or ErrTimeout/ErrClosed for the client, be
// counted by the listener, deliver nothing, and not disturb a good peer.
func TestTLSRefusals(t *testing.T) {
	ca := newTestCA(t, "ca")
	other := newTestCA(t, "other")
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	bcfg.ConnectTimeout = time.Second
	b := startTransport(t, bcfg)
	good := startTransport(t, tlsConfig("good", ca.issue(t, "good", certOpts{})))
	connect(t, good, b)
	stop := keepTraffic(t, good, b)

	// A server certified by CN only (its SAN names someone else), as its
	// own CommonName verification accepts; a dialer checking SANs refuses it.
	sanCfg := ca.issue(t, "san", certOpts{cn: "san", sans: []string{"someone-else"}})

	// Bare crypto/tls clients: no certificate, an expired one, a foreign CA's.
	rawCases := []struct {
		name string
		cert *tlsstate.Config
	}{
		{"client without certificate", nil},
		{"expired certificate", ca.issue(t, "expired", certOpts{expired: true})},
		{"certificate from another CA", other.issue(t, "foreign", certOpts{})},
	}
	for _, tc := range rawCases {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Stats().HandshakeFailures["tls"]
			c, err := rawTLSClient(t, b, ca, tc.cert, "intruder")
			if err == nil {
				expectClosed(t, c, 5*time.Second)
				c.Close()
			}
			waitFor(t, 3*time.Second, func() bool { return b.Stats().HandshakeFailures["tls"] > before })
		})
	}

	// The engine's own dialer with bad credentials.
	cases := []struct {
		name  string
		id    string
		tc    *tlsstate.Config
		cause string
	}{
		{"engine with another CA", "foreign2", other.issue(t, "foreign2", certOpts{}), "tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Stats().HandshakeFailures[tc.cause]
			cfg := tlsConfig(tc.id, tc.tc)
			cfg.Reconnect.Enabled = false
			c, err := New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := c.Start(ctx); err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Connect(ctx, PeerConfig{NodeID: "b", Address: b.Addr().String()})
			if err == nil {
				t.Fatal("Connect succeeded")
			}
			if !errors.Is(err, ErrHandshakeFailed) {
				t.Fatalf("Connect error %v is not a handshake failure", err)
			}
			waitFor(t, 3*time.Second, func() bool { return b.Stats().HandshakeFailures[tc.cause] > before })
			for _, p := range b.Peers() {
				if p.NodeID == tc.id {
					t.Fatalf("refused node %s is listed as a peer", tc.id)
				}
			}
		})
	}
	// CN mismatch: a client certified as alice claims to be mallory. (The
	// engine refuses to start as a node its own certificate does not name,
	// TestOwnCertificateMustNameTheNode, so a raw client plays it.)
	t.Run("CN mismatch", func(t *testing.T) {
		before := b.Stats().HandshakeFailures["node_id_mismatch"]
		c, err := rawTLSClient(t, b, ca, ca.issue(t, "mallory", certOpts{cn: "alice", sans: []string{"alice"}}), "mallory")
		if err == nil {
			expectClosed(t, c, 5*time.Second)
			c.Close()
		}
		waitFor(t, 3*time.Second, func() bool { return b.Stats().HandshakeFailures["node_id_mismatch"] > before })
		for _, p := range b.Peers() {
			if p.NodeID == "mallory" {
				t.Fatal("refused node mallory is listed as a peer")
			}
		}
	})
	// SAN mismatch: the dialer verifies the server; a server whose SAN does
	// not name the expected node is refused by the client.
	t.Run("SAN mismatch (server)", func(t *testing.T) {
		scfg := tlsConfig("san", sanCfg)
		s := startTransport(t, scfg)
		ccfg := ca.issue(t, "client", certOpts{})
		ccfg.NodeIDVerification = tlsstate.NodeIDSubjectAltName
		cc := tlsConfig("client", ccfg)
		cc.Reconnect.Enabled = false
		c := startTransport(t, cc)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := c.Connect(ctx, PeerConfig{NodeID: "san", Address: s.Addr().String()})
		if !errors.Is(err, ErrHandshakeFailed) {
			t.Fatalf("Connect to a server whose SAN is not its node id: %v", err)
		}
	})
	sent, got := stop()
	if sent == 0 || got != sent {
		t.Fatalf("good peer disturbed: sent %d, received %d", sent, got)
	}
	if n := b.Stats().MessagesReceived; n != uint64(got) {
		t.Fatalf("listener received %d messages, only the good peer's %d expected", n, got)
	}
}

func TestTLSAndPlaintextMismatch(t *testing.T) {
	ca := newTestCA(t, "ca")
	tlsNode := startTransport(t, tlsConfig("tlsnode", ca.issue(t, "tlsnode", certOpts{})))
	plainNode := startTransport(t, devConfig("plain"))

	// A plaintext peer at a TLS listener.
	before := tlsNode.Stats().HandshakeFailures["tls"]
	nc, err := net.Dial("tcp", tlsNode.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_, _ = nc.Write(codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1, Window: 1, NodeID: "plain"}))
	expectClosed(t, nc, 5*time.Second)
	nc.Close()
	waitFor(t, 3*time.Second, func() bool { return tlsNode.Stats().HandshakeFailures["tls"] > before })

	// A TLS client at a plaintext listener.
	before = plainNode.Stats().HandshakeFailures["protocol"]
	conn, err := tls.Dial("tcp", plainNode.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Fatal("TLS handshake with a plaintext listener succeeded")
	}
	waitFor(t, 3*time.Second, func() bool { return plainNode.Stats().HandshakeFailures["protocol"] > before })

	// The engine's own dialer, both ways round, fails cleanly.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := plainNode.Connect(ctx, PeerConfig{NodeID: "tlsnode", Address: tlsNode.Addr().String()}); err == nil {
		t.Fatal("plaintext dialer connected to a TLS listener")
	}
	if err := tlsNode.Connect(ctx, PeerConfig{NodeID: "plain", Address: plainNode.Addr().String()}); err == nil {
		t.Fatal("TLS dialer connected to a plaintext listener")
	}
	if n := tlsNode.Stats().MessagesReceived + plainNode.Stats().MessagesReceived; n != 0 {
		t.Fatalf("%d messages leaked into the inbound rings", n)
	}
}

func TestTLSGoroutinesDoNotGrowWithConnections(t *testing.T) {
	ca := newTestCA(t, "ca")
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	allowConnections(&bcfg, 500)
	b := startTransport(t, bcfg)
	ccfg := tlsConfig("a", ca.issue(t, "a", certOpts{}))
	creds, err := ccfg.TLS.Load()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()
	const n = 500
	tc := creds.ClientConfig(Strict, "b")
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := tls.Dial("tcp", b.Addr().String(), tc)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 42, NodeID: "a"}
		if _, err := c.Write(codec.AppendHello(nil, h)); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitFor(t, 20*time.Second, func() bool { return b.Stats().ConnectionCount == n })
	time.Sleep(300 * time.Millisecond)
	// The Go TLS clients of this test hold no goroutines while idle; the
	// server side must not hold any per connection either.
	if grown := runtime.NumGoroutine() - base; grown > 8 {
		t.Fatalf("goroutines grew by %d with %d TLS connections", grown, n)
	}
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestOwnCertificateMustNameTheNode: a node whose own certificate does not
// name its node id (CN, or a DNS SAN, as its verification mode says) would
// be refused by every peer on every dial; New refuses it at once instead.
func TestOwnCertificateMustNameTheNode(t *testing.T) {
	ca := newTestCA(t, "ca")
	san := ca.issue(t, "bob", certOpts{cn: "bob", sans: []string{"robert"}})
	san.NodeIDVerification = tlsstate.NodeIDSubjectAltName
	cases := []struct {
		name string
		id   string
		tc   *tlsstate.Config
		ok   bool
	}{
		{"matching CN", "alice", ca.issue(t, "alice", certOpts{}), true},
		{"CN of another node", "mallory", ca.issue(t, "mallory", certOpts{cn: "alice", sans: []string{"alice"}}), false},
		{"SAN verification, id not among the SANs", "bob", san, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tlsConfig(tc.id, tc.tc))
			switch {
			case tc.ok && err != nil:
				t.Fatalf("New: %v", err)
			case !tc.ok && (!errors.Is(err, ErrInvalidConfig) || !errors.Is(err, tlsstate.ErrNodeIDMismatch)):
				t.Fatalf("New: %v; want ErrInvalidConfig and ErrNodeIDMismatch", err)
			}
		})
	}
}
