package hashicorpraft

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// testLog is an io.Writer onto t.Log that goes quiet when the test ends,
// so a goroutine logging late cannot fail the run.
type testLog struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func newTestLog(t testing.TB) *testLog {
	l := &testLog{t: t}
	t.Cleanup(func() { // registered first, so it runs last
		l.mu.Lock()
		l.done = true
		l.mu.Unlock()
	})
	return l
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Helper()
		l.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// hclogger logs to the test log (shown on failure or -v) at Error level,
// or at $RAFT_TEST_LOG (trace, debug, info, warn) when set.
func hclogger(name string, w io.Writer) hclog.Logger {
	level := hclog.Error
	if l := hclog.LevelFromString(os.Getenv("RAFT_TEST_LOG")); l != hclog.NoLevel {
		level = l
	}
	return hclog.New(&hclog.LoggerOptions{Name: name, Level: level, Output: w})
}

// quietSlog is the engine's logger in tests: warnings and errors only.
func quietSlog(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}

// engineConfig is an engine configuration for a test node: loopback,
// plaintext unless ca is set (then Strict mTLS with a certificate for id),
// fast reconnects, short close.
func engineConfig(t testing.TB, id, addr string, ca *testCA, w io.Writer) engine.Config {
	cfg := engine.NewConfig(id, addr)
	cfg.SecurityMode = engine.Development
	if ca != nil {
		cfg.SecurityMode = engine.Strict
		cfg.TLS = ca.issue(t, id)
	}
	cfg.EventLoops = 1
	cfg.RateLimit.Enabled = false
	cfg.ConnectTimeout = 2 * time.Second
	cfg.CloseTimeout = 200 * time.Millisecond
	cfg.Reconnect.InitialBackoff = 20 * time.Millisecond
	cfg.Reconnect.MaxBackoff = 200 * time.Millisecond
	cfg.Logger = quietSlog(w)
	return cfg
}

// newTestTransport starts an adapter on loopback; the test closes it.
func newTestTransport(t testing.TB, id, addr string, ca *testCA, opts ...Option) *Transport {
	t.Helper()
	w := newTestLog(t)
	opts = append([]Option{WithLogger(hclogger("adapter-"+id, w))}, opts...)
	tr, err := New(engineConfig(t, id, addr, ca, w), opts...)
	if err != nil {
		t.Fatalf("New(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testCA is a certificate authority made for one test: it issues node
// certificates whose common name and DNS name are the node id, as the
// engine's NodeId verification expects.
type testCA struct {
	dir  string
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	path string
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "raft test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := &testCA{dir: dir, cert: cert, key: key, path: filepath.Join(dir, "ca.pem")}
	writePEM(t, ca.path, "CERTIFICATE", der)
	return ca
}

// issue writes a certificate and key for nodeID (reissued on every call:
// a restarted node gets a fresh one) and returns the Strict-mode TLS
// configuration for it.
func (ca *testCA) issue(t testing.TB, nodeID string) *tlsstate.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: nodeID}, DNSNames: []string{nodeID},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(ca.dir, nodeID+"-"+serial.String())
	writePEM(t, base+".pem", "CERTIFICATE", der)
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, base+".key", "PRIVATE KEY", kder)
	return tlsstate.NewSecureConfig(base+".pem", base+".key", ca.path)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
