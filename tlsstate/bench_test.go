package tlsstate

import (
	"bytes"
	"testing"
)

// BenchmarkSessionPair measures Encrypt + Decrypt through a connected
// client/server pair (TLS 1.3, AES-128-GCM on this machine class): a batch of
// 256 frames of 64 B sealed in one call (what the engine does), the same 256
// frames sealed one call each (what coalescing avoids), and 64 KiB payloads.
// Steady state allocates nothing.
func BenchmarkSessionPair(b *testing.B) {
	c, s := securePair(b)
	small := bytes.Repeat([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 256)
	large := bytes.Repeat([]byte{0xa5}, 64<<10)
	ct := make([]byte, 0, 256<<10)
	plain := make([]byte, 0, 256<<10)
	roundTrip := func(b *testing.B, ct []byte, want int) {
		var used int
		var err error
		plain, used, err = s.Decrypt(plain[:0], ct, 0)
		if err != nil || used != len(ct) || len(plain) != want {
			b.Fatalf("Decrypt: used %d of %d, %d bytes, %v", used, len(ct), len(plain), err)
		}
	}
	b.Run("64Bx256/batch/Encrypt+TakeOutput", func(b *testing.B) {
		b.SetBytes(int64(len(small)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Encrypt(small); err != nil {
				b.Fatal(err)
			}
			ct = c.TakeOutput(ct[:0])
			roundTrip(b, ct, len(small))
		}
	})
	b.Run("64Bx256/batch/AppendEncrypt", func(b *testing.B) {
		b.SetBytes(int64(len(small)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if ct, err = c.AppendEncrypt(ct[:0], small); err != nil {
				b.Fatal(err)
			}
			roundTrip(b, ct, len(small))
		}
	})
	b.Run("64Bx256/one-call-per-message", func(b *testing.B) {
		b.SetBytes(int64(len(small)))
		b.ReportAllocs()
		for b.Loop() {
			ct = ct[:0]
			for i := 0; i < len(small); i += 64 {
				var err error
				if ct, err = c.AppendEncrypt(ct, small[i:i+64]); err != nil {
					b.Fatal(err)
				}
			}
			roundTrip(b, ct, len(small))
		}
	})
	b.Run("64KiB/AppendEncrypt", func(b *testing.B) {
		b.SetBytes(int64(len(large)))
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if ct, err = c.AppendEncrypt(ct[:0], large); err != nil {
				b.Fatal(err)
			}
			roundTrip(b, ct, len(large))
		}
	})
	b.Run("64KiB/Encrypt+TakeOutput", func(b *testing.B) {
		b.SetBytes(int64(len(large)))
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Encrypt(large); err != nil {
				b.Fatal(err)
			}
			ct = c.TakeOutput(ct[:0])
			roundTrip(b, ct, len(large))
		}
	})
}

// BenchmarkHandshake measures a full mutual TLS 1.3 handshake between two
// Sessions (both sides' CPU, in one process).
func BenchmarkHandshake(b *testing.B) {
	p := newPKI(b)
	cc := p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2")
	sc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	b.ReportAllocs()
	for b.Loop() {
		ce, se := newEndpoint(cc, Client), newEndpoint(sc, Server)
		if cerr, serr := handshakePair(b, ce, se); cerr != nil || serr != nil {
			b.Fatal(cerr, serr)
		}
		ce.s.Close()
		se.s.Close()
	}
}
