package tlsstate

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// clientHello returns a real ClientHello from a client Session.
func clientHello(t fataler, p *pki) []byte {
	e := newEndpoint(p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
	e.start(nil, time.Now().Add(10*time.Second))
	defer e.s.Close()
	select {
	case <-e.wake:
	case <-time.After(10 * time.Second):
		t.Fatal("no ClientHello")
	}
	return e.s.TakeOutput(nil)
}

// FuzzServerHandshake feeds arbitrary bytes to a server Session's
// handshake: it must not panic, and must end with an error wrapping
// ErrHandshake (the fuzzer cannot complete a mutual TLS handshake).
func FuzzServerHandshake(f *testing.F) {
	p := newPKI(f)
	tc := p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict)
	hello := clientHello(f, p)
	f.Add(hello)
	f.Add(hello[:len(hello)/2])
	f.Add(append(hello[:len(hello):len(hello)], 0x15, 3, 3, 0, 2, 2, 40))
	f.Add([]byte("GET / HTTP/1.1\r\nHost: node2\r\n\r\n"))
	f.Add([]byte{0x16, 3, 1, 0, 0})
	f.Add([]byte{0x16, 3, 1, 0xff, 0xff, 1})
	f.Add([]byte{0x80, 0x2e, 0x01, 0x03, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		e := newEndpoint(tc, Server)
		e.start(nil, time.Now().Add(5*time.Second))
		e.s.Feed(data)
		// Let the handshake consume the input, then end it.
		var err error
		finished := false
		for end := time.Now().Add(2 * time.Second); e.s.Buffered() > 0 && time.Now().Before(end); {
			select {
			case err = <-e.done:
				finished = true
			case <-time.After(50 * time.Microsecond):
			}
			if finished {
				break
			}
		}
		e.s.Close()
		if !finished {
			err = recvErr(t, e.done, 10*time.Second)
		}
		if err == nil || !errors.Is(err, ErrHandshake) {
			t.Fatalf("handshake result: %v", err)
		}
		e.s.TakeOutput(nil)
	})
}

// fuzzPair is one connected pair shared by FuzzDecryptChunking's calls.
var fuzzPair = struct {
	once sync.Once
	mu   sync.Mutex
	c, s *Session
}{}

// FuzzDecryptChunking seals a message and feeds the ciphertext to Decrypt
// in chunks and with output limits chosen by the fuzzer: the plaintext must
// come out intact and every byte must be consumed exactly once.
func FuzzDecryptChunking(f *testing.F) {
	f.Add([]byte("hello"), []byte{1, 2, 3}, uint16(1))
	f.Add(make([]byte, 40000), []byte{5, 200, 7}, uint16(0))
	f.Add([]byte{}, []byte{}, uint16(100))
	f.Fuzz(func(t *testing.T, msg, chunks []byte, maxOut uint16) {
		fuzzPair.once.Do(func() { fuzzPair.c, fuzzPair.s = securePairNoCleanup(t) })
		fuzzPair.mu.Lock()
		defer fuzzPair.mu.Unlock()
		c, s := fuzzPair.c, fuzzPair.s
		if err := c.Encrypt(msg); err != nil {
			t.Fatal(err)
		}
		ct := c.TakeOutput(nil)
		var plain []byte
		for i := 0; len(ct) > 0; i++ {
			n := len(ct)
			if len(chunks) > 0 {
				n = min(n, 1+int(chunks[i%len(chunks)])*int(chunks[(i+1)%len(chunks)]))
			}
			var used int
			var err error
			plain, used, err = s.Decrypt(plain, ct[:n], int(maxOut))
			if err != nil {
				t.Fatal(err)
			}
			if used > n || (used < n && maxOut == 0) {
				t.Fatalf("consumed %d of %d (maxOut %d)", used, n, maxOut)
			}
			ct = ct[used:]
		}
		if string(plain) != string(msg) {
			t.Fatalf("plaintext differs: %d vs %d bytes", len(plain), len(msg))
		}
	})
}

// securePairNoCleanup is securePair for state shared across fuzz calls.
func securePairNoCleanup(t *testing.T) (c, s *Session) {
	p := newPKI(t)
	ce := newEndpoint(p.node1.creds(strictCfg, p.ca.pool()).ClientConfig(Strict, "node2"), Client)
	se := newEndpoint(p.node2.creds(strictCfg, p.ca.pool()).ServerConfig(Strict), Server)
	if cerr, serr := handshakePair(t, ce, se); cerr != nil || serr != nil {
		t.Fatalf("handshake: %v %v", cerr, serr)
	}
	return ce.s, se.s
}

// FuzzFirstRecordIn feeds arbitrary bytes in arbitrary pieces: the first
// record counts as in exactly when the bytes fed so far hold its 5-byte
// header and the length that header announces.
func FuzzFirstRecordIn(f *testing.F) {
	f.Add([]byte{22, 3, 1, 0, 2, 1, 1}, uint8(1))
	f.Add([]byte{22, 3, 1, 255, 255}, uint8(3))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		s := NewSession(nil, Server, nil)
		n := max(int(step), 1)
		for off := 0; off < len(in); off += n {
			s.Feed(in[off:min(off+n, len(in))])
			fed := min(off+n, len(in))
			want := fed >= 5 && fed >= 5+int(in[3])<<8+int(in[4])
			if got := s.FirstRecordIn(); got != want {
				t.Fatalf("after %d of %x: FirstRecordIn %v, want %v", fed, in, got, want)
			}
		}
	})
}
