package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// TestOpenSSLClientAgainstStrictListener checks interoperability with
// ordinary TLS tooling: openssl s_client with a valid client certificate
// completes a TLS 1.3 handshake with a Strict listener.
func TestOpenSSLClientAgainstStrictListener(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed: skipping the interoperability test (.ci/run installs it)")
	}
	ca := newTestCA(t, "ca")
	b := startTransport(t, tlsConfig("b", ca.issue(t, "b", certOpts{})))
	client := ca.issue(t, "client", certOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "openssl", "s_client", "-connect", b.Addr().String(),
		"-tls1_3", "-cert", client.CertPath, "-key", client.KeyPath, "-CAfile", ca.path,
		"-verify_return_error", "-servername", "b")
	cmd.Stdin = strings.NewReader("") // EOF after the handshake: s_client exits
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil && !strings.Contains(out.String(), "Verify return code: 0") {
		t.Fatalf("openssl s_client: %v\n%s", err, out.String())
	}
	for _, want := range []string{"TLSv1.3", "Verify return code: 0 (ok)"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("openssl output lacks %q:\n%s", want, out.String())
		}
	}
	// openssl never sent a hello frame: the listener counts it and carries on.
	good := startTransport(t, tlsConfig("good", ca.issue(t, "good", certOpts{})))
	connect(t, good, b)
	if err := good.Send(ctx, "b", []byte("after openssl")); err != nil {
		t.Fatal(err)
	}
	if m := recvTimeout(t, b, 5*time.Second); string(m.Payload) != "after openssl" {
		t.Fatalf("got %q", m.Payload)
	}
}

// TestSilentConnectionFlood opens 1000 TCP connections that never send a
// ClientHello. Established peers must keep exchanging messages, and every
// silent connection must be closed by the handshake deadline, leaving no
// goroutine behind.
func TestSilentConnectionFlood(t *testing.T) {
	ca := newTestCA(t, "ca")
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	bcfg.ConnectTimeout = time.Second
	bcfg.HandshakeConcurrency = 32
	allowConnections(&bcfg, 1000)
	b := startTransport(t, bcfg)
	good := startTransport(t, tlsConfig("good", ca.issue(t, "good", certOpts{})))
	connect(t, good, b)
	time.Sleep(200 * time.Millisecond)
	base := runtime.NumGoroutine()
	stop := keepTraffic(t, good, b)

	const n = 1000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	for range n {
		c, err := net.Dial("tcp", b.Addr().String())
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	// Every silent connection is closed by the server within the deadline
	// (plus scheduling slack), not left to linger.
	closed := 0
	buf := make([]byte, 1)
	for _, c := range conns {
		_ = c.SetReadDeadline(start.Add(bcfg.ConnectTimeout + 5*time.Second))
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("a silent connection outlived the %v handshake deadline", bcfg.ConnectTimeout)
			}
			closed++
		}
	}
	if closed != n {
		t.Fatalf("%d of %d silent connections closed", closed, n)
	}
	sent, got := stop()
	if sent == 0 || got != sent {
		t.Fatalf("established peer stalled: sent %d, received %d", sent, got)
	}
	st := b.Stats()
	if fails := st.HandshakeFailures["timeout"] + st.HandshakeFailures["tls"]; fails < n {
		t.Fatalf("%d silent connections counted as failed handshakes, want %d", fails, n)
	}
	waitFor(t, 5*time.Second, func() bool { return runtime.NumGoroutine() <= base+8 })
	t.Logf("1000 silent connections closed in %v; good peer sent %d messages meanwhile", time.Since(start), sent)
}

func TestValidateSecurityTable(t *testing.T) {
	secure := tlsstate.NewSecureConfig("c.pem", "k.pem", "ca.pem")
	noClientAuth := *secure
	noClientAuth.RequireClientAuth = false
	noNodeID := *secure
	noNodeID.NodeIDVerification = tlsstate.NodeIDNone
	tests := []struct {
		mode SecurityMode
		tls  *tlsstate.Config
		want error
	}{
		{Strict, nil, ErrTLSRequired},
		{Strict, &noClientAuth, ErrMTLSRequired},
		{Strict, &noNodeID, ErrNodeIDVerificationRequired},
		{Strict, secure, nil},
		{Permissive, nil, ErrTLSRequired},
		{Permissive, &noClientAuth, nil},
		{Permissive, &noNodeID, nil},
		{Permissive, secure, nil},
		{Development, nil, nil},
		{Development, secure, nil},
		{Legacy, nil, nil},
		{Legacy, secure, nil},
	}
	for _, tc := range tests {
		cfg := NewConfig("n", "127.0.0.1:0")
		cfg.SecurityMode, cfg.TLS = tc.mode, tc.tls
		err := cfg.ValidateSecurity()
		if (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%v with %+v: %v, want %v", tc.mode, tc.tls, err, tc.want)
		}
		if tc.want != nil {
			if _, err := New(cfg); !errors.Is(err, tc.want) {
				t.Errorf("New refused %v with %v, want %v", tc.mode, err, tc.want)
			}
		}
	}
}
