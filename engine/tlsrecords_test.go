package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tensorchain/transport/tlsstate"
)

// TestTLSRecordLayers runs mutual TLS between nodes with every pairing of
// record layers (the engine's own, which decrypts in place, and
// crypto/tls's): messages of every size, from empty to 1 MiB so that
// frames start, end and span records anywhere, arrive whole and in
// order both ways.
func TestTLSRecordLayers(t *testing.T) {
	layers := []tlsstate.RecordLayer{tlsstate.EngineRecords, tlsstate.CryptoTLSRecords}
	for _, la := range layers {
		for _, lb := range layers {
			t.Run(fmt.Sprintf("%s-to-%s", la, lb), func(t *testing.T) { testTLSRecordLayers(t, la, lb) })
		}
	}
}

func testTLSRecordLayers(t *testing.T, la, lb tlsstate.RecordLayer) {
	ca := newTestCA(t, "ca")
	ta, tb := ca.issue(t, "a", certOpts{}), ca.issue(t, "b", certOpts{})
	ta.RecordLayer, tb.RecordLayer = la, lb
	acfg, bcfg := tlsConfig("a", ta), tlsConfig("b", tb)
	acfg.PoolSize, bcfg.PoolSize = 1, 1 // one ordered connection each way
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	r := rand.New(rand.NewPCG(uint64(la), uint64(lb)))
	var sizes []int
	for range 300 {
		sizes = append(sizes, r.IntN(40<<10)) // most frames span or share records
	}
	sizes = append(sizes, 0, 1, 16<<10-5, 16<<10, 1<<20)
	for _, dir := range []struct {
		name     string
		from, to *Transport
		peer     string
	}{{"a to b", a, b, "b"}, {"b to a", b, a, "a"}} {
		errc := make(chan error, 1)
		go func() {
			for i, n := range sizes {
				if err := dir.from.Send(context.Background(), dir.peer, payloadOf(i, n)); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for i, n := range sizes {
			m := recvTimeout(t, dir.to, 10*time.Second)
			if !bytes.Equal(m.Payload, payloadOf(i, n)) {
				t.Fatalf("%s: message %d (%d bytes) arrived as %d bytes, or out of order", dir.name, i, n, len(m.Payload))
			}
			m.Release()
		}
		if err := <-errc; err != nil {
			t.Fatalf("%s: %v", dir.name, err)
		}
	}
}

// payloadOf is message i of n bytes: its index, then a pattern.
func payloadOf(i, n int) []byte {
	p := bytes.Repeat([]byte{byte(i * 7)}, n)
	if n >= 4 {
		binary.BigEndian.PutUint32(p, uint32(i))
	}
	return p
}

// TestTLSKeyUpdatesThroughTheLoop: with a short key_update_interval both
// nodes rotate their keys many times during a transfer each way, and ask
// each other to rotate; the event loops answer through their flushes and
// every message arrives whole and in order. Stats count the KeyUpdates
// as they are sealed and opened: no side has received more than the
// other sent, even when one only sends.
func TestTLSKeyUpdatesThroughTheLoop(t *testing.T) {
	ca := newTestCA(t, "ca")
	ta, tb := ca.issue(t, "a", certOpts{}), ca.issue(t, "b", certOpts{})
	ta.KeyUpdateInterval, tb.KeyUpdateInterval = 8, 8
	acfg, bcfg := tlsConfig("a", ta), tlsConfig("b", tb)
	acfg.PoolSize, bcfg.PoolSize = 1, 1
	// The payloads compress 100-fold, and however the writer then batches
	// them decides how many records there are: without compression, the
	// 5.5 MB each way take at least 330 records, 41 rotations.
	acfg.Compression.Enabled, bcfg.Compression.Enabled = false, false
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	const n = 600
	for _, dir := range []struct {
		from, to *Transport
		peer     string
	}{{a, b, "b"}, {b, a, "a"}} {
		errc := make(chan error, 1)
		go func() {
			for i := range n {
				if err := dir.from.Send(context.Background(), dir.peer, payloadOf(i, 1+i*37%20000)); err != nil {
					errc <- err
					return
				}
			}
			errc <- nil
		}()
		for i := range n {
			m := recvTimeout(t, dir.to, 10*time.Second)
			if !bytes.Equal(m.Payload, payloadOf(i, 1+i*37%20000)) {
				t.Fatalf("to %s: message %d corrupted or out of order", dir.peer, i)
			}
			m.Release()
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	// Each side's received count is read before its peer's sent count: a
	// KeyUpdate sealed in between (a late Credit can be the 8th record)
	// is then counted as sent and not yet as received, never the reverse.
	sb0 := b.Stats()
	sa := a.Stats()
	sb := b.Stats()
	for _, s := range []struct {
		name     string
		st, peer Stats // peer's received read before st's sent
	}{{"a", sa, sb0}, {"b", sb, sa}} {
		if s.st.KeyUpdatesSent < 40 || s.st.KeyUpdatesReceived < 40 {
			t.Fatalf("%s: %d KeyUpdates sent, %d received over at least 330 records each way at 8 a key", s.name, s.st.KeyUpdatesSent, s.st.KeyUpdatesReceived)
		}
		if s.st.KeyUpdatesSent < s.peer.KeyUpdatesReceived {
			t.Fatalf("%s counts %d KeyUpdates sent, its peer %d received", s.name, s.st.KeyUpdatesSent, s.peer.KeyUpdatesReceived)
		}
	}
	t.Logf("KeyUpdates: a sent %d received %d, b sent %d received %d", sa.KeyUpdatesSent, sa.KeyUpdatesReceived, sb.KeyUpdatesSent, sb.KeyUpdatesReceived)
}

// TestTLSBadRecordsRefused: a peer that completed the handshake and sent
// its hello, then sends a record that does not authenticate, or an
// unprotected record, is refused by the engine's record layer with a
// typed error, counted as a protocol error, and told why (the alert);
// the node keeps serving an honest peer.
func TestTLSBadRecordsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record []byte
		alert  string
	}{
		{"forged record", append([]byte{23, 3, 3, 0, 40}, bytes.Repeat([]byte{0xa5}, 40)...), "bad record MAC"},
		{"plaintext handshake record", []byte{22, 3, 3, 0, 4, 24, 0, 0, 1}, "unexpected message"},
		{"oversized record", []byte{23, 3, 3, 0x48, 0}, "record overflow"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t, "ca")
			b := startTransport(t, tlsConfig("b", ca.issue(t, "b", certOpts{})))
			raw, err := rawTLSClient(t, b, ca, ca.issue(t, "mallory", certOpts{}), "mallory")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			waitFor(t, 5*time.Second, func() bool { return len(b.Peers()) == 1 })
			before := b.Stats().ProtocolErrors
			if _, err := raw.NetConn().Write(tc.record); err != nil { // below crypto/tls: raw bytes on the socket
				t.Fatal(err)
			}
			_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 1024)
			var rerr error
			for rerr == nil {
				_, rerr = raw.Read(buf) // the hello, then the node's alert
			}
			if !strings.Contains(rerr.Error(), tc.alert) {
				t.Fatalf("the peer read %v, want the alert %q", rerr, tc.alert)
			}
			waitFor(t, 5*time.Second, func() bool { return b.Stats().ProtocolErrors > before })
			good := startTransport(t, tlsConfig("good", ca.issue(t, "good", certOpts{})))
			connect(t, good, b)
			if err := good.Send(context.Background(), "b", []byte("still serving")); err != nil {
				t.Fatal(err)
			}
			if m := recvTimeout(t, b, 5*time.Second); string(m.Payload) != "still serving" {
				t.Fatalf("got %q", m.Payload)
			}
		})
	}
}

// TestTLSStalledReceiverSmallKeyInterval: with a short key_update_interval
// a receiver whose application stalls reads a long stream (its loop takes
// everything the window allows) without sending data of its own. It must
// not ask its peer for a KeyUpdate per peer key in a run of data-less
// records, which the peer (either record layer) refuses after 16: a
// review found exactly that killing the connection.
func TestTLSStalledReceiverSmallKeyInterval(t *testing.T) {
	for _, layer := range []tlsstate.RecordLayer{tlsstate.EngineRecords, tlsstate.CryptoTLSRecords} {
		t.Run("sender-"+layer.String(), func(t *testing.T) {
			ca := newTestCA(t, "ca")
			ta, tb := ca.issue(t, "a", certOpts{}), ca.issue(t, "b", certOpts{})
			ta.KeyUpdateInterval, tb.KeyUpdateInterval = 8, 8
			ta.RecordLayer = layer
			acfg, bcfg := tlsConfig("a", ta), tlsConfig("b", tb)
			acfg.PoolSize, bcfg.PoolSize = 1, 1
			bcfg.ReceiveWindow = 32 << 20
			bcfg.RecvBufferBytes = 64 << 20
			bcfg.RecvBufferSize = 10000
			a := startTransport(t, acfg)
			b := startTransport(t, bcfg)
			connect(t, a, b)
			const n, size = 600, 16000
			for i := range n {
				if err := a.Send(context.Background(), "b", payloadOf(i, size)); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 10*time.Second, func() bool {
				return b.Stats().MessagesReceived == n || a.Stats().ProtocolErrors+b.Stats().ProtocolErrors > 0
			})
			for i := range n {
				m := recvTimeout(t, b, 5*time.Second)
				if !bytes.Equal(m.Payload, payloadOf(i, size)) {
					t.Fatalf("message %d corrupted or out of order", i)
				}
				m.Release()
			}
			if sa, sb := a.Stats(), b.Stats(); sa.ProtocolErrors+sb.ProtocolErrors > 0 || sa.ReconnectAttempts > 0 {
				t.Fatalf("the connection failed: protocol errors %d and %d, reconnects %d", sa.ProtocolErrors, sb.ProtocolErrors, sa.ReconnectAttempts)
			}
		})
	}
}
