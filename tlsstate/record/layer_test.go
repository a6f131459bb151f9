package record

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"io"
	mrand "math/rand/v2"
	"testing"
)

var allSuites = []struct {
	name string
	id   uint16
}{
	{"AES_128_GCM_SHA256", tls.TLS_AES_128_GCM_SHA256},
	{"AES_256_GCM_SHA384", tls.TLS_AES_256_GCM_SHA384},
	{"CHACHA20_POLY1305_SHA256", tls.TLS_CHACHA20_POLY1305_SHA256},
}

// pair returns a client and a server layer sharing random secrets.
func pair(t testing.TB, id uint16, interval uint64) (c, s *Layer) {
	t.Helper()
	n := suiteByID(id).hashLen
	cs, ss := make([]byte, n), make([]byte, n)
	rand.Read(cs)
	rand.Read(ss)
	var err error
	if c, err = New(Config{Suite: id, Client: true, ReadSecret: ss, WriteSecret: cs, KeyUpdateInterval: interval}); err != nil {
		t.Fatal(err)
	}
	if s, err = New(Config{Suite: id, ReadSecret: cs, WriteSecret: ss, KeyUpdateInterval: interval}); err != nil {
		t.Fatal(err)
	}
	return c, s
}

// openAll feeds ct to l in chunks of the sizes next returns and collects
// the application data.
func openAll(t testing.TB, l *Layer, ct []byte, next func() int) ([]byte, error) {
	t.Helper()
	var got []byte
	for len(ct) > 0 {
		chunk := ct[:min(len(ct), next())]
		for len(chunk) > 0 {
			plain, n, err := l.Open(chunk)
			got = append(got, plain...)
			if err != nil {
				return got, err
			}
			if n == 0 {
				t.Fatal("Open consumed nothing from a non-empty input")
			}
			chunk, ct = chunk[n:], ct[n:]
		}
	}
	return got, nil
}

func TestRoundTripAllSuites(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	for _, sc := range allSuites {
		for _, chunk := range []int{1, 7, 5 + 17, 1000, 1 << 20} {
			t.Run(sc.name, func(t *testing.T) {
				c, s := pair(t, sc.id, 0)
				var want, ct []byte
				for range 20 {
					msg := make([]byte, r.IntN(3*MaxPlaintext))
					rand.Read(msg)
					want = append(want, msg...)
					var err error
					if ct, err = c.Seal(ct, msg); err != nil {
						t.Fatal(err)
					}
				}
				got, err := openAll(t, s, ct, func() int { return 1 + r.IntN(chunk) })
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("chunks of up to %d: %d of %d bytes, err %v", chunk, len(got), len(want), err)
				}
			})
		}
	}
}

func TestKeyUpdateBothWays(t *testing.T) {
	for _, sc := range allSuites {
		t.Run(sc.name, func(t *testing.T) {
			c, s := pair(t, sc.id, 0)
			if err := c.UpdateKeys(true); err != nil {
				t.Fatal(err)
			}
			ct, _ := c.Seal(nil, []byte("after the client's update"))
			got, err := openAll(t, s, ct, func() int { return 3 })
			if err != nil || string(got) != "after the client's update" {
				t.Fatalf("server read %q, %v", got, err)
			}
			if !s.HasPending() {
				t.Fatal("the server did not answer update_requested")
			}
			ct, _ = s.Seal(nil, []byte("after the server's answer")) // the answer goes first
			got, err = openAll(t, c, ct, func() int { return 1 << 20 })
			if err != nil || string(got) != "after the server's answer" {
				t.Fatalf("client read %q, %v", got, err)
			}
			cs, cr := c.KeyUpdates()
			ss, sr := s.KeyUpdates()
			if cs != 1 || cr != 1 || ss != 1 || sr != 1 {
				t.Fatalf("updates: client sent %d received %d, server sent %d received %d; want 1 each", cs, cr, ss, sr)
			}
		})
	}
}

// TestTotals: layers sharing Counters add every KeyUpdate to them the
// moment it is sealed or opened, whoever asked for it.
func TestTotals(t *testing.T) {
	c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 4)
	var totals Counters
	c.totals, s.totals = &totals, &totals
	if err := c.UpdateKeys(true); err != nil { // sealed into pending: sent
		t.Fatal(err)
	}
	if got := totals.Sent.Load(); got != 1 {
		t.Fatalf("after UpdateKeys: %d sent, want 1", got)
	}
	ct, _ := c.Seal(nil, make([]byte, 5*MaxPlaintext)) // and one rotation at the interval
	if _, err := openAll(t, s, ct, func() int { return 1000 }); err != nil {
		t.Fatal(err)
	}
	ct = s.TakePending(nil) // the answer to the request
	if _, err := openAll(t, c, ct, func() int { return 1 << 20 }); err != nil {
		t.Fatal(err)
	}
	cs, cr := c.KeyUpdates()
	ss, sr := s.KeyUpdates()
	if totals.Sent.Load() != cs+ss || totals.Received.Load() != cr+sr || cs != 2 || sr != 2 || ss != 1 || cr != 1 {
		t.Fatalf("totals sent %d received %d; client sent %d received %d, server sent %d received %d",
			totals.Sent.Load(), totals.Received.Load(), cs, cr, ss, sr)
	}
}

// TestKeyUpdateInterval: with a short interval each side rotates its own
// key and asks the other to rotate, and data keeps flowing both ways.
func TestKeyUpdateInterval(t *testing.T) {
	c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 4)
	var sent, got [2][]byte
	for i := range 50 {
		msg := []byte{byte(i), byte(i >> 8), 1, 2, 3}
		for side, l := range []*Layer{c, s} {
			ct, err := l.Seal(nil, msg)
			if err != nil {
				t.Fatal(err)
			}
			sent[side] = append(sent[side], msg...)
			peer := []*Layer{s, c}[side]
			p, err := openAll(t, peer, ct, func() int { return 1 << 20 })
			if err != nil {
				t.Fatalf("round %d side %d: %v", i, side, err)
			}
			got[side] = append(got[side], p...)
		}
	}
	if !bytes.Equal(sent[0], got[0]) || !bytes.Equal(sent[1], got[1]) {
		t.Fatal("data lost across key updates")
	}
	if n, _ := c.KeyUpdates(); n < 10 {
		t.Fatalf("client sent %d KeyUpdates in 50 records with an interval of 4", n)
	}
	if c.out.seq > 4 || s.out.seq > 4 || c.in.seq > 4 || s.in.seq > 4 {
		t.Fatalf("a key protected more than its interval: %d %d %d %d", c.out.seq, s.out.seq, c.in.seq, s.in.seq)
	}
}

func TestSequenceNeverWraps(t *testing.T) {
	c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, ^uint64(0))
	c.out.seq = ^uint64(0) - 1
	ct, err := c.Seal(nil, []byte("last"))
	if err != nil {
		t.Fatalf("the last sequence number but one: %v", err)
	}
	if _, err := c.Seal(nil, []byte("wrap")); err == nil {
		t.Fatal("a record sealed with the exhausted sequence number")
	}
	s.in.seq = ^uint64(0) - 1
	if p, _, err := s.Open(ct); err != nil || string(p) != "last" {
		t.Fatalf("open the last record: %q %v", p, err)
	}
	var a *Alert
	if _, _, err := s.Open(ct); !errors.As(err, &a) || a.Description != AlertInternalError {
		t.Fatalf("open past the last sequence number: %v", err)
	}
}

// sealRaw seals content of inner type typ with l's write key, bypassing
// Seal's checks, so tests can build records a correct peer would not.
func sealRaw(l *Layer, typ byte, content []byte) []byte {
	out, _ := l.out.seal(nil, typ, content)
	return out
}

func TestRefusals(t *testing.T) {
	ku := func(v byte) []byte { return []byte{msgKeyUpdate, 0, 0, 1, v} }
	for _, tc := range []struct {
		name  string
		build func(c *Layer) []byte
		want  AlertDescription
	}{
		{"bit flipped", func(c *Layer) []byte { r := sealRaw(c, typeApplicationData, []byte("x")); r[len(r)-1] ^= 1; return r }, AlertBadRecordMAC},
		{"truncated tag", func(c *Layer) []byte {
			r := sealRaw(c, typeApplicationData, nil)
			return append([]byte{23, 3, 3, 0, 4}, r[5:9]...)
		}, AlertBadRecordMAC},
		{"plaintext handshake record", func(*Layer) []byte { return []byte{22, 3, 3, 0, 1, 0} }, AlertUnexpectedMessage},
		{"change_cipher_spec", func(*Layer) []byte { return []byte{20, 3, 3, 0, 1, 1} }, AlertUnexpectedMessage},
		{"oversized record", func(*Layer) []byte { return []byte{23, 3, 3, 0x41, 1} }, AlertRecordOverflow},
		{"oversized content", func(c *Layer) []byte { return sealRaw(c, typeApplicationData, make([]byte, MaxPlaintext+1)) }, AlertRecordOverflow},
		{"only padding", func(c *Layer) []byte { return sealRaw(c, 0, []byte{0, 0}) }, AlertUnexpectedMessage},
		{"unknown content type", func(c *Layer) []byte { return sealRaw(c, 99, []byte("x")) }, AlertUnexpectedMessage},
		{"inner change_cipher_spec", func(c *Layer) []byte { return sealRaw(c, typeChangeCipherSpec, []byte{1}) }, AlertUnexpectedMessage},
		{"empty handshake record", func(c *Layer) []byte { return sealRaw(c, typeHandshake, nil) }, AlertUnexpectedMessage},
		{"certificate request", func(c *Layer) []byte { return sealRaw(c, typeHandshake, []byte{13, 0, 0, 0}) }, AlertUnexpectedMessage},
		{"huge handshake message", func(c *Layer) []byte { return sealRaw(c, typeHandshake, []byte{msgNewSessionTicket, 2, 0, 0}) }, AlertUnexpectedMessage},
		{"KeyUpdate value 2", func(c *Layer) []byte { return sealRaw(c, typeHandshake, ku(2)) }, AlertIllegalParameter},
		{"KeyUpdate of 2 bytes", func(c *Layer) []byte { return sealRaw(c, typeHandshake, []byte{msgKeyUpdate, 0, 0, 2, 0, 0}) }, AlertDecodeError},
		{"KeyUpdate not last in record", func(c *Layer) []byte {
			return sealRaw(c, typeHandshake, append(ku(0), msgNewSessionTicket, 0, 0, 0))
		}, AlertUnexpectedMessage},
		{"data inside a fragmented message", func(c *Layer) []byte {
			return append(sealRaw(c, typeHandshake, []byte{msgNewSessionTicket, 0, 0, 9, 1}), sealRaw(c, typeApplicationData, []byte("x"))...)
		}, AlertUnexpectedMessage},
		{"alert of 3 bytes", func(c *Layer) []byte { return sealRaw(c, typeAlert, []byte{2, 40, 0}) }, AlertDecodeError},
		{"17 empty records", func(c *Layer) []byte {
			var b []byte
			for range maxUseless + 1 {
				b = append(b, sealRaw(c, typeApplicationData, nil)...)
			}
			return b
		}, AlertUnexpectedMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
			_, err := openAll(t, s, tc.build(c), func() int { return 1 << 20 })
			var a *Alert
			if !errors.As(err, &a) || a.Description != tc.want || !a.Sent {
				t.Fatalf("got %v, want %s sent", err, tc.want)
			}
			if _, _, again := s.Open([]byte{23}); again != err {
				t.Fatalf("error not sticky: %v", again)
			}
			alert := s.TakePending(nil)
			p, _, err := c.Open(alert)
			if !errors.As(err, &a) || a.Description != tc.want || a.Sent || p != nil {
				t.Fatalf("the peer read %v from the queued alert, want %s received", err, tc.want)
			}
			if _, err := s.Seal(nil, []byte("x")); err == nil {
				t.Fatal("Seal works after a fatal alert")
			}
		})
	}
}

func TestPeerAlerts(t *testing.T) {
	c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
	in := append(sealRaw(c, typeAlert, []byte{1, byte(AlertUserCanceled)}), sealRaw(c, typeApplicationData, []byte("still here"))...)
	got, err := openAll(t, s, in, func() int { return 1 << 20 })
	if err != nil || string(got) != "still here" {
		t.Fatalf("user_canceled should be ignored: %q %v", got, err)
	}
	_, err = openAll(t, s, sealRaw(c, typeAlert, []byte{2, 40}), func() int { return 1 << 20 })
	var a *Alert
	if !errors.As(err, &a) || a.Description != 40 || a.Sent || s.HasPending() {
		t.Fatalf("handshake_failure from the peer: %v (pending %v)", err, s.HasPending())
	}
	c2, s2 := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
	c2.Close()
	c2.Close()
	closeNotify := c2.TakePending(nil)
	if _, err := c2.Seal(nil, []byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Seal after Close: %v", err)
	}
	if _, err := openAll(t, s2, closeNotify, func() int { return 2 }); !errors.Is(err, io.EOF) {
		t.Fatalf("close_notify read as %v", err)
	}
}

func TestTicketsAcrossRecords(t *testing.T) {
	c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
	ticket := append([]byte{msgNewSessionTicket, 0, 0x01, 0x00}, make([]byte, 256)...)
	in := append(sealRaw(s, typeHandshake, ticket[:100]), sealRaw(s, typeHandshake, ticket[100:])...)
	in = append(in, sealRaw(s, typeHandshake, append(ticket, ticket...))...) // two in one record
	in = append(in, sealRaw(s, typeApplicationData, []byte("data"))...)
	got, err := openAll(t, c, in, func() int { return 13 })
	if err != nil || string(got) != "data" {
		t.Fatalf("%q %v", got, err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{Suite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ReadSecret: make([]byte, 32), WriteSecret: make([]byte, 32)}); err == nil {
		t.Fatal("a TLS 1.2 suite accepted")
	}
	if _, err := New(Config{Suite: tls.TLS_AES_256_GCM_SHA384, ReadSecret: make([]byte, 32), WriteSecret: make([]byte, 32)}); err == nil {
		t.Fatal("32-byte secrets accepted for a SHA-384 suite")
	}
	if Supports(tls.TLS_RSA_WITH_AES_128_CBC_SHA) || !Supports(tls.TLS_CHACHA20_POLY1305_SHA256) {
		t.Fatal("Supports is wrong")
	}
}

func TestSealedLenBounds(t *testing.T) {
	c, _ := pair(t, tls.TLS_AES_128_GCM_SHA256, 1)
	for _, n := range []int{0, 1, MaxPlaintext - 1, MaxPlaintext, MaxPlaintext + 1, 5 * MaxPlaintext} {
		out, err := c.Seal(nil, make([]byte, n))
		if err != nil || len(out) > SealedLen(n) {
			t.Fatalf("%d bytes sealed into %d, bound %d (%v)", n, len(out), SealedLen(n), err)
		}
	}
}

// TestReviewFindings pins the fixes of a review of this layer: padding
// counts toward the record size limit; close_notify ends input even after
// many empty records; a fragmented ticket counts once; any number of
// update requests gets one answer; the peer's fatal alert stops sealing.
func TestReviewFindings(t *testing.T) {
	t.Run("padding beyond the record limit", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
		inner := append(append(make([]byte, MaxPlaintext), typeApplicationData), make([]byte, 199)...)
		_, err := openAll(t, s, sealRaw(c, 0, inner), func() int { return 1 << 20 })
		var a *Alert
		if !errors.As(err, &a) || a.Description != AlertRecordOverflow {
			t.Fatalf("%d bytes of padded plaintext: %v, want record_overflow", len(inner)+1, err)
		}
	})
	t.Run("close_notify after empty records", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
		var in []byte
		for range maxUseless {
			in = append(in, sealRaw(c, typeApplicationData, nil)...)
		}
		c.Close()
		in = append(in, c.TakePending(nil)...)
		if _, err := openAll(t, s, in, func() int { return 1 << 20 }); !errors.Is(err, io.EOF) {
			t.Fatalf("got %v, want io.EOF", err)
		}
	})
	t.Run("a ticket in 32 fragments", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
		ticket := append([]byte{msgNewSessionTicket, 0, 0x80, 0}, make([]byte, 32<<10)...)
		var in []byte
		for i := 0; i < len(ticket); i += 1 << 10 {
			in = append(in, sealRaw(s, typeHandshake, ticket[i:min(i+1<<10, len(ticket))])...)
		}
		in = append(in, sealRaw(s, typeApplicationData, []byte("after"))...)
		if got, err := openAll(t, c, in, func() int { return 1 << 20 }); err != nil || string(got) != "after" {
			t.Fatalf("%q %v", got, err)
		}
	})
	t.Run("many update requests, one answer", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
		var in []byte
		for range 3 {
			for range maxUseless - 1 {
				_ = c.UpdateKeys(true)
			}
			in = c.TakePending(in)
			in, _ = c.Seal(in, []byte("x")) // resets the peer's count of records without data
		}
		if got, err := openAll(t, s, in, func() int { return 1 << 20 }); err != nil || string(got) != "xxx" {
			t.Fatalf("%q %v", got, err)
		}
		answer := s.TakePending(nil)
		if len(answer) != keyUpdateLen {
			t.Fatalf("%d bytes pending after %d requests, want one KeyUpdate (%d)", len(answer), 3*(maxUseless-1), keyUpdateLen)
		}
		answer, _ = s.Seal(answer, []byte("y"))
		if got, err := openAll(t, c, answer, func() int { return 1 << 20 }); err != nil || string(got) != "y" {
			t.Fatalf("the answer: %q %v", got, err)
		}
	})
	t.Run("the peer's fatal alert stops sealing", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 0)
		_, _ = openAll(t, s, sealRaw(c, typeAlert, []byte{2, 40}), func() int { return 1 << 20 })
		if _, err := s.Seal(nil, []byte("x")); err == nil {
			t.Fatal("Seal works after the peer's fatal alert")
		}
		if s.in.aead != nil || s.out.aead != nil {
			t.Fatal("keys kept after the connection failed")
		}
	})
}

// TestSealOwnedMatchesSeal: sealing borrowed bytes gives exactly the
// records Seal gives, and leaves the content and the byte after each
// record's content as they were.
func TestSealOwnedMatchesSeal(t *testing.T) {
	for _, n := range []int{0, 1, MaxPlaintext - 1, MaxPlaintext, MaxPlaintext + 1, 3*MaxPlaintext + 7} {
		for _, spare := range []int{0, 1, 100} {
			secret := bytes.Repeat([]byte{7}, 32) // the same keys for both: the records must be equal
			cfg := Config{Suite: tls.TLS_AES_128_GCM_SHA256, Client: true, ReadSecret: secret, WriteSecret: secret}
			c1, err1 := New(cfg)
			c2, err2 := New(cfg)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			buf := make([]byte, n+spare)
			rand.Read(buf)
			before := bytes.Clone(buf)
			want, _ := c1.Seal(nil, buf[:n])
			got, err := c2.SealOwned(nil, buf[:n])
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, %d spare: SealOwned differs from Seal (%v)", n, spare, err)
			}
			if !bytes.Equal(buf, before) {
				t.Fatalf("%d bytes, %d spare: the content or the spare bytes changed", n, spare)
			}
		}
	}
}

// TestAskingThePeer: a receiver never asks a peer that rotates its key by
// itself, and asks one that does not only once per key and only in front
// of its own data, so a receiver with nothing to send never sends a run
// of data-less records (a review found 17 asks in a row killing a
// stalled receiver's connection at a small interval).
func TestAskingThePeer(t *testing.T) {
	t.Run("a peer that rotates by itself", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 8)
		for range 1000 {
			ct, _ := c.Seal(nil, []byte("data"))
			if _, err := openAll(t, s, ct, func() int { return 1 << 20 }); err != nil {
				t.Fatal(err)
			}
		}
		if s.HasPending() {
			t.Fatal("the receiver queued records although it sends nothing and its peer rotates by itself")
		}
		if sent, _ := s.KeyUpdates(); sent != 0 {
			t.Fatalf("the receiver sent %d KeyUpdates", sent)
		}
	})
	t.Run("a peer that never rotates", func(t *testing.T) {
		c, s := pair(t, tls.TLS_AES_128_GCM_SHA256, 8)
		c.interval = ^uint64(0) // like crypto/tls: it rotates only when asked
		for range 100 {
			ct, _ := c.Seal(nil, []byte("data"))
			if _, err := openAll(t, s, ct, func() int { return 1 << 20 }); err != nil {
				t.Fatal(err)
			}
		}
		if s.HasPending() {
			t.Fatal("the request went out without data")
		}
		ct, _ := s.Seal(nil, []byte("reply"))
		if len(ct) != keyUpdateLen+HeaderLen+len("reply")+1+tagLen {
			t.Fatalf("%d bytes: want one KeyUpdate and the data record", len(ct))
		}
		if got, err := openAll(t, c, ct, func() int { return 1 << 20 }); err != nil || string(got) != "reply" {
			t.Fatalf("%q %v", got, err)
		}
		if !c.HasPending() { // c owes its answer
			t.Fatal("the peer was not asked")
		}
	})
}
