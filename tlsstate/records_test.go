package tlsstate

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tensorchain/transport/tlsstate/record"
)

// In-process tests of the engine's record layer (package record) as the
// Session wires it in: against crypto/tls's own record layer on the other
// side, and against itself.

var (
	engineRecords    = SessionOptions{Records: EngineRecords}
	cryptoTLSRecords = SessionOptions{Records: CryptoTLSRecords}
)

// newEndpointWith is newEndpoint with SessionOptions.
func newEndpointWith(tc *tls.Config, role Role, opts SessionOptions) *endpoint {
	e := &endpoint{done: make(chan error, 1), wake: make(chan struct{}, 1)}
	e.s = NewSessionWith(tc, role, func() {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}, opts)
	return e
}

// recordsPair is securePair with a record layer per side; edit, if not
// nil, changes the client's and the server's tls.Config first.
func recordsPair(t testing.TB, copts, sopts SessionOptions, edit func(c, s *tls.Config)) (c, s *Session) {
	t.Helper()
	p := newPKI(t)
	ctc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	stc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	if edit != nil {
		edit(ctc, stc)
	}
	ce := newEndpointWith(ctc, Client, copts)
	se := newEndpointWith(stc, Server, sopts)
	cerr, serr := handshakePair(t, ce, se)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	t.Cleanup(func() { ce.s.Close(); se.s.Close() })
	return ce.s, se.s
}

// openAll is decryptAll through Open: it feeds ct to s in chunks of the
// sizes next returns, opening record after record, and returns the
// plaintext. Every chunk must be consumed whole.
func openAll(t testing.TB, s *Session, ct []byte, next func() int) []byte {
	t.Helper()
	var got []byte
	open := func(chunk []byte) {
		t.Helper()
		off := 0
		for {
			plain, n, err := s.Open(chunk[off:])
			got = append(got, plain...)
			off += n
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if plain == nil && n == 0 {
				break
			}
		}
		if off != len(chunk) {
			t.Fatalf("Open consumed %d of %d bytes", off, len(chunk))
		}
	}
	for len(ct) > 0 {
		n := min(next(), len(ct))
		open(ct[:n])
		ct = ct[n:]
	}
	open(nil) // anything fed during the handshake
	return got
}

// receive delivers ct to s, through Open when useOpen and s has the
// engine's layer, else through Decrypt.
func receive(t testing.TB, s *Session, ct []byte, next func() int, useOpen bool) []byte {
	t.Helper()
	if useOpen && s.InPlace() {
		return openAll(t, s, ct, next)
	}
	return decryptAll(t, s, ct, next)
}

// randomChunks returns chunk sizes from 1 byte to 32 KiB, a third of them
// under 17 bytes (inside a record header or tag).
func randomChunks(r *rand.Rand) func() int {
	return func() int {
		if r.IntN(3) == 0 {
			return 1 + r.IntN(16)
		}
		return 1 + r.IntN(32<<10)
	}
}

// exchange sends n messages of random sizes (1 B .. 100 KiB) alternately
// from c and from s and checks each arrives whole.
func exchange(t testing.TB, r *rand.Rand, c, s *Session, n int, useOpen bool) {
	t.Helper()
	next := randomChunks(r)
	for i := range n {
		size := 1 + r.IntN(100<<10)
		if i%3 == 0 {
			size = 1 + r.IntN(64)
		}
		msg := randomBytes(r, size)
		from, to, dir := c, s, "client to server"
		if i%2 == 1 {
			from, to, dir = s, c, "server to client"
		}
		mustEqual(t, fmt.Sprintf("message %d (%d bytes, %s)", i, size, dir), receive(t, to, send(t, from, msg), next, useOpen), msg)
	}
}

func checkInPlace(t testing.TB, name string, s *Session, want bool) {
	t.Helper()
	if got := s.InPlace(); got != want {
		t.Fatalf("%s: InPlace() = %v, want %v", name, got, want)
	}
}

func checkKeyUpdates(t testing.TB, name string, s *Session, sent, received uint64) {
	t.Helper()
	if gs, gr := s.KeyUpdates(); gs != sent || gr != received {
		t.Fatalf("%s: KeyUpdates() = sent %d, received %d; want %d, %d", name, gs, gr, sent, received)
	}
}

var recordsMatrix = []struct {
	name     string
	c, s     SessionOptions
	edit     func(c, s *tls.Config)
	useOpen  bool
	fedEarly bool // the client holds records fed with the server's last flight
}{
	{name: "client=engine/server=crypto-tls", c: engineRecords, s: cryptoTLSRecords},
	{name: "client=engine/server=crypto-tls/Open", c: engineRecords, s: cryptoTLSRecords, useOpen: true},
	{name: "client=crypto-tls/server=engine", c: cryptoTLSRecords, s: engineRecords},
	{name: "client=crypto-tls/server=engine/Open", c: cryptoTLSRecords, s: engineRecords, useOpen: true},
	{name: "client=engine/server=engine", c: engineRecords, s: engineRecords},
	{name: "client=engine/server=engine/Open", c: engineRecords, s: engineRecords, useOpen: true},
	// A crypto/tls server that issues session tickets: they come under its
	// application key, after the handshake (with client authentication) or
	// in its first flight, behind its Finished (without): the engine
	// client must skip them, wherever they were fed.
	// (crypto/tls sends tickets only to a client with a session cache.)
	{name: "client=engine/server=crypto-tls+tickets", c: engineRecords, s: cryptoTLSRecords, edit: func(c, s *tls.Config) {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		s.SessionTicketsDisabled = false
	}},
	{name: "client=engine/server=crypto-tls+tickets,no-client-auth", c: engineRecords, s: cryptoTLSRecords, useOpen: true, fedEarly: true, edit: func(c, s *tls.Config) {
		c.ClientSessionCache = tls.NewLRUClientSessionCache(1)
		s.SessionTicketsDisabled = false
		s.ClientAuth = tls.NoClientCert
	}},
}

// TestRecordsMatrix: the engine's record layer interoperates with
// crypto/tls's and with itself: data of random sizes both ways in random
// chunks (through Decrypt and through Open), then KeyUpdates that an
// engine side initiates, with and without asking the peer for its own,
// which crypto/tls (that never initiates one) and the engine answer;
// data flows under the new keys, and the counts add up.
func TestRecordsMatrix(t *testing.T) {
	for i, tc := range recordsMatrix {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 42))
			c, s := recordsPair(t, tc.c, tc.s, tc.edit)
			cEngine, sEngine := tc.c.Records == EngineRecords, tc.s.Records == EngineRecords
			checkInPlace(t, "client", c, cEngine)
			checkInPlace(t, "server", s, sEngine)
			if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
				t.Fatalf("version %#x, want TLS 1.3", v)
			}
			if tc.fedEarly && c.Buffered() == 0 {
				t.Fatal("the client holds no records fed during the handshake (tickets behind the server's Finished)")
			}
			exchange(t, r, c, s, 12, tc.useOpen)

			type side struct {
				name   string
				s      *Session
				engine bool
			}
			sides := []side{{"client", c, cEngine}, {"server", s, sEngine}}
			for _, sd := range sides {
				if !sd.engine {
					if err := sd.s.UpdateKeys(true); !errors.Is(err, ErrTLS) {
						t.Fatalf("%s (crypto/tls): UpdateKeys = %v, want an error wrapping ErrTLS", sd.name, err)
					}
				}
			}
			next := randomChunks(r)
			var want [2][2]uint64 // [side][sent, received]
			for ai, a := range sides {
				if !a.engine {
					continue
				}
				bi := 1 - ai
				b := sides[bi]

				// KeyUpdate(update_requested), alone: it goes out with the
				// next TakeOutput, and the peer's answer waits in its output.
				if err := a.s.UpdateKeys(true); err != nil {
					t.Fatalf("%s: UpdateKeys(true): %v", a.name, err)
				}
				want[ai][0]++
				ku := a.s.TakeOutput(nil)
				if len(ku) == 0 {
					t.Fatalf("%s: no output after UpdateKeys", a.name)
				}
				if got := receive(t, b.s, ku, next, tc.useOpen); len(got) != 0 {
					t.Fatalf("%s: a KeyUpdate yielded %d bytes of plaintext", b.name, len(got))
				}
				if !b.s.HasOutput() {
					t.Fatalf("%s: no KeyUpdate answer waiting after reading update_requested", b.name)
				}
				want[bi][1]++
				want[bi][0]++ // its answer
				want[ai][1]++
				// The answer goes out ahead of the peer's next records.
				for range 2 {
					msg := randomBytes(r, 1+r.IntN(100<<10))
					mustEqual(t, b.name+" to "+a.name+" after the KeyUpdate", receive(t, a.s, send(t, b.s, msg), next, tc.useOpen), msg)
					msg = randomBytes(r, 1+r.IntN(100<<10))
					mustEqual(t, a.name+" to "+b.name+" after the KeyUpdate", receive(t, b.s, send(t, a.s, msg), next, tc.useOpen), msg)
				}

				// KeyUpdate(update_not_requested), sealed with the next
				// records: the peer follows and does not answer.
				if err := a.s.UpdateKeys(false); err != nil {
					t.Fatalf("%s: UpdateKeys(false): %v", a.name, err)
				}
				want[ai][0]++
				want[bi][1]++
				msg := randomBytes(r, 1+r.IntN(100<<10))
				buf, err := a.s.AppendEncrypt(nil, msg)
				if err != nil {
					t.Fatal(err)
				}
				mustEqual(t, a.name+" to "+b.name+" with a KeyUpdate in front", receive(t, b.s, buf, next, tc.useOpen), msg)
				if b.s.HasOutput() {
					t.Fatalf("%s: output after update_not_requested", b.name)
				}
				exchange(t, r, c, s, 4, tc.useOpen)

				for si, sd := range sides {
					if sd.engine {
						checkKeyUpdates(t, sd.name, sd.s, want[si][0], want[si][1])
					} else {
						checkKeyUpdates(t, sd.name+" (crypto/tls)", sd.s, 0, 0)
					}
				}
			}
			for _, sd := range sides {
				if sd.engine {
					if sent, received := sd.s.KeyUpdates(); sent < 1 || received < 1 {
						t.Fatalf("%s: KeyUpdates sent %d, received %d", sd.name, sent, received)
					}
				}
			}
		})
	}
}

// TestRecordsKeyUpdateInterval: with a KeyUpdateInterval of 8 records the
// engine rotates its own key every 8 records and asks the peer to rotate
// its, over 1000 small messages each way, one record each; every message
// arrives, in order. crypto/tls as the peer answers the requests.
func TestRecordsKeyUpdateInterval(t *testing.T) {
	every8 := SessionOptions{Records: EngineRecords, KeyUpdateInterval: 8}
	for _, tc := range []struct {
		name string
		c, s SessionOptions
	}{
		{"engine/engine", every8, every8},
		{"engine/crypto-tls", every8, cryptoTLSRecords},
		{"crypto-tls/engine", cryptoTLSRecords, every8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := recordsPair(t, tc.c, tc.s, nil)
			r := rand.New(rand.NewPCG(7, 8))
			next := func() int { return 1 + r.IntN(300) }
			var sentC, sentS, gotC, gotS []byte
			for i := range 1000 {
				msg := fmt.Appendf(nil, "c%d;", i)
				sentC = append(sentC, msg...)
				gotS = append(gotS, receive(t, s, send(t, c, msg), next, i%2 == 0)...)
				msg = fmt.Appendf(nil, "s%d;", i)
				sentS = append(sentS, msg...)
				gotC = append(gotC, receive(t, c, send(t, s, msg), next, i%2 == 1)...)
			}
			mustEqual(t, "client to server", gotS, sentC)
			mustEqual(t, "server to client", gotC, sentS)
			for _, sd := range []struct {
				name string
				s    *Session
				opts SessionOptions
			}{{"client", c, tc.c}, {"server", s, tc.s}} {
				sent, received := sd.s.KeyUpdates()
				t.Logf("%s: KeyUpdates sent %d, received %d", sd.name, sent, received)
				if sd.opts.Records != EngineRecords {
					continue
				}
				if sent <= 50 || received <= 50 {
					t.Errorf("%s: KeyUpdates sent %d, received %d; want more than 50 each", sd.name, sent, received)
				}
			}
		})
	}
}

var recordsPairs = []struct {
	name string
	c, s SessionOptions
}{
	{"client=engine/server=crypto-tls", engineRecords, cryptoTLSRecords},
	{"client=crypto-tls/server=engine", cryptoTLSRecords, engineRecords},
	{"client=engine/server=engine", engineRecords, engineRecords},
}

// TestRecordsCloseNotify: Close sends close_notify behind the data sealed
// before it; the peer, engine or crypto/tls, gets the data and then
// io.EOF (sticky), and the closed side refuses to seal more.
func TestRecordsCloseNotify(t *testing.T) {
	for _, tc := range recordsPairs {
		for _, closer := range []Role{Client, Server} {
			t.Run(tc.name+"/"+closer.String()+"-closes", func(t *testing.T) {
				c, s := recordsPair(t, tc.c, tc.s, nil)
				from, to := c, s
				if closer == Server {
					from, to = s, c
				}
				msg := []byte("last words before close_notify")
				if err := from.Encrypt(msg); err != nil {
					t.Fatal(err)
				}
				from.Close()
				if err := from.Encrypt([]byte("more")); !errors.Is(err, ErrClosed) {
					t.Fatalf("Encrypt after Close: %v, want ErrClosed", err)
				}
				plain, err := readUntilEOF(to, from.TakeOutput(nil))
				if err != nil {
					t.Fatalf("peer: %v, want io.EOF", err)
				}
				mustEqual(t, "data before close_notify", plain, msg)
				if _, _, err := to.Decrypt(nil, nil, 0); !errors.Is(err, io.EOF) {
					t.Fatalf("Decrypt after close_notify: %v, want io.EOF again", err)
				}
				if to.InPlace() {
					if _, _, err := to.Open(nil); !errors.Is(err, io.EOF) {
						t.Fatalf("Open after close_notify: %v, want io.EOF", err)
					}
				}
			})
		}
	}
}

// TestRecordsCorruptRecord: a record with one ciphertext byte flipped in
// flight fails to open on the engine side with an error wrapping ErrTLS
// (a bad_record_mac *record.Alert it sent); the Session then has the
// alert in its output, and the peer, crypto/tls or engine, reads it as an
// error mentioning "bad record MAC". Both sides are then done.
func TestRecordsCorruptRecord(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sender  SessionOptions
		useOpen bool
		flip    func(ct []byte) int // which byte to flip
	}{
		{"from crypto-tls/first ciphertext byte", cryptoTLSRecords, false, func([]byte) int { return record.HeaderLen }},
		{"from crypto-tls/last tag byte/Open", cryptoTLSRecords, true, func(ct []byte) int { return len(ct) - 1 }},
		{"from engine/middle/Open", engineRecords, true, func(ct []byte) int { return len(ct) / 2 }},
		{"from engine/last tag byte", engineRecords, false, func(ct []byte) int { return len(ct) - 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The engine is the server; the sender is the client.
			c, s := recordsPair(t, tc.sender, engineRecords, nil)
			checkInPlace(t, "server", s, true)
			// A good record first, then the corrupted one.
			ok := []byte("this one is fine")
			mustEqual(t, "good record", receive(t, s, send(t, c, ok), func() int { return 1 << 30 }, tc.useOpen), ok)
			ct := send(t, c, []byte("this one is corrupted in flight"))
			ct[tc.flip(ct)] ^= 0x20
			var err error
			var plain []byte
			if tc.useOpen {
				plain, _, err = s.Open(ct)
			} else {
				plain, _, err = s.Decrypt(nil, ct, 0)
			}
			if !errors.Is(err, ErrTLS) {
				t.Fatalf("opening a corrupted record: %v, want an error wrapping ErrTLS", err)
			}
			var a *record.Alert
			if !errors.As(err, &a) || a.Description != record.AlertBadRecordMAC || !a.Sent {
				t.Fatalf("opening a corrupted record: %v (%#v), want a bad_record_mac alert sent", err, a)
			}
			if len(plain) != 0 {
				t.Fatalf("corrupted record yielded %q", plain)
			}
			if _, _, again := s.Decrypt(nil, nil, 0); !errors.Is(again, ErrTLS) {
				t.Fatalf("Decrypt after the failure: %v, want the sticky error", again)
			}
			if !s.HasOutput() {
				t.Fatal("no alert waiting after a record failed to authenticate")
			}
			alert := s.TakeOutput(nil)
			if err := s.Encrypt([]byte("no more")); !errors.Is(err, ErrTLS) {
				t.Fatalf("Encrypt after the alert: %v, want an error wrapping ErrTLS", err)
			}
			if s.HasOutput() {
				t.Fatal("output sealed after the fatal alert")
			}
			_, _, perr := c.Decrypt(nil, alert, 0)
			if !errors.Is(perr, ErrTLS) || !strings.Contains(perr.Error(), "bad record MAC") {
				t.Fatalf("peer reading the alert: %v, want an ErrTLS mentioning \"bad record MAC\"", perr)
			}
			t.Logf("engine: %v; peer: %v", err, perr)
		})
	}
}

// TestRecordsTLS12: over TLS 1.2 crypto/tls keeps the records even with
// EngineRecords (package record is TLS 1.3 only): InPlace is false, data
// flows both ways, and the engine-only calls refuse.
func TestRecordsTLS12(t *testing.T) {
	tls12 := func(c, s *tls.Config) {
		for _, tc := range []*tls.Config{c, s} {
			tc.MinVersion, tc.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		}
	}
	for _, tc := range []struct {
		name string
		c, s SessionOptions
	}{
		{"engine/engine", engineRecords, engineRecords},
		{"default options", SessionOptions{}, SessionOptions{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := recordsPair(t, tc.c, tc.s, tls12)
			for _, sd := range []struct {
				name string
				s    *Session
			}{{"client", c}, {"server", s}} {
				if v := sd.s.ConnectionState().Version; v != tls.VersionTLS12 {
					t.Fatalf("%s: version %#x, want TLS 1.2", sd.name, v)
				}
				checkInPlace(t, sd.name, sd.s, false)
				if err := sd.s.UpdateKeys(true); !errors.Is(err, ErrTLS) {
					t.Fatalf("%s: UpdateKeys over TLS 1.2: %v, want an error wrapping ErrTLS", sd.name, err)
				}
				if _, _, err := sd.s.Open(nil); !errors.Is(err, ErrTLS) {
					t.Fatalf("%s: Open over TLS 1.2: %v, want an error wrapping ErrTLS", sd.name, err)
				}
				checkKeyUpdates(t, sd.name, sd.s, 0, 0)
			}
			exchange(t, rand.New(rand.NewPCG(12, 12)), c, s, 8, true)
			c.Close()
			if _, err := readUntilEOF(s, c.TakeOutput(nil)); err != nil {
				t.Fatalf("close_notify over TLS 1.2: %v", err)
			}
		})
	}
}

// TestRecordsKeyLogWriterChained: the Session captures the traffic
// secrets through the KeyLogWriter, and still passes every line on to the
// writer the caller configured: after the handshake that writer holds the
// CLIENT_TRAFFIC_SECRET_0 and SERVER_TRAFFIC_SECRET_0 lines, and the
// engine's layer protects the records.
func TestRecordsKeyLogWriterChained(t *testing.T) {
	for _, tc := range recordsPairs {
		t.Run(tc.name, func(t *testing.T) {
			var clog, slog syncBuffer
			c, s := recordsPair(t, tc.c, tc.s, func(c, s *tls.Config) {
				c.KeyLogWriter, s.KeyLogWriter = &clog, &slog
			})
			checkInPlace(t, "client", c, tc.c.Records == EngineRecords)
			checkInPlace(t, "server", s, tc.s.Records == EngineRecords)
			exchange(t, rand.New(rand.NewPCG(5, 5)), c, s, 2, false)
			for _, log := range []struct {
				name string
				text string
			}{{"client", clog.String()}, {"server", slog.String()}} {
				for _, label := range []string{"CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"} {
					if keyLogLine(log.text, label) == "" {
						t.Errorf("%s's KeyLogWriter has no %s line; it got:\n%q", log.name, label, log.text)
					}
				}
			}
		})
	}
}

// TestRecordsKeyLogWriterSecretsIntact: the lines the caller's
// KeyLogWriter gets are the lines crypto/tls wrote, secret included: the
// client's and the server's logs agree (both sides log the same client
// random and secrets) and every secret is hex, over TLS 1.3 and 1.2.
//
// (A first version cleared the secret inside line before passing it on,
// so the caller's writer got NUL bytes in place of every secret.)
func TestRecordsKeyLogWriterSecretsIntact(t *testing.T) {
	tls13 := []string{"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}
	for _, tc := range append(recordsPairs, struct {
		name string
		c, s SessionOptions
	}{"TLS1.2/client=engine/server=engine", engineRecords, engineRecords}) {
		t.Run(tc.name, func(t *testing.T) {
			var clog, slog syncBuffer
			labels := tls13
			recordsPair(t, tc.c, tc.s, func(c, s *tls.Config) {
				c.KeyLogWriter, s.KeyLogWriter = &clog, &slog
				if strings.HasPrefix(tc.name, "TLS1.2/") {
					c.MinVersion, c.MaxVersion, s.MinVersion, s.MaxVersion = tls.VersionTLS12, tls.VersionTLS12, tls.VersionTLS12, tls.VersionTLS12
					labels = []string{"CLIENT_RANDOM"}
				}
			})
			for _, label := range labels {
				lines := [2]string{keyLogLine(clog.String(), label), keyLogLine(slog.String(), label)}
				for i, line := range lines {
					side := [2]string{"client", "server"}[i]
					f := strings.Fields(line)
					if len(f) != 3 {
						t.Errorf("%s's %s line: %q", side, label, line)
						continue
					}
					if b, err := hex.DecodeString(f[2]); err != nil || len(b) < 32 || bytes.Count(b, []byte{0}) == len(b) {
						t.Errorf("%s's %s: %q is not a hex secret", side, label, f[2])
					}
				}
				if lines[0] != lines[1] {
					t.Errorf("%s: client and server logged different lines:\nclient %q\nserver %q", label, lines[0], lines[1])
				}
			}
		})
	}
}

// keyLogLine returns the NSS key log line of text with that label, or "".
func keyLogLine(text, label string) string {
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, label+" ") {
			return strings.TrimSuffix(line, "\n")
		}
	}
	return ""
}
