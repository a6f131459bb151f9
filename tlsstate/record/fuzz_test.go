package record

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"testing"
)

// fuzzSecrets are fixed so that the corpus can hold valid records.
var fuzzClient, fuzzServer = bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)

func fuzzPair(t testing.TB) (c, s *Layer) {
	c, err := New(Config{Suite: tls.TLS_AES_128_GCM_SHA256, Client: true, ReadSecret: fuzzServer, WriteSecret: fuzzClient, KeyUpdateInterval: 3})
	if err != nil {
		t.Fatal(err)
	}
	s, err = New(Config{Suite: tls.TLS_AES_128_GCM_SHA256, ReadSecret: fuzzClient, WriteSecret: fuzzServer, KeyUpdateInterval: 3})
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

// FuzzOpen feeds arbitrary bytes, in arbitrary chunks, to a server's
// record decoder: it must never panic, consume nothing from a non-empty
// input, or return content larger than a record's; every failure is an
// *Alert or io.EOF, and sticky.
func FuzzOpen(f *testing.F) {
	c, _ := fuzzPair(f)
	valid, _ := c.Seal(nil, []byte("hello, records"))
	_ = c.UpdateKeys(true)
	valid, _ = c.Seal(valid, bytes.Repeat([]byte("x"), 20000))
	f.Add(valid, uint16(7))
	f.Add(valid, uint16(0))
	f.Add([]byte{23, 3, 3, 0, 17}, uint16(1))
	f.Add([]byte{22, 3, 1, 0, 4, 1, 0, 0, 0}, uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16) {
		_, s := fuzzPair(t)
		size := 1 + int(chunk)
		var last error
		for len(in) > 0 {
			piece := in[:min(len(in), size)]
			plain, n, err := s.Open(piece)
			if len(plain) > MaxPlaintext {
				t.Fatalf("content of %d bytes", len(plain))
			}
			if err != nil {
				var a *Alert
				if !errors.As(err, &a) && !errors.Is(err, io.EOF) {
					t.Fatalf("untyped error %v", err)
				}
				last = err
				break
			}
			if n == 0 {
				t.Fatal("no progress")
			}
			in = in[n:]
		}
		if last != nil {
			if _, _, err := s.Open([]byte{0}); err != last {
				t.Fatalf("error not sticky: %v then %v", last, err)
			}
		}
	})
}

// FuzzRoundTrip seals fuzz-chosen content with key updates in between
// and opens it in fuzz-chosen chunks: the content must come back whole.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("some content"), uint16(3), uint8(2))
	f.Fuzz(func(t *testing.T, content []byte, chunk uint16, updates uint8) {
		c, s := fuzzPair(t)
		var ct []byte
		for i := range int(updates%4) + 1 {
			_ = c.UpdateKeys(i%2 == 0)
			ct, _ = c.Seal(ct, content)
		}
		got, err := openAll(t, s, ct, func() int { return 1 + int(chunk) })
		if err != nil || !bytes.Equal(got, bytes.Repeat(content, int(updates%4)+1)) {
			t.Fatalf("%d bytes back of %d, err %v", len(got), len(content)*(int(updates%4)+1), err)
		}
	})
}
