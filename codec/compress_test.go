package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// jsonLike returns n bytes of compressible, realistic-looking data.
func jsonLike(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	for b.Len() < n {
		fmt.Fprintf(&b, `{"id":%d,"term":%d,"ts":"2026-11-25T%02d:%02d:%02dZ","op":"put","key":"user/%d","value":%.3f},`,
			r.IntN(1e6), r.IntN(100), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(5000), r.Float64()*1000)
	}
	return b.Bytes()[:n]
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestCompressRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		wantOK bool
	}{
		{"empty", nil, false},
		{"1 byte", []byte{1}, false},
		{"255 zeros", make([]byte, 255), true},
		{"256 json", jsonLike(256, 1), true},
		{"4 KiB json", jsonLike(4<<10, 2), true},
		{"64 KiB json", jsonLike(64<<10, 3), true},
		{"1 MiB json", jsonLike(1<<20, 4), true},
		{"4 KiB random", randomBytes(4 << 10), false},
	}
	var c Compressor
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prefix := []byte("hdr")
			out, ok := c.AppendCompressed(append([]byte(nil), prefix...), tc.in)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if !bytes.Equal(out[:3], prefix) {
				t.Fatal("AppendCompressed overwrote dst's existing bytes")
			}
			if !ok {
				if len(out) != len(prefix) {
					t.Fatal("a refused compression must leave dst unchanged")
				}
				return
			}
			p := out[len(prefix):]
			if len(p) > len(tc.in)-len(tc.in)/16 {
				t.Fatalf("kept a result of %d bytes for %d bytes of input", len(p), len(tc.in))
			}
			n, err := DecompressedLen(p, 16<<20)
			if err != nil || n != len(tc.in) {
				t.Fatalf("DecompressedLen = %d, %v", n, err)
			}
			dst := make([]byte, n)
			if err := Decompress(dst, p); err != nil || !bytes.Equal(dst, tc.in) {
				t.Fatalf("round trip failed: %v", err)
			}
		})
	}
}

func TestDecompressRejects(t *testing.T) {
	var c Compressor
	good, _ := c.AppendCompressed(nil, jsonLike(4096, 9))
	bomb, ok := c.AppendCompressed(nil, make([]byte, 64<<20))
	if !ok {
		t.Fatal("64 MiB of zeros did not compress")
	}
	tests := []struct {
		name string
		p    []byte
		dst  int
		max  int
	}{
		{"no prefix", nil, 1, 100},
		{"bad uvarint", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 1, 100},
		{"declared above max", good, 4096, 4095},
		{"bomb above max", bomb, 0, 16 << 20},
		{"declared zero", []byte{0, 1, 2}, 0, 100},
		{"buffer size mismatch", good, 4095, 1 << 20},
		{"truncated", good[:len(good)-10], 4096, 1 << 20},
		{"corrupt", append(append([]byte(nil), good[:20]...), bytes.Repeat([]byte{0xff}, len(good)-20)...), 4096, 1 << 20},
		{"trailing garbage", append(append([]byte(nil), good...), 1, 2, 3), 4096, 1 << 20},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := DecompressedLen(tc.p, tc.max)
			if err == nil {
				err = Decompress(make([]byte, tc.dst), tc.p)
				_ = n
			}
			if !errors.Is(err, ErrCompression) {
				t.Fatalf("err = %v, want ErrCompression", err)
			}
		})
	}
}

func TestDecompressNeverWritesPastDst(t *testing.T) {
	var c Compressor
	p, _ := c.AppendCompressed(nil, jsonLike(8192, 5))
	buf := make([]byte, 8192+64)
	for i := range buf[8192:] {
		buf[8192+i] = 0xEE
	}
	// Claim a shorter length: decoding must stop at the buffer's end.
	short := append([]byte{0x80, 0x20}, p[2:]...) // uvarint 4096 (p's prefix is 2 bytes for 8192)
	_ = Decompress(buf[:4096], short)
	for i, b := range buf[8192:] {
		if b != 0xEE {
			t.Fatalf("guard byte %d overwritten", i)
		}
	}
}

func BenchmarkAppendCompressed4KiB(b *testing.B) {
	src := jsonLike(4<<10, 1)
	dst := make([]byte, 0, CompressedBound(len(src)))
	var c Compressor
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.AppendCompressed(dst[:0], src); !ok {
			b.Fatal("did not compress")
		}
	}
}

func BenchmarkDecompress4KiB(b *testing.B) {
	src := jsonLike(4<<10, 1)
	var c Compressor
	p, _ := c.AppendCompressed(nil, src)
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		if err := Decompress(dst, p); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCreditCostCountsUncompressedBytes(t *testing.T) {
	var c Compressor
	src := jsonLike(4096, 8)
	body, _ := c.AppendCompressed(nil, src)
	tests := []struct {
		name  string
		frame []byte
		want  int
	}{
		{"raw frame", AppendFrame(nil, 0, src), HeaderSize + 4096},
		{"compressed frame", AppendFrame(nil, FlagCompressed, body), HeaderSize + 4096},
		{"empty raw frame", AppendFrame(nil, 0, nil), HeaderSize},
		{"bad prefix costs its wire size", AppendFrame(nil, FlagCompressed, []byte{0xff}), HeaderSize + 1},
	}
	for _, tc := range tests {
		if got := CreditCost(tc.frame); got != tc.want {
			t.Errorf("%s: cost %d, want %d", tc.name, got, tc.want)
		}
	}
}
