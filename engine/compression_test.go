package engine

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/tensorchain/transport/codec"
)

// compressible returns n bytes of JSON-like data.
func compressible(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, `{"index":%d,"term":7,"type":"entry","data":"set key-%d"},`, i, i%50)
	}
	return b.Bytes()[:n]
}

func TestCompressionNegotiationMatrix(t *testing.T) {
	tests := []struct {
		name           string
		sender, recver bool
		wantCompressed bool
	}{
		{"on/on", true, true, true},
		{"on/off", true, false, false},
		{"off/on", false, true, false},
		{"off/off", false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			acfg, bcfg := devConfig("a"), devConfig("b")
			acfg.Compression.Enabled, bcfg.Compression.Enabled = tc.sender, tc.recver
			a := startTransport(t, acfg)
			b := startTransport(t, bcfg)
			connect(t, a, b)
			payload := compressible(64 << 10)
			for range 10 {
				if err := a.Send(context.Background(), "b", payload); err != nil {
					t.Fatal(err)
				}
			}
			for range 10 {
				m := recvTimeout(t, b, 5*time.Second)
				if !bytes.Equal(m.Payload, payload) {
					t.Fatal("payload corrupted")
				}
				m.Release()
			}
			waitFor(t, 5*time.Second, func() bool { return a.Stats().MessagesSent == 10 }) // stats publish after the write
			st := a.Stats()
			wire, raw := st.BytesSent, uint64(10*(len(payload)+codec.HeaderSize))
			if tc.wantCompressed {
				if st.CompressedFrames != 10 || wire >= raw/2 {
					t.Fatalf("compressed frames %d, %d wire bytes for %d raw", st.CompressedFrames, wire, raw)
				}
				if bst := b.Stats(); bst.DecompressedBytesIn != uint64(10*len(payload)) {
					t.Fatalf("receiver decompressed %d bytes", bst.DecompressedBytesIn)
				}
			} else if st.CompressedFrames != 0 || wire != raw {
				t.Fatalf("compression used without both sides: %d frames, %d wire bytes for %d raw", st.CompressedFrames, wire, raw)
			}
			t.Logf("%s: %d payload bytes -> %d wire bytes (ratio %.2f)", tc.name, 10*len(payload), wire, st.CompressionRatio)
		})
	}
}

func TestCompressionThresholds(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	min := a.cfg.Compression.MinSize
	random := make([]byte, 4096)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range random {
		random[i] = byte(r.Uint32())
	}
	tests := []struct {
		name    string
		payload []byte
		want    uint64 // compressed frames added
	}{
		{"MinSize-1 compressible", compressible(min - 1), 0},
		{"MinSize compressible", compressible(min), 1},
		{"incompressible 4 KiB", random, 0},
		{"empty", nil, 0},
	}
	for _, tc := range tests {
		before := a.Stats().CompressedFrames
		if err := a.Send(context.Background(), "b", tc.payload); err != nil {
			t.Fatal(err)
		}
		m := recvTimeout(t, b, 5*time.Second)
		if !bytes.Equal(m.Payload, tc.payload) {
			t.Fatalf("%s: payload corrupted", tc.name)
		}
		m.Release()
		if got := a.Stats().CompressedFrames - before; got != tc.want {
			t.Errorf("%s: %d compressed frames, want %d", tc.name, got, tc.want)
		}
	}
}

// TestCorruptCompressedFrames sends bad LZ4 over a raw socket that
// negotiated compression: each closes only that connection and is counted.
func TestCorruptCompressedFrames(t *testing.T) {
	bcfg := devConfig("b")
	bcfg.MaxMessageSize = 1 << 20
	b := startTransport(t, bcfg)
	good := startTransport(t, devConfig("good"))
	connect(t, good, b)
	stop := keepTraffic(t, good, b)

	var c codec.Compressor
	valid, _ := c.AppendCompressed(nil, compressible(4096))
	corrupt := append([]byte(nil), valid...)
	for i := 8; i < len(corrupt); i++ {
		corrupt[i] ^= 0x5a
	}
	bomb, _ := c.AppendCompressed(nil, make([]byte, 8<<20)) // 8 MiB of zeros, limit 1 MiB
	lying := binary.AppendUvarint(nil, 5000)                // declares 5000, holds 4096
	lying = append(lying, valid[2:]...)

	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"corrupt LZ4", corrupt},
		{"decompresses past MaxMessageSize", bomb},
		{"declared length mismatch", lying},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := b.Stats().CompressionErrors
			nc, err := net.Dial("tcp", b.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			h := codec.Hello{Version: codec.ProtocolVersion, Caps: codec.CapLZ4, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 5, NodeID: "lz4raw"}
			_, _ = nc.Write(codec.AppendHello(nil, h))
			readFrame(t, nc)
			if _, err := nc.Write(codec.AppendFrame(nil, codec.FlagCompressed, tc.body)); err != nil {
				t.Fatal(err)
			}
			expectClosed(t, nc, 3*time.Second)
			waitFor(t, 2*time.Second, func() bool { return b.Stats().CompressionErrors == before+1 })
		})
	}
	sent, got := stop()
	if sent == 0 || got != sent {
		t.Fatalf("good peer disturbed: sent %d, received %d", sent, got)
	}
	if n := b.Stats().Peers; len(n) != 1 {
		t.Fatalf("peers after refusals: %+v", n)
	}
}

// TestQueuedCompressedFramesSurviveCompressionChange queues compressed
// frames while the peer is down, then brings the peer back with compression
// off: the frames must arrive intact, sent raw.
func TestQueuedCompressedFramesSurviveCompressionChange(t *testing.T) {
	acfg := devConfig("a")
	acfg.Reconnect.InitialBackoff = 20 * time.Millisecond
	a := startTransport(t, acfg)
	b1, err := New(devConfig("b"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b1.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := b1.Addr().String()
	connect(t, a, b1)
	_ = b1.Close()
	waitFor(t, 3*time.Second, func() bool { return a.Stats().ConnectionCount == 0 })
	payload := compressible(8 << 10)
	for range 5 {
		if err := a.Send(context.Background(), "b", payload); err != nil {
			t.Fatal(err)
		}
	}
	if a.Stats().CompressedFrames != 5 {
		t.Fatalf("frames were not compressed while queued: %d", a.Stats().CompressedFrames)
	}
	b2cfg := devConfig("b")
	b2cfg.ListenAddr = addr
	b2cfg.Compression.Enabled = false
	b2 := startTransport(t, b2cfg)
	for range 5 {
		m := recvTimeout(t, b2, 10*time.Second)
		if !bytes.Equal(m.Payload, payload) {
			t.Fatal("payload corrupted")
		}
		m.Release()
	}
	if st := b2.Stats(); st.ProtocolErrors != 0 || st.DecompressedBytesIn != 0 {
		t.Fatalf("receiver without compression saw compressed frames: %+v", st)
	}
}

// TestCompressionRatioLeavesHeadersOut: uncompressed messages give a
// ratio of 1 however small they are (the frame header is not the
// payload's expansion), compressed ones their payload's shrinkage.
func TestCompressionRatioLeavesHeadersOut(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	for range 10 {
		if err := a.Send(context.Background(), "b", []byte("tiny!")); err != nil {
			t.Fatal(err)
		}
	}
	if r := a.Stats().CompressionRatio; r != 1 {
		t.Fatalf("ratio %.2f for uncompressed 5-byte messages, want 1", r)
	}
	big := compressible(64 << 10)
	if err := a.Send(context.Background(), "b", big); err != nil {
		t.Fatal(err)
	}
	if r := a.Stats().CompressionRatio; r <= 1.5 {
		t.Fatalf("ratio %.2f after a compressible 64 KiB message", r)
	}
}
