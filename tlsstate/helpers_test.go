package tlsstate

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"
)

// endpoint is a Session plus the channels its callbacks signal; the test
// goroutine plays the event loop.
type endpoint struct {
	s    *Session
	done chan error
	wake chan struct{}
}

func newEndpoint(tc *tls.Config, role Role) *endpoint {
	e := &endpoint{done: make(chan error, 1), wake: make(chan struct{}, 1)}
	e.s = NewSession(tc, role, func() {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	})
	return e
}

func (e *endpoint) start(lim *Limiter, deadline time.Time) {
	e.s.StartHandshake(context.Background(), lim, deadline, func(err error) { e.done <- err })
}

// shuttle moves pending output between the two sessions through Feed and
// reports whether anything moved.
func shuttle(a, b *Session) bool {
	moved := false
	if out := a.TakeOutput(nil); len(out) > 0 {
		b.Feed(out)
		moved = true
	}
	if out := b.TakeOutput(nil); len(out) > 0 {
		a.Feed(out)
		moved = true
	}
	return moved
}

// handshakePair runs both handshakes to completion (or failure), relaying
// bytes like two event loops connected by a socket.
func handshakePair(t testing.TB, c, s *endpoint) (cerr, serr error) {
	t.Helper()
	return handshakePairLimited(t, c, s, nil)
}

// handshakePairLimited is handshakePair with the server's handshake under
// lim.
func handshakePairLimited(t testing.TB, c, s *endpoint, lim *Limiter) (cerr, serr error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	c.start(nil, deadline)
	s.start(lim, deadline)
	var cDone, sDone bool
	timeout := time.After(15 * time.Second)
	for !cDone || !sDone {
		shuttle(c.s, s.s)
		select {
		case cerr = <-c.done:
			cDone = true
		case serr = <-s.done:
			sDone = true
		case <-c.wake:
		case <-s.wake:
		case <-timeout:
			t.Fatalf("handshake did not finish (client done %v, server done %v)", cDone, sDone)
		}
	}
	shuttle(c.s, s.s)
	return cerr, serr
}

// pki is a CA with two node certificates, node1 (client) and node2 (server).
type pki struct {
	ca           *testCA
	node1, node2 *testCert
}

func newPKI(t fataler) *pki {
	ca := newTestCA(t, "test-ca")
	return &pki{ca: ca, node1: ca.issue(t, certOpts{cn: "node1"}), node2: ca.issue(t, certOpts{cn: "node2"})}
}

// securePair returns connected client (node1) and server (node2) sessions
// after a Strict mutual TLS 1.3 handshake.
func securePair(t testing.TB) (c, s *Session) {
	t.Helper()
	p := newPKI(t)
	cfg := &Config{RequireClientAuth: true, NodeIDVerification: NodeIDCommonName}
	ce := newEndpoint(p.node1.creds(cfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
	se := newEndpoint(p.node2.creds(cfg, p.ca.pool()).ServerConfig(Strict), Server)
	cerr, serr := handshakePair(t, ce, se)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	t.Cleanup(func() { ce.s.Close(); se.s.Close() })
	return ce.s, se.s
}

// decryptAll feeds ciphertext to s in chunks of the sizes next returns and
// returns the plaintext. Each call must consume its whole chunk.
func decryptAll(t testing.TB, s *Session, ct []byte, next func() int) []byte {
	t.Helper()
	var plain []byte
	for len(ct) > 0 {
		n := min(next(), len(ct))
		var used int
		var err error
		plain, used, err = s.Decrypt(plain, ct[:n], 0)
		if err != nil {
			t.Fatalf("Decrypt: %v", err)
		}
		if used != n {
			t.Fatalf("Decrypt consumed %d of %d bytes", used, n)
		}
		ct = ct[n:]
	}
	// Anything fed during the handshake is drained even without input.
	plain, _, err := s.Decrypt(plain, nil, 0)
	if err != nil {
		t.Fatalf("Decrypt: %v", err)
	}
	return plain
}

// send encrypts msg on a and returns the ciphertext to deliver to b.
func send(t testing.TB, a *Session, msg []byte) []byte {
	t.Helper()
	if err := a.Encrypt(msg); err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	return a.TakeOutput(nil)
}

func mustEqual(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d (first difference at %d)", what, len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitGoroutines waits until the goroutine count is back to at most base.
func waitGoroutines(t testing.TB, base int) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(end) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, baseline %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// recvErr waits for a done callback.
func recvErr(t testing.TB, ch chan error, timeout time.Duration) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(timeout):
		t.Fatal("done was not called")
		return nil
	}
}

var errNoEOF = errors.New("no EOF")

// readUntilEOF decrypts ct and expects it to end with close_notify.
func readUntilEOF(s *Session, ct []byte) ([]byte, error) {
	plain, _, err := s.Decrypt(nil, ct, 0)
	if err == nil {
		return plain, errNoEOF
	}
	if errors.Is(err, io.EOF) {
		return plain, nil
	}
	return plain, err
}
