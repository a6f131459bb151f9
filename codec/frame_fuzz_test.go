package codec

import (
	"bytes"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to the frame decoder: it must never
// panic, never return a payload outside the input, and re-encoding a
// decoded frame must give back the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 0, 0, 3, 0, 'h', 'i'}, 100)
	f.Add([]byte{0, 0, 0, 0, 0}, 100)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0x80}, 1<<20)
	f.Add(AppendHello(nil, Hello{Version: 1, MaxMessage: 1, Window: 1, NodeID: "n"}), 512)
	f.Fuzz(func(t *testing.T, in []byte, max int) {
		if max < 0 {
			max = -max
		}
		max %= 1 << 24
		fr, n, err := Decode(in, max)
		if err != nil || n == 0 {
			return
		}
		if n > len(in) || len(fr.Payload) != n-HeaderSize || len(fr.Payload) > max {
			t.Fatalf("n=%d payload=%d input=%d max=%d", n, len(fr.Payload), len(in), max)
		}
		if !bytes.Equal(AppendFrame(nil, fr.Flags, fr.Payload), in[:n]) {
			t.Fatal("re-encoding differs from the input")
		}
	})
}

// FuzzDecodeHello feeds arbitrary handshake payloads: no panics, and a
// Hello that decodes must re-encode to the same bytes.
func FuzzDecodeHello(f *testing.F) {
	fr, _, _ := Decode(AppendHello(nil, Hello{Version: 1, Caps: CapLZ4, MaxMessage: 1 << 20, Window: 1 << 16, Incarnation: 9, NodeID: "node-1"}), 512)
	f.Add(fr.Payload)
	f.Add([]byte{TypeHello})
	f.Add([]byte{TypeCredit, 0, 0, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := DecodeHello(p)
		if err == nil {
			fr, _, derr := Decode(AppendHello(nil, h), 512)
			if derr != nil || !bytes.Equal(fr.Payload, p) {
				t.Fatalf("accepted hello %+v does not re-encode to its input", h)
			}
		}
		_, _ = DecodeControl(p)
	})
}
