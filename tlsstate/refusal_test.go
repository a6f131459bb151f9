package tlsstate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

var strictCfg = &Config{RequireClientAuth: true, NodeIDVerification: NodeIDCommonName}

// expectHandshakeErr checks err wraps ErrHandshake and mentions want.
func expectHandshakeErr(t *testing.T, side string, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: handshake succeeded, want failure (%s)", side, want)
	}
	if !errors.Is(err, ErrHandshake) {
		t.Fatalf("%s: %v does not wrap ErrHandshake", side, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s: %q does not mention %q", side, err, want)
	}
}

func TestRefuseClientWithoutCertificate(t *testing.T) {
	p := newPKI(t)
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	// A client that trusts the CA but has no certificate.
	client := newEndpoint(&tls.Config{RootCAs: p.ca.pool(), ServerName: "node2"}, Client)
	cerr, serr := handshakePair(t, client, server)
	expectHandshakeErr(t, "server", serr, "certificate")
	t.Logf("server: %v", serr)
	// TLS 1.3: the client's handshake "succeeds"; it learns of the refusal
	// from the alert, on its first Decrypt (pitfall 5).
	if cerr != nil {
		t.Fatalf("client handshake: %v (TLS 1.3 clients finish before the server checks them)", cerr)
	}
	_, _, err := client.s.Decrypt(nil, nil, 0)
	if !errors.Is(err, ErrTLS) || !strings.Contains(err.Error(), "certificate required") {
		t.Fatalf("client's first Decrypt: %v", err)
	}
	t.Logf("client: %v", err)
	client.s.Close()
	server.s.Close()
}

func TestPermissiveAcceptsClientWithoutCertificate(t *testing.T) {
	p := newPKI(t)
	cfg := &Config{}
	server := newEndpoint(p.node2.creds(cfg, p.ca.pool()).ServerConfig(Permissive), Server)
	client := newEndpoint(&tls.Config{RootCAs: p.ca.pool(), ServerName: "node2"}, Client)
	if cerr, serr := handshakePair(t, client, server); cerr != nil || serr != nil {
		t.Fatalf("client %v server %v", cerr, serr)
	}
	// NodeId verification is off in Permissive mode.
	if v := cfg.NodeIDVerificationFor(Permissive); v != NodeIDNone {
		t.Fatalf("permissive verification %v", v)
	}
	client.s.Close()
	server.s.Close()
}

func TestRefuseCertificateFromOtherCA(t *testing.T) {
	p := newPKI(t)
	other := newTestCA(t, "other-ca")
	intruder := other.issue(t, certOpts{cn: "node1"})
	t.Run("client", func(t *testing.T) {
		server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
		client := newEndpoint(intruder.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
		_, serr := handshakePair(t, client, server)
		expectHandshakeErr(t, "server", serr, "unknown authority")
		var uae x509.UnknownAuthorityError
		if !errors.As(serr, &uae) {
			t.Errorf("server error is not an x509.UnknownAuthorityError: %v", serr)
		}
		client.s.Close()
		server.s.Close()
	})
	t.Run("server", func(t *testing.T) {
		server := newEndpoint(other.issue(t, certOpts{cn: "node2"}).creds(strictCfg, other.pool()).ServerConfig(Strict), Server)
		client := newEndpoint(p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
		cerr, serr := handshakePair(t, client, server)
		expectHandshakeErr(t, "client", cerr, "unknown authority")
		var cve *tls.CertificateVerificationError
		if !errors.As(cerr, &cve) {
			t.Errorf("client error is not a CertificateVerificationError: %v", cerr)
		}
		expectHandshakeErr(t, "server", serr, "bad certificate")
		client.s.Close()
		server.s.Close()
	})
}

func TestRefuseExpiredCertificate(t *testing.T) {
	p := newPKI(t)
	past := certOpts{notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)}
	t.Run("client", func(t *testing.T) {
		o := past
		o.cn = "node1"
		server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
		client := newEndpoint(p.ca.issue(t, o).creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
		_, serr := handshakePair(t, client, server)
		expectHandshakeErr(t, "server", serr, "expired")
		client.s.Close()
		server.s.Close()
	})
	t.Run("server", func(t *testing.T) {
		o := past
		o.cn = "node2"
		server := newEndpoint(p.ca.issue(t, o).creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
		client := newEndpoint(p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
		cerr, _ := handshakePair(t, client, server)
		expectHandshakeErr(t, "client", cerr, "expired")
		var cie x509.CertificateInvalidError
		if !errors.As(cerr, &cie) || cie.Reason != x509.Expired {
			t.Errorf("not an x509 Expired error: %v", cerr)
		}
		client.s.Close()
		server.s.Close()
	})
}

func TestNodeIDMismatchInClientConfig(t *testing.T) {
	p := newPKI(t)
	// The server's certificate says CN=node2, DNS SAN=other-name.
	sanOdd := p.ca.issue(t, certOpts{cn: "node2", dns: []string{"other-name"}})
	cases := []struct {
		name     string
		verify   NodeIDVerification
		mode     SecurityMode
		cert     *testCert
		expected string
		ok       bool
	}{
		{"cn match", NodeIDCommonName, Strict, p.node2, "node2", true},
		{"cn mismatch", NodeIDCommonName, Strict, p.node2, "node3", false},
		{"san match", NodeIDSubjectAltName, Strict, sanOdd, "other-name", true},
		{"san mismatch", NodeIDSubjectAltName, Strict, sanOdd, "node2", false},
		{"permissive ignores the id", NodeIDCommonName, Permissive, p.node2, "node3", true},
		{"legacy applies the id", NodeIDCommonName, Legacy, p.node2, "node3", false},
		{"none", NodeIDNone, Legacy, p.node2, "anything", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &Config{RequireClientAuth: true, NodeIDVerification: tc.verify}
			server := newEndpoint(tc.cert.creds(cfg, p.ca.pool()).ServerConfig(tc.mode), Server)
			client := newEndpoint(p.node1.creds(cfg, p.ca.pool()).ClientConfig(tc.mode, tc.expected), Client)
			cerr, serr := handshakePair(t, client, server)
			defer client.s.Close()
			defer server.s.Close()
			if tc.ok {
				if cerr != nil || serr != nil {
					t.Fatalf("client %v server %v", cerr, serr)
				}
				return
			}
			expectHandshakeErr(t, "client", cerr, tc.expected)
			if !errors.Is(cerr, ErrNodeIDMismatch) {
				t.Fatalf("client error does not wrap ErrNodeIDMismatch: %v", cerr)
			}
			t.Logf("client: %v", cerr)
			if serr == nil {
				t.Fatal("server did not see the refusal")
			}
		})
	}
}

func TestVerifyNodeID(t *testing.T) {
	p := newPKI(t)
	wrongSAN := p.ca.issue(t, certOpts{cn: "node1", dns: []string{"node9"}})
	// Real handshakes: the server sees each client's certificate.
	states := map[string]tls.ConnectionState{}
	for name, cert := range map[string]*testCert{"good": p.node1, "wrong san": wrongSAN} {
		server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
		client := newEndpoint(cert.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
		if cerr, serr := handshakePair(t, client, server); cerr != nil || serr != nil {
			t.Fatalf("client %v server %v", cerr, serr)
		}
		states[name] = server.s.ConnectionState()
		client.s.Close()
		server.s.Close()
	}
	cases := []struct {
		state string
		id    string
		v     NodeIDVerification
		ok    bool
	}{
		{"good", "node1", NodeIDCommonName, true},
		{"good", "node1", NodeIDSubjectAltName, true},
		{"good", "node7", NodeIDCommonName, false},
		{"good", "node7", NodeIDSubjectAltName, false},
		{"good", "node7", NodeIDNone, true},
		{"good", "", NodeIDCommonName, false},
		{"wrong san", "node1", NodeIDCommonName, true},
		{"wrong san", "node1", NodeIDSubjectAltName, false},
		{"wrong san", "node9", NodeIDSubjectAltName, true},
		{"wrong san", "node9", NodeIDCommonName, false},
	}
	for _, tc := range cases {
		err := VerifyNodeID(states[tc.state], tc.id, tc.v)
		if tc.ok != (err == nil) {
			t.Errorf("%s/%q/%v: %v", tc.state, tc.id, tc.v, err)
		}
		if err != nil {
			if !errors.Is(err, ErrNodeIDMismatch) {
				t.Errorf("%v does not wrap ErrNodeIDMismatch", err)
			}
			if tc.id != "" && !strings.Contains(err.Error(), tc.id) {
				t.Errorf("%q does not name the claimed id", err)
			}
		}
	}
	if err := VerifyNodeID(tls.ConnectionState{}, "node1", NodeIDCommonName); !errors.Is(err, ErrNodeIDMismatch) {
		t.Errorf("no certificate: %v", err)
	}
}

func TestRefusePlaintextGarbage(t *testing.T) {
	p := newPKI(t)
	for name, junk := range map[string][]byte{
		"http":  []byte("GET / HTTP/1.1\r\nHost: node2\r\n\r\n"),
		"frame": {0, 0, 0, 12, 0, 'h', 'e', 'l', 'l', 'o', ' ', 'n', 'o', 'd', 'e', '1'},
	} {
		t.Run(name, func(t *testing.T) {
			server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
			server.start(nil, time.Now().Add(10*time.Second))
			server.s.Feed(junk)
			err := recvErr(t, server.done, 10*time.Second)
			expectHandshakeErr(t, "server", err, "first record does not look like a TLS handshake")
			var rhe tls.RecordHeaderError
			if !errors.As(err, &rhe) {
				t.Errorf("not a RecordHeaderError: %v", err)
			}
			server.s.Close()
		})
	}
}

func TestHandshakeDeadline(t *testing.T) {
	p := newPKI(t)
	tc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	base := runtime.NumGoroutine()
	lim := NewLimiter(4)
	server := newEndpoint(tc, Server)
	start := time.Now()
	server.start(lim, start.Add(100*time.Millisecond))
	waitFor(t, time.Second, "handshake started", func() bool { return lim.InFlight()+lim.Parked() == 1 }) // a server with no input parks at once
	err := recvErr(t, server.done, 5*time.Second)
	if took := time.Since(start); took < 90*time.Millisecond || took > 3*time.Second {
		t.Errorf("deadline of 100ms ended after %v", took)
	}
	expectHandshakeErr(t, "server", err, "deadline")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap context.DeadlineExceeded", err)
	}
	waitFor(t, time.Second, "nothing held", func() bool { return lim.InFlight() == 0 && lim.Parked() == 0 })
	waitGoroutines(t, base)
	server.s.Close()
}

func TestCloseEndsHandshake(t *testing.T) {
	p := newPKI(t)
	base := runtime.NumGoroutine()
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	server.start(nil, time.Now().Add(time.Minute))
	time.Sleep(10 * time.Millisecond)
	server.s.Close()
	err := recvErr(t, server.done, 5*time.Second)
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrClosed) {
		t.Fatalf("%v", err)
	}
	waitGoroutines(t, base)
	// Close before StartHandshake also ends it.
	s2 := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	s2.s.Close()
	s2.start(nil, time.Now().Add(time.Minute))
	if err := recvErr(t, s2.done, 5*time.Second); !errors.Is(err, ErrClosed) {
		t.Fatalf("%v", err)
	}
	waitGoroutines(t, base)
}

func TestParentContextCancel(t *testing.T) {
	p := newPKI(t)
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	server.s.StartHandshake(ctx, nil, time.Now().Add(time.Minute), func(err error) { done <- err })
	cancel()
	if err := recvErr(t, done, 5*time.Second); !errors.Is(err, context.Canceled) || !errors.Is(err, ErrHandshake) {
		t.Fatalf("%v", err)
	}
	server.s.Close()
}

func TestHandshakeInputBounded(t *testing.T) {
	p := newPKI(t)
	// A queued handshake (no slot) still refuses a flood of input.
	lim := NewLimiter(1)
	release := holdSlots(lim, 1)
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	server.start(lim, time.Now().Add(time.Minute))
	chunk := make([]byte, 64<<10)
	for range MaxHandshakeInput/len(chunk) + 1 {
		server.s.Feed(chunk)
	}
	if n := server.s.Buffered(); n > MaxHandshakeInput {
		t.Fatalf("buffered %d bytes", n)
	}
	release()
	err := recvErr(t, server.done, 5*time.Second)
	expectHandshakeErr(t, "server", err, "more than")
	server.s.Close()
}

// TestPeerClosedLetsHandshakeReadTheAlert: a client that refuses the
// server's certificate sends an alert and hangs up at once. The server's
// event loop feeds the alert and sees end of input in the same breath;
// PeerClosed must let the running handshake read the alert, so the server
// learns why ("bad certificate"), where Close would report only ErrClosed.
func TestPeerClosedLetsHandshakeReadTheAlert(t *testing.T) {
	p := newPKI(t)
	other := newTestCA(t, "other-ca")
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	client := newEndpoint(p.node1.creds(strictCfg, other.pool()).ClientConfig(Strict, "node2"), Client)
	deadline := time.Now().Add(10 * time.Second)
	client.start(nil, deadline)
	server.start(nil, deadline)
	relay := func(from, to *Session, what string) {
		t.Helper()
		waitFor(t, 5*time.Second, what, from.HasOutput)
		to.Feed(from.TakeOutput(nil))
	}
	relay(client.s, server.s, "ClientHello")
	relay(server.s, client.s, "the server's flight")
	cerr := recvErr(t, client.done, 5*time.Second)
	expectHandshakeErr(t, "client", cerr, "unknown authority")
	alert := client.s.TakeOutput(nil)
	if len(alert) == 0 {
		t.Fatal("the refusing client wrote no alert")
	}
	server.s.Feed(alert)
	server.s.PeerClosed()
	serr := recvErr(t, server.done, 5*time.Second)
	expectHandshakeErr(t, "server", serr, "bad certificate")
	if errors.Is(serr, ErrClosed) {
		t.Fatalf("server: %v is ErrClosed", serr)
	}
	server.s.Close()
	client.s.Close()
}

// TestPeerClosedWithNothingFedEndsTheHandshake: with no input left to
// read, a handshake cannot learn anything more: PeerClosed ends it at once,
// on the end of input (not ErrClosed, which would hide a read alert).
func TestPeerClosedWithNothingFedEndsTheHandshake(t *testing.T) {
	p := newPKI(t)
	server := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	server.start(nil, time.Now().Add(10*time.Second))
	server.s.PeerClosed()
	err := recvErr(t, server.done, 5*time.Second)
	if !errors.Is(err, ErrHandshake) || !errors.Is(err, io.EOF) || errors.Is(err, ErrClosed) {
		t.Fatalf("handshake ended with %v, want ErrHandshake wrapping io.EOF", err)
	}
	server.s.Close()
}
