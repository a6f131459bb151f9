package codec

import (
	"bytes"
	"testing"
)

// FuzzDecompress feeds arbitrary compressed payloads: no panics, nothing
// above the limit, and a successful decode must round-trip.
func FuzzDecompress(f *testing.F) {
	var c Compressor
	good, _ := c.AppendCompressed(nil, jsonLike(2048, 3))
	f.Add(good)
	f.Add([]byte{0x05, 0x50, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f, 0x00})
	f.Fuzz(func(t *testing.T, p []byte) {
		const max = 1 << 20
		n, err := DecompressedLen(p, max)
		if err != nil {
			return
		}
		if n > max {
			t.Fatalf("declared length %d passed the limit", n)
		}
		buf := make([]byte, n+16)
		if err := Decompress(buf[:n], p); err != nil {
			return
		}
		if !bytes.Equal(buf[n:], make([]byte, 16)) {
			t.Fatal("wrote past dst")
		}
		// LZ4 has no checksum: garbage can decode. What decodes must be
		// stable under a compress/decompress round trip.
		out, ok := c.AppendCompressed(nil, buf[:n])
		if ok {
			back := make([]byte, n)
			if err := Decompress(back, out); err != nil || !bytes.Equal(back, buf[:n]) {
				t.Fatalf("re-compression does not round-trip: %v", err)
			}
		}
	})
}
