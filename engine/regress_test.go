package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

// logSink collects a transport's log lines (JSON) for assertions.
type logSink struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *logSink) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns every log record whose msg is msg, in order.
func (s *logSink) records(msg string) []map[string]any {
	return s.matching(func(r map[string]any) bool { return r["msg"] == msg })
}

// fromComponent returns every record a component logged at level.
func (s *logSink) fromComponent(component, level string) []map[string]any {
	return s.matching(func(r map[string]any) bool { return r["component"] == component && r["level"] == level })
}

// matching returns every log record keep accepts, in order.
func (s *logSink) matching(keep func(map[string]any) bool) []map[string]any {
	s.mu.Lock()
	data := append([]byte(nil), s.b.Bytes()...)
	s.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// totalHandshakeFailures sums Stats.HandshakeFailures over every cause.
func totalHandshakeFailures(tr *Transport) uint64 {
	var n uint64
	for _, v := range tr.Stats().HandshakeFailures {
		n += v
	}
	return n
}

// issueUntil issues a node certificate (CN and SAN nodeID) valid until
// notAfter: Config.Load accepts it while it is still valid, so a running
// transport can be left holding a certificate that has since expired.
func issueUntil(t *testing.T, ca *testCA, nodeID string, notAfter time.Time) *tlsstate.Config {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: nodeID}, DNSNames: []string{nodeID},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(ca.dir, nodeID+"-until")
	writePEM(t, base+".pem", "CERTIFICATE", der)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	writePEM(t, base+".key", "PRIVATE KEY", kder)
	return tlsstate.NewSecureConfig(base+".pem", base+".key", ca.path)
}

// trustBoth makes tc trust the CAs of both a and b (one PEM file holding
// both), so a node certified by one can verify a listener certified by the
// other.
func trustBoth(t *testing.T, tc *tlsstate.Config, a, b *testCA) *tlsstate.Config {
	t.Helper()
	var pemData []byte
	for _, ca := range []*testCA{a, b} {
		p, err := os.ReadFile(ca.path)
		if err != nil {
			t.Fatal(err)
		}
		pemData = append(pemData, p...)
	}
	path := filepath.Join(t.TempDir(), "both-ca.pem")
	if err := os.WriteFile(path, pemData, 0o600); err != nil {
		t.Fatal(err)
	}
	tc.CAPath = path
	return tc
}

// TestTLSRefusalKeepsItsReason: a refused TLS handshake must be reported
// with its TLS cause, to the dialer (the Connect error) and by the listener
// (Stats.HandshakeFailures["tls"] and the "handshake failed" log line), not
// as "connection closed (read: EOF)". The side that refuses writes its alert
// from inside crypto/tls; the session's wake flushes it to the socket before
// the engine has stored the TLS error, so the peer can read it and hang up
// first, and onClose then reports only gnet's EOF (and, when the error was
// stored but not yet acted on, counts the failure as "closed"). The side
// that is refused may likewise get the alert and the EOF together while its
// own handshake goroutine has not reported yet: the alert stays fed but
// undecrypted and the EOF wins.
//
// Each case is tried several times because the outcome depends on timing.
func TestTLSRefusalKeepsItsReason(t *testing.T) {
	const tries = 8
	ca := newTestCA(t, "ca")
	other := newTestCA(t, "other")
	var logs logSink
	bcfg := tlsConfig("b", ca.issue(t, "b", certOpts{}))
	bcfg.Logger = logs.logger()
	b := startTransport(t, bcfg)

	// A certificate that Load accepts now and that expires before it is
	// used: the engine's dialer cannot be given an expired one otherwise.
	expiresAt := time.Now().Add(2 * time.Second).Truncate(time.Second) // certificates have whole seconds
	expiringDialer := refusedDialer(t, "expiring", issueUntil(t, ca, "expiring", expiresAt))

	cases := []struct {
		name string
		id   string
		// dialer: the engine's own dialer with bad credentials; nil means
		// a bare crypto/tls client presenting rawCert (or no certificate).
		dialer  *Transport
		rawCert *tlsstate.Config
		// dialerWant must appear in the engine dialer's Connect error,
		// listenerWant in the reason the listener logs.
		dialerWant, listenerWant string
	}{
		{
			name: "engine: client certificate from another CA", id: "foreign",
			dialer:     refusedDialer(t, "foreign", trustBoth(t, other.issue(t, "foreign", certOpts{}), ca, other)),
			dialerWant: "remote error: tls: unknown certificate authority", listenerWant: "x509: certificate signed by unknown authority",
		},
		{
			name: "engine: dialer does not trust the listener's CA", id: "foreign2",
			dialer:     refusedDialer(t, "foreign2", other.issue(t, "foreign2", certOpts{})),
			dialerWant: "x509: certificate signed by unknown authority", listenerWant: "remote error: tls: bad certificate",
		},
		{
			name: "raw: client without certificate", id: "anon",
			listenerWant: "tls: client didn't provide a certificate",
		},
		{
			name: "raw: expired client certificate", id: "expired",
			rawCert:      ca.issue(t, "expired", certOpts{expired: true}),
			listenerWant: "x509: certificate has expired",
		},
		{
			name: "raw: client certificate from another CA", id: "foreign3",
			rawCert:      other.issue(t, "foreign3", certOpts{}),
			listenerWant: "x509: certificate signed by unknown authority",
		},
		{
			name: "engine: expired client certificate", id: "expiring", dialer: expiringDialer,
			dialerWant: "remote error: tls: expired certificate", listenerWant: "x509: certificate has expired",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dialer := tc.dialer
			if d := time.Until(expiresAt.Add(50 * time.Millisecond)); dialer == expiringDialer && d > 0 {
				time.Sleep(d) // from now on the listener finds it expired
			}
			bad := 0
			for i := range tries {
				seen := len(logs.records("handshake failed"))
				total, tlsBefore := totalHandshakeFailures(b), b.Stats().HandshakeFailures["tls"]
				var problems []string
				if dialer != nil {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					err := dialer.Connect(ctx, PeerConfig{NodeID: "b", Address: b.Addr().String()})
					cancel()
					switch {
					case err == nil:
						t.Fatalf("try %d: Connect succeeded", i)
					case !errors.Is(err, ErrHandshakeFailed):
						problems = append(problems, "dialer's error is not ErrHandshakeFailed: "+err.Error())
					case !strings.Contains(err.Error(), tc.dialerWant):
						problems = append(problems, "dialer's error "+strconvQuote(err.Error())+" lacks "+strconvQuote(tc.dialerWant))
					}
					_ = dialer.Disconnect("b") // so that the next Connect dials again
				} else {
					c, err := rawTLSPresenting(t, b, "b", ca, tc.rawCert, tc.id)
					if err == nil {
						expectClosed(t, c, 5*time.Second)
						c.Close()
					}
				}
				refused := uint64(1) // a raw client's one connection
				if dialer != nil {
					refused = uint64(dialer.cfg.PoolSize + 1) // every bulk connection and the control one
				}
				waitFor(t, 5*time.Second, func() bool { return totalHandshakeFailures(b) >= total+refused })
				if got := b.Stats().HandshakeFailures["tls"]; got != tlsBefore+refused {
					problems = append(problems, "listener did not count it under \"tls\": "+fmtCounts(b.Stats().HandshakeFailures))
				}
				var recs []map[string]any
				waitFor(t, 2*time.Second, func() bool {
					recs = logs.records("handshake failed")
					return len(recs) >= seen+int(refused)
				})
				for _, r := range recs[seen:] {
					if e, _ := r["err"].(string); !strings.Contains(e, tc.listenerWant) {
						problems = append(problems, "listener logged cause="+strconvQuote(r["cause"])+" err="+strconvQuote(e)+", want it to mention "+strconvQuote(tc.listenerWant))
					}
				}
				if len(problems) > 0 {
					bad++
					t.Errorf("try %d:\n\t%s", i, strings.Join(problems, "\n\t"))
				}
			}
			if bad > 0 {
				t.Errorf("%d of %d refusals lost their TLS reason", bad, tries)
			}
		})
	}
}

// refusedDialer starts a Strict transport with credentials the listener
// of TestTLSRefusalKeepsItsReason refuses: one connection per Connect
// (one listener log line per try), no redials.
func refusedDialer(t *testing.T, id string, tc *tlsstate.Config) *Transport {
	t.Helper()
	cfg := tlsConfig(id, tc)
	cfg.PoolSize = 1
	cfg.Reconnect.Enabled = false
	return startTransport(t, cfg)
}

// rawTLSPresenting is rawTLSClient, except that a certificate is always
// presented, even when it is not from a CA the listener asks for (as the
// engine's dialer does); crypto/tls would otherwise send none.
func rawTLSPresenting(t *testing.T, tr *Transport, serverID string, ca *testCA, cert *tlsstate.Config, nodeID string) (*tls.Conn, error) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	tc := &tls.Config{RootCAs: pool, ServerName: serverID, MinVersion: tls.VersionTLS13}
	if cert != nil {
		kp, err := tls.LoadX509KeyPair(cert.CertPath, cert.KeyPath)
		if err != nil {
			t.Fatal(err)
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	}
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tr.Addr().String(), tc)
	if err != nil {
		return nil, err
	}
	h := codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 42, NodeID: nodeID}
	_, err = c.Write(codec.AppendHello(nil, h))
	return c, err
}

func strconvQuote(v any) string {
	s, _ := v.(string)
	b, _ := json.Marshal(s)
	return string(b)
}

func fmtCounts(m map[string]uint64) string {
	b, _ := json.Marshal(m)
	return string(b)
}

// TestThrottledPeerIgnoringCreditIsCut: while the inbound rate limit pauses
// a connection nothing is delivered, so the window check on delivery never
// runs; a peer that keeps sending past its credit must still be cut off, as
// when the ring is full (TestPeerIgnoringCreditWhileStalled), over plaintext
// and over TLS. The ring is large here: only the throttle holds delivery.
func TestThrottledPeerIgnoringCreditIsCut(t *testing.T) {
	ca := newTestCA(t, "ca")
	for _, mode := range []string{"plain", "tls"} {
		t.Run(mode, func(t *testing.T) {
			b, nc := floodIgnoringCredit(t, ca, mode, func(cfg *Config) {
				cfg.InboundRateLimit = bucket.Config{Enabled: true, BucketSize: 1, RefillRate: 1}
				cfg.RecvBufferSize = 1 << 16 // far more than is sent: the ring never fills
			})
			closed := closedWithin(nc, 5*time.Second)
			if closed {
				waitFor(t, 5*time.Second, func() bool { return b.Stats().ProtocolErrors > 0 })
			}
			st := b.Stats()
			if st.InboundThrottled == 0 || st.RecvStalls != 0 {
				t.Errorf("throttled %d times, %d ring stalls: the test missed the throttled path", st.InboundThrottled, st.RecvStalls)
			}
			if !closed || st.ProtocolErrors != 1 {
				t.Fatalf("a throttled peer sent 2 MiB against a 64 KiB window: connection closed %v, protocol errors %d (throttled %d times, %d messages delivered)",
					closed, st.ProtocolErrors, st.InboundThrottled, st.MessagesReceived)
			}
		})
	}
}

// closedWithin reports whether the transport closes the raw socket within d
// (expectClosed, without failing the test).
func closedWithin(nc net.Conn, d time.Duration) bool {
	_ = nc.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 4096)
	for {
		_, err := nc.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		return !(errors.As(err, &ne) && ne.Timeout())
	}
}

// TestHandshakeDeadlineNoRace: the handshake deadline timer must not race
// with the setup of the connection it guards (conn.gc, conn.remote), for
// inbound and outbound connections. A ConnectTimeout shorter than the
// connection's setup makes the timer fire in the middle of it; the race
// detector is the judge (run with -race).
func TestHandshakeDeadlineNoRace(t *testing.T) {
	t.Run("inbound", func(t *testing.T) {
		cfg := devConfig("b")
		cfg.ConnectTimeout = time.Nanosecond // fires before OnOpen has finished
		const n = 200
		allowConnections(&cfg, n)
		b := startTransport(t, cfg)
		conns := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for range n {
			nc, err := net.DialTimeout("tcp", b.Addr().String(), 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, nc)
		}
		waitFor(t, 10*time.Second, func() bool { return b.Stats().HandshakeFailures["timeout"] == n })
	})
	t.Run("outbound", func(t *testing.T) {
		b := startTransport(t, devConfig("b"))
		// Loopback connect takes tens of microseconds and the hand-off to
		// the event loop about as long: timeouts around those make the timer
		// fire after the dial but during registration, some of the time.
		timeouts := []time.Duration{50 * time.Microsecond, 100 * time.Microsecond, 200 * time.Microsecond, 400 * time.Microsecond, 800 * time.Microsecond}
		const rounds, pool = 10, 4 // 200 dials in all
		dialers := make([]*Transport, len(timeouts))
		for i, d := range timeouts {
			cfg := devConfig("a" + itoa(i))
			cfg.ConnectTimeout = d
			cfg.PoolSize = pool
			cfg.Reconnect.Enabled = false
			tr, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = tr.Start(ctx)
			cancel()
			if err != nil {
				t.Fatal(err)
			}
			dialers[i] = tr
		}
		defer func() { // Close them together: each Close takes a while
			var wg sync.WaitGroup
			for _, tr := range dialers {
				wg.Go(func() { _ = tr.Close() })
			}
			wg.Wait()
		}()
		timedOut := 0
		for i, tr := range dialers {
			for range rounds {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := tr.Connect(ctx, PeerConfig{NodeID: "b", Address: b.Addr().String()})
				cancel()
				if err != nil && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrHandshakeFailed) {
					t.Fatalf("Connect with ConnectTimeout %v: %v", timeouts[i], err)
				}
				_ = tr.Disconnect("b")
			}
			timedOut += int(tr.Stats().HandshakeFailures["timeout"])
		}
		t.Logf("%d of %d outbound handshakes hit their deadline after the dial", timedOut, len(timeouts)*rounds*pool)
	})
}

// TestStatsMarshalJSON: Stats carries json tags, so json.Marshal of it must
// work, whatever the configuration (a disabled rate limit has an infinite
// bucket), and decode back.
func TestStatsMarshalJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate bucket.Config // both ends
	}{
		{"rate limit disabled", bucket.Disabled()},
		{"rate limit enabled", bucket.Config{Enabled: true, BucketSize: 10, RefillRate: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acfg, bcfg := devConfig("a"), devConfig("b")
			acfg.RateLimit, bcfg.RateLimit = tc.rate, tc.rate
			a := startTransport(t, acfg)
			b := startTransport(t, bcfg)
			connect(t, a, b)
			if err := a.Send(context.Background(), "b", []byte("hello")); err != nil {
				t.Fatal(err)
			}
			m := recvTimeout(t, b, 5*time.Second)
			m.Release()
			for _, side := range []struct {
				tr         *Transport
				name, peer string
			}{{a, "a", "b"}, {b, "b", "a"}} {
				st := side.tr.Stats()
				data, err := json.Marshal(st)
				if err != nil {
					t.Fatalf("json.Marshal(%s.Stats()): %v", side.name, err)
				}
				var back Stats
				if err := json.Unmarshal(data, &back); err != nil {
					t.Fatalf("json.Unmarshal of %s: %v", data, err)
				}
				if back.MessagesSent != st.MessagesSent || back.MessagesReceived != st.MessagesReceived || back.PeerCount != st.PeerCount {
					t.Fatalf("round trip changed the counters: %+v -> %+v", st, back)
				}
				if len(back.Peers) != 1 || back.Peers[0].NodeID != side.peer || back.Peers[0].State != st.Peers[0].State {
					t.Fatalf("%s: peers after the round trip: %+v, want peer %q as %+v", side.name, back.Peers, side.peer, st.Peers)
				}
			}
		})
	}
}

// TestIdleCloseIsQuick: with nothing to flush, Close must not sit out
// gnet's 500 ms shutdown poll.
func TestIdleCloseIsQuick(t *testing.T) {
	const bound = 250 * time.Millisecond // generous: an idle Close should take well under 50 ms
	for _, withPeer := range []bool{false, true} {
		name := "alone"
		if withPeer {
			name = "with an idle peer"
		}
		t.Run(name, func(t *testing.T) {
			cfg := devConfig("a")
			a, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := a.Start(ctx); err != nil {
				t.Fatal(err)
			}
			if withPeer {
				b := startTransport(t, devConfig("b"))
				connect(t, a, b)
				if err := a.Send(ctx, "b", []byte("x")); err != nil {
					t.Fatal(err)
				}
				m := recvTimeout(t, b, 5*time.Second)
				m.Release()
				waitFor(t, 5*time.Second, func() bool {
					st := a.Stats()
					return st.ConnectionCount == cfg.PoolSize+1 && st.Peers[0].QueueDepth == 0 // + the control connection
				})
			}
			start := time.Now()
			err = a.Close()
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			if took > bound {
				t.Fatalf("idle Close took %v, want under %v", took, bound)
			}
			t.Logf("idle Close took %v", took)
		})
	}
}
