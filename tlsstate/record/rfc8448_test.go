package record

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"testing"
)

// Known answers from RFC 8448 §3 ("Simple 1-RTT Handshake",
// TLS_AES_128_GCM_SHA256): the traffic secrets, the keys and IVs derived
// from them, and the protected records of the trace's application phase.
const (
	rfcClientAppSecret = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
	rfcServerAppSecret = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
	rfcServerHsSecret  = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38"

	// 50 bytes 00..31, sent by each side.
	rfcAppData = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031"

	rfcServerTicket      = "17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac116e95d41d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891a38efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e09c30ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406f16e3fc181a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c86519d86cbeeac87aac347d143f9605d64f650db4d023e70e952ca49fe5137121c74bc2697687e248746d6df353005f3bce18696129c8153556b3b6c6779b37bf15985684f"
	rfcClientAppRecord   = "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4"
	rfcServerAppRecord   = "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d"
	rfcClientCloseRecord = "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3"
	rfcServerCloseRecord = "1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRFC8448TrafficKeys(t *testing.T) {
	s := suiteByID(tls.TLS_AES_128_GCM_SHA256)
	for _, tc := range []struct{ name, secret, key, iv string }{
		{"server handshake", rfcServerHsSecret, "3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
		{"client application", rfcClientAppSecret, "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
		{"server application", rfcServerAppSecret, "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, iv, err := trafficKeys(s, unhex(t, tc.secret))
			if err != nil {
				t.Fatal(err)
			}
			if hex.EncodeToString(key) != tc.key || hex.EncodeToString(iv) != tc.iv {
				t.Fatalf("key %x iv %x, want %s %s", key, iv, tc.key, tc.iv)
			}
		})
	}
}

// rfcLayer is one side of the RFC 8448 trace's application phase.
func rfcLayer(t *testing.T, client bool) *Layer {
	t.Helper()
	read, write := rfcClientAppSecret, rfcServerAppSecret
	if client {
		read, write = write, read
	}
	l, err := New(Config{Suite: tls.TLS_AES_128_GCM_SHA256, Client: client, ReadSecret: unhex(t, read), WriteSecret: unhex(t, write)})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestRFC8448ClientRecords(t *testing.T) {
	c := rfcLayer(t, true)
	got, err := c.Seal(nil, unhex(t, rfcAppData))
	if err != nil || hex.EncodeToString(got) != rfcClientAppRecord {
		t.Fatalf("sealed application data %x (%v), want %s", got, err, rfcClientAppRecord)
	}
	// The server's ticket (ignored), its data, its close_notify, each in
	// place in a buffer of the records one after another.
	in := unhex(t, rfcServerTicket+rfcServerAppRecord+rfcServerCloseRecord)
	plain, n, err := c.Open(in)
	if err != nil || plain != nil || n != len(rfcServerTicket)/2 {
		t.Fatalf("ticket: plain %x, consumed %d, err %v", plain, n, err)
	}
	in = in[n:]
	plain, n, err = c.Open(in)
	if err != nil || !bytes.Equal(plain, unhex(t, rfcAppData)) || &plain[0] != &in[HeaderLen] {
		t.Fatalf("server data: %x, %v (want it decrypted in place)", plain, err)
	}
	if _, _, err = c.Open(in[n:]); !errors.Is(err, io.EOF) {
		t.Fatalf("server close_notify: %v, want io.EOF", err)
	}
	c.Close()
	if got := hex.EncodeToString(c.TakePending(nil)); got != rfcClientCloseRecord {
		t.Fatalf("close_notify %s, want %s", got, rfcClientCloseRecord)
	}
}

func TestRFC8448ServerRecords(t *testing.T) {
	s := rfcLayer(t, false)
	plain, _, err := s.Open(unhex(t, rfcClientAppRecord))
	if err != nil || !bytes.Equal(plain, unhex(t, rfcAppData)) {
		t.Fatalf("client data: %x, %v", plain, err)
	}
	if _, _, err := s.Open(unhex(t, rfcClientCloseRecord)); !errors.Is(err, io.EOF) {
		t.Fatalf("client close_notify: %v, want io.EOF", err)
	}
	s.out.seq = 1 // the trace's server sent its ticket as record 0
	got, err := s.Seal(nil, unhex(t, rfcAppData))
	if err != nil || hex.EncodeToString(got) != rfcServerAppRecord {
		t.Fatalf("sealed %x (%v), want %s", got, err, rfcServerAppRecord)
	}
	s.Close()
	if got := hex.EncodeToString(s.TakePending(nil)); got != rfcServerCloseRecord {
		t.Fatalf("close_notify %s, want %s", got, rfcServerCloseRecord)
	}
}

func TestRFC8448TicketToServerRefused(t *testing.T) {
	// A server layer reading with the server's own key, so that the
	// trace's ticket authenticates and is refused for what it is.
	l, err := New(Config{Suite: tls.TLS_AES_128_GCM_SHA256, ReadSecret: unhex(t, rfcServerAppSecret), WriteSecret: unhex(t, rfcClientAppSecret)})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = l.Open(unhex(t, rfcServerTicket))
	var a *Alert
	if !errors.As(err, &a) || a.Description != AlertUnexpectedMessage || !a.Sent {
		t.Fatalf("ticket to a server: %v, want an unexpected_message alert sent", err)
	}
	if !l.HasPending() {
		t.Fatal("no alert queued for the peer")
	}
}
