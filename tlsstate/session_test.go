package tlsstate

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"
)

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestMutualTLS13Handshake(t *testing.T) {
	c, s := securePair(t)
	for _, side := range []struct {
		name string
		s    *Session
		peer string
	}{{"client", c, "node2"}, {"server", s, "node1"}} {
		cs := side.s.ConnectionState()
		if cs.Version != tls.VersionTLS13 {
			t.Errorf("%s: version %#x, want TLS 1.3", side.name, cs.Version)
		}
		if !cs.HandshakeComplete || !side.s.HandshakeComplete() {
			t.Errorf("%s: handshake not complete", side.name)
		}
		if err := VerifyNodeID(cs, side.peer, NodeIDCommonName); err != nil {
			t.Errorf("%s: %v", side.name, err)
		}
		if err := VerifyNodeID(cs, side.peer, NodeIDSubjectAltName); err != nil {
			t.Errorf("%s: %v", side.name, err)
		}
	}
	if c.HasOutput() || s.HasOutput() {
		t.Error("output left after the handshake")
	}
}

func TestRoundTripRandomSizes(t *testing.T) {
	c, s := securePair(t)
	r := rand.New(rand.NewPCG(1, 2))
	whole := func() int { return 1 << 30 }
	for i := range 60 {
		n := 1 + r.IntN(200<<10)
		if i%3 == 0 {
			n = 1 + r.IntN(2000)
		}
		msg := randomBytes(r, n)
		from, to := c, s
		if i%2 == 1 {
			from, to = s, c
		}
		got := decryptAll(t, to, send(t, from, msg), whole)
		mustEqual(t, "message", got, msg)
	}
}

func TestRoundTripPartialRecords(t *testing.T) {
	c, s := securePair(t)
	r := rand.New(rand.NewPCG(3, 4))
	odd := []int{7, 1000, 4097, 16389, 3, 5, 16406, 1}
	k := 0
	chunkers := map[string]func() int{
		"1 byte":     func() int { return 1 },
		"odd chunks": func() int { k++; return odd[k%len(odd)] },
		"random":     func() int { return 1 + r.IntN(40000) },
	}
	for name, next := range chunkers {
		t.Run(name, func(t *testing.T) {
			sizes := []int{1, 5, 16384, 16385, 70000, 200 << 10}
			if name == "1 byte" {
				sizes = []int{1, 100, 16384 + 17, 50000}
			}
			for i, n := range sizes {
				msg := randomBytes(r, n)
				from, to := c, s
				if i%2 == 1 {
					from, to = s, c
				}
				mustEqual(t, name, decryptAll(t, to, send(t, from, msg), next), msg)
			}
		})
	}
}

// TestWouldBlockIsRetryable pins the behaviour the design relies on:
// crypto/tls treats the adapter's Temporary() error as "try again later",
// keeps the partial record, and delivers it once the rest arrives.
func TestWouldBlockIsRetryable(t *testing.T) {
	var nerr net.Error = wouldBlock{}
	if !nerr.Temporary() { //nolint:staticcheck // crypto/tls checks Temporary
		t.Fatal("wouldBlock must be Temporary")
	}
	c, s := securePair(t)
	msg := []byte("partial records must survive would-block")
	for _, cut := range []int{1, 3, 5, 6, 30, 5 + len(msg) + 16} { // header, body, last byte
		ct := send(t, c, msg)
		plain, used, err := s.Decrypt(nil, ct[:cut], 0)
		if err != nil || used != cut || len(plain) != 0 {
			t.Fatalf("cut %d: first half: plain %q used %d err %v", cut, plain, used, err)
		}
		// The same session keeps working: no sticky error.
		plain, used, err = s.Decrypt(nil, ct[cut:], 0)
		if err != nil || used != len(ct)-cut {
			t.Fatalf("cut %d: second half: used %d err %v", cut, used, err)
		}
		mustEqual(t, "after would-block", plain, msg)
	}
	// A Decrypt with nothing at all is a no-op.
	plain, used, err := s.Decrypt(nil, nil, 0)
	if err != nil || used != 0 || len(plain) != 0 {
		t.Fatalf("empty Decrypt: %q %d %v", plain, used, err)
	}
}

func TestDecryptMaxOutResumes(t *testing.T) {
	c, s := securePair(t)
	r := rand.New(rand.NewPCG(5, 6))
	msg := randomBytes(r, 100<<10)
	ct := send(t, c, msg)
	ct = append(ct, send(t, c, []byte("tail"))...)
	want := append(append([]byte(nil), msg...), "tail"...)
	var plain []byte
	calls := 0
	for len(ct) > 0 {
		before := len(plain)
		var used int
		var err error
		plain, used, err = s.Decrypt(plain, ct, 1)
		if err != nil {
			t.Fatal(err)
		}
		if grew := len(plain) - before; grew > maxPlaintext {
			t.Fatalf("maxOut 1 returned %d bytes (more than one record)", grew)
		}
		if used == 0 {
			t.Fatal("no progress")
		}
		ct = ct[used:]
		calls++
	}
	mustEqual(t, "maxOut", plain, want)
	if calls < 7 {
		t.Errorf("maxOut 1 took %d calls; expected one record per call", calls)
	}
}

func TestCloseNotify(t *testing.T) {
	c, s := securePair(t)
	ct := send(t, c, []byte("last words"))
	c.Close()
	c.Close() // idempotent
	ct = c.TakeOutput(ct)
	plain, err := readUntilEOF(s, ct)
	if err != nil {
		t.Fatalf("expected io.EOF after data: %v", err)
	}
	mustEqual(t, "data before close_notify", plain, []byte("last words"))
	if _, _, err := s.Decrypt(nil, nil, 0); !errors.Is(err, io.EOF) {
		t.Errorf("EOF is not sticky: %v", err)
	}
	if err := c.Encrypt([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Encrypt after Close: %v", err)
	}
	if _, _, err := c.Decrypt(nil, []byte{1}, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Decrypt after Close: %v", err)
	}
	// close_notify in a record of its own, split, still gives EOF.
	c2, s2 := securePair(t)
	c2.Close()
	ct = c2.TakeOutput(nil)
	if _, used, err := s2.Decrypt(nil, ct[:4], 0); err != nil || used != 4 {
		t.Fatalf("partial close_notify: %d %v", used, err)
	}
	if _, _, err := s2.Decrypt(nil, ct[4:], 0); !errors.Is(err, io.EOF) {
		t.Fatalf("close_notify: %v", err)
	}
}

func TestCorruptRecordIsErrTLS(t *testing.T) {
	c, s := securePair(t)
	ct := send(t, c, []byte("hello"))
	ct[len(ct)-1] ^= 0x80
	_, _, rerr := s.Decrypt(nil, ct, 0)
	if !errors.Is(rerr, ErrTLS) {
		t.Fatalf("corrupt record: %v", rerr)
	}
	// crypto/tls queued an alert for the peer.
	if !s.HasOutput() {
		t.Error("no alert queued")
	}
	_, _, err := c.Decrypt(nil, s.TakeOutput(nil), 0)
	if !errors.Is(err, ErrTLS) {
		t.Fatalf("peer did not see the alert: %v", err)
	}
	t.Logf("receiver: %v; sender: %v", rerr, err)
}

// TestRecordsFedDuringHandshake: the client sends application data right
// after its Finished; the server gets both in one Feed, and the first
// Decrypt (with no new input) returns the data.
func TestRecordsFedDuringHandshake(t *testing.T) {
	p := newPKI(t)
	cfg := NewSecureConfig("", "", "")
	ce := newEndpoint(p.node1.creds(cfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
	se := newEndpoint(p.node2.creds(cfg, p.ca.pool()).ServerConfig(Strict), Server)
	deadline := time.Now().Add(10 * time.Second)
	ce.start(nil, deadline)
	se.start(nil, deadline)
	// Relay until the client is done, holding back its last flight: the
	// client's output goes to the server only until the server has answered.
	var held []byte
	answered := false
	for cDone := false; !cDone; {
		select {
		case err := <-ce.done:
			if err != nil {
				t.Fatal(err)
			}
			cDone = true
		case <-ce.wake:
		case <-se.wake:
		case <-time.After(10 * time.Second):
			t.Fatal("client handshake stuck")
		}
		if out := ce.s.TakeOutput(nil); len(out) > 0 {
			if answered {
				held = append(held, out...)
			} else {
				se.s.Feed(out)
			}
		}
		if out := se.s.TakeOutput(nil); len(out) > 0 {
			ce.s.Feed(out)
			answered = true
		}
	}
	flight := ce.s.TakeOutput(held)
	if len(flight) == 0 {
		t.Fatal("client's last flight missing")
	}
	flight = append(flight, send(t, ce.s, []byte("hello from node1"))...)
	se.s.Feed(flight)
	if err := recvErr(t, se.done, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if se.s.Buffered() == 0 {
		t.Fatal("expected the early record to be buffered")
	}
	plain, used, err := se.s.Decrypt(nil, nil, 1)
	if err != nil || used != 0 {
		t.Fatalf("Decrypt: used %d err %v", used, err)
	}
	mustEqual(t, "early record", plain, []byte("hello from node1"))
	if se.s.Buffered() != 0 {
		t.Error("Buffered after Decrypt")
	}
	ce.s.Close()
	se.s.Close()
}

func TestTLS12(t *testing.T) {
	p := newPKI(t)
	cfg := &Config{RequireClientAuth: true, NodeIDVerification: NodeIDCommonName, MinVersion: tls.VersionTLS12}
	stc := p.node2.creds(cfg, p.ca.pool()).ServerConfig(Strict)
	stc.MaxVersion = tls.VersionTLS12
	ce := newEndpoint(p.node1.creds(cfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
	se := newEndpoint(stc, Server)
	if cerr, serr := handshakePair(t, ce, se); cerr != nil || serr != nil {
		t.Fatalf("client %v server %v", cerr, serr)
	}
	if v := ce.s.ConnectionState().Version; v != tls.VersionTLS12 {
		t.Fatalf("version %#x", v)
	}
	msg := bytes.Repeat([]byte("tls12 "), 10000)
	odd := func() int { return 777 }
	mustEqual(t, "c->s", decryptAll(t, se.s, send(t, ce.s, msg), odd), msg)
	mustEqual(t, "s->c", decryptAll(t, ce.s, send(t, se.s, msg), odd), msg)
	ce.s.Close()
	se.s.Close()
}

func TestAppendEncryptKeepsOrder(t *testing.T) {
	c, s := securePair(t)
	if err := c.Encrypt([]byte("first ")); err != nil {
		t.Fatal(err)
	}
	buf := []byte("prefix")
	buf, err := c.AppendEncrypt(buf, bytes.Repeat([]byte("second "), 5000))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf, []byte("prefix")) {
		t.Fatal("dst prefix lost")
	}
	if c.HasOutput() {
		t.Fatal("AppendEncrypt left pending output")
	}
	plain, used, err := s.Decrypt(nil, buf[len("prefix"):], 0)
	if err != nil || used != len(buf)-len("prefix") {
		t.Fatal(used, err)
	}
	mustEqual(t, "order", plain, append([]byte("first "), bytes.Repeat([]byte("second "), 5000)...))
	// Empty plaintext still flushes pending output.
	_ = c.Encrypt([]byte("x"))
	out, err := c.AppendEncrypt(nil, nil)
	if err != nil || len(out) == 0 {
		t.Fatal("pending output not returned", err)
	}
}

func TestLargeEncryptMakesFullRecords(t *testing.T) {
	c, _ := securePair(t)
	ct := send(t, c, make([]byte, 64<<10))
	records := 0
	for b := ct; len(b) >= 5; records++ {
		b = b[5+(int(b[3])<<8|int(b[4])):]
	}
	if records != 4 {
		t.Fatalf("64 KiB became %d records, want 4 (dynamic record sizing must be off)", records)
	}
}

func TestCallsBeforeHandshake(t *testing.T) {
	s := NewSession(&tls.Config{}, Server, nil)
	if err := s.Encrypt([]byte("x")); !errors.Is(err, ErrTLS) {
		t.Errorf("Encrypt: %v", err)
	}
	if _, _, err := s.Decrypt(nil, []byte("x"), 0); !errors.Is(err, ErrTLS) {
		t.Errorf("Decrypt: %v", err)
	}
	done := make(chan error, 1)
	s.StartHandshake(context.Background(), nil, time.Now().Add(time.Minute), func(err error) { done <- err })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("second StartHandshake did not panic")
			}
		}()
		s.StartHandshake(context.Background(), nil, time.Time{}, nil)
	}()
	s.Close()
	if err := recvErr(t, done, 5*time.Second); !errors.Is(err, ErrHandshake) || !errors.Is(err, ErrClosed) {
		t.Fatalf("close during handshake: %v", err)
	}
	if _, _, err := s.Decrypt(nil, nil, 0); !errors.Is(err, ErrHandshake) {
		t.Errorf("Decrypt after failure: %v", err)
	}
}

func TestNonDefaultConfigIsCloned(t *testing.T) {
	tc := &tls.Config{}
	NewSession(tc, Client, nil)
	if tc.DynamicRecordSizingDisabled {
		t.Fatal("caller's config modified")
	}
}

// TestSizingHelpers checks SealedLen against real records and that a
// buffer with DecryptRoom free is never regrown by Decrypt.
func TestSizingHelpers(t *testing.T) {
	c, s := securePair(t)
	for _, n := range []int{1, 100, maxPlaintext - 1, maxPlaintext, maxPlaintext + 1, 64<<10 + 7} {
		ct, err := c.AppendEncrypt(nil, make([]byte, n))
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) > SealedLen(n) {
			t.Errorf("%d plaintext bytes sealed into %d, SealedLen says at most %d", n, len(ct), SealedLen(n))
		}
		dst := make([]byte, 0, DecryptRoom(len(ct)))
		plain, used, err := s.Decrypt(dst, ct, 0)
		if err != nil || used != len(ct) || len(plain) != n {
			t.Fatalf("%d bytes: Decrypt used %d of %d, gave %d: %v", n, used, len(ct), len(plain), err)
		}
		if &plain[:1][0] != &dst[:1][0] {
			t.Errorf("%d bytes: Decrypt regrew a buffer with DecryptRoom free", n)
		}
	}
}

// TestFirstRecordIn: the first record counts as in once its header and
// every byte its length announces have been fed, in however many pieces.
func TestFirstRecordIn(t *testing.T) {
	rec := append([]byte{22, 3, 1, 0, 10}, make([]byte, 10)...) // a handshake record of 10 bytes
	for _, split := range []int{1, 3, 5, 7, 15} {
		s := NewSession(nil, Server, nil)
		for off := 0; off < len(rec); off += split {
			if s.FirstRecordIn() {
				t.Fatalf("split %d: in after %d of %d bytes", split, off, len(rec))
			}
			s.Feed(rec[off:min(off+split, len(rec))])
		}
		if !s.FirstRecordIn() {
			t.Fatalf("split %d: not in after the whole record", split)
		}
	}
}
