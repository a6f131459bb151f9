package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
