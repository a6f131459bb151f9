package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecode(t *testing.T) {
	full := AppendFrame(nil, 0, []byte("payload"))
	tests := []struct {
		name    string
		in      []byte
		max     int
		wantN   int
		wantErr error
	}{
		{"empty buffer", nil, 100, 0, nil},
		{"three bytes", []byte{0, 0, 0}, 100, 0, nil},
		{"length only", []byte{0, 0, 0, 8}, 100, 0, nil},
		{"partial payload", full[:len(full)-1], 100, 0, nil},
		{"complete", full, 100, len(full), nil},
		{"complete with trailing bytes", append(append([]byte{}, full...), 1, 2, 3), 100, len(full), nil},
		{"empty payload", []byte{0, 0, 0, 1, 0}, 0, 5, nil},
		{"zero length", []byte{0, 0, 0, 0, 0}, 100, 0, ErrMalformed},
		{"too large from 4 bytes", []byte{0, 0, 0, 102 + TagSize}, 100, 0, ErrFrameTooLarge},
		{"untagged too large from 5 bytes", []byte{0, 0, 0, 102, 0}, 100, 0, ErrFrameTooLarge},
		{"tagged may carry its tag", []byte{0, 0, 0, 102, FlagTagged}, 100, 0, nil},
		{"tagged too large from 5 bytes", []byte{0, 0, 0, 102 + TagSize, FlagTagged}, 100, 0, ErrFrameTooLarge},
		{"max exactly", append([]byte{0, 0, 0, 101, 0}, make([]byte, 100)...), 100, 105, nil},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0}, 1 << 30, 0, ErrFrameTooLarge},
		{"reserved bit 7", []byte{0, 0, 0, 1, 0x80}, 100, 0, ErrReservedFlags},
		{"reserved bit 3", []byte{0, 0, 0, 1, 0x08}, 100, 0, ErrReservedFlags},
		{"compressed control", []byte{0, 0, 0, 1, 0x03}, 100, 0, ErrMalformed},
		{"tagged control", []byte{0, 0, 0, 1, 0x06}, 100, 0, ErrMalformed},
		{"tagged", []byte{0, 0, 0, 2, 0x04, 1}, 100, 6, nil},
		{"tagged compressed", []byte{0, 0, 0, 2, 0x05, 1}, 100, 6, nil},
		{"control", []byte{0, 0, 0, 2, 0x02, 3}, 100, 6, nil},
		{"compressed", []byte{0, 0, 0, 2, 0x01, 0}, 100, 6, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, n, err := Decode(tc.in, tc.max)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if n != tc.wantN {
				t.Fatalf("n = %d, want %d", n, tc.wantN)
			}
			if n > 0 && len(f.Payload) != n-HeaderSize {
				t.Fatalf("payload %d bytes, want %d", len(f.Payload), n-HeaderSize)
			}
		})
	}
}

func TestDecodeIsZeroCopy(t *testing.T) {
	buf := AppendFrame(nil, 0, []byte("abc"))
	f, _, _ := Decode(buf, 10)
	buf[HeaderSize] = 'X'
	if f.Payload[0] != 'X' {
		t.Fatal("payload is a copy, want a view of the buffer")
	}
	if cap(f.Payload) != len(f.Payload) {
		t.Fatal("payload capacity reaches past the frame: an append could overwrite the next frame")
	}
}

func TestHelloRoundTripAndValidation(t *testing.T) {
	good := Hello{Version: ProtocolVersion, Caps: CapLZ4, MaxMessage: 1 << 20, Window: 1 << 16, Incarnation: 7,
		Class: ClassControl, Lane: 3, NodeID: "node-1"}
	f, _, err := Decode(AppendHello(nil, good), 512)
	if err != nil || !f.Control() {
		t.Fatalf("hello frame: %v", err)
	}
	got, err := DecodeHello(f.Payload)
	if err != nil || got != good {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	mutate := func(fn func(p []byte) []byte) []byte {
		p := append([]byte(nil), f.Payload...)
		return fn(p)
	}
	bad := []struct {
		name string
		p    []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"wrong type", mutate(func(p []byte) []byte { p[0] = TypeCredit; return p }), ErrMalformed},
		{"version 1", mutate(func(p []byte) []byte { p[1] = 1; return p }), ErrVersion},
		{"version 3", mutate(func(p []byte) []byte { p[1] = 3; return p }), ErrVersion},
		{"version 1 layout", []byte{TypeHello, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 'a'}, ErrVersion},
		{"unknown class", mutate(func(p []byte) []byte { p[20] = 2; return p }), ErrMalformed},
		{"too short for v2", mutate(func(p []byte) []byte { return p[:helloFixedLen-1] }), ErrMalformed},
		{"unknown caps", mutate(func(p []byte) []byte { p[3] |= 0x80; return p }), ErrMalformed},
		{"zero max message", mutate(func(p []byte) []byte { copy(p[4:8], []byte{0, 0, 0, 0}); return p }), ErrMalformed},
		{"zero window", mutate(func(p []byte) []byte { copy(p[8:12], []byte{0, 0, 0, 0}); return p }), ErrMalformed},
		{"truncated id", mutate(func(p []byte) []byte { return p[:len(p)-1] }), ErrMalformed},
		{"trailing byte", mutate(func(p []byte) []byte { return append(p, 'x') }), ErrMalformed},
		{"empty id", mutate(func(p []byte) []byte { p[22] = 0; return p[:23] }), ErrMalformed},
		{"space in id", mutate(func(p []byte) []byte { p[23] = ' '; return p }), ErrMalformed},
		{"control char in id", mutate(func(p []byte) []byte { p[23] = 0x07; return p }), ErrMalformed},
		{"invalid utf8", mutate(func(p []byte) []byte { p[23] = 0xff; return p }), ErrMalformed},
	}
	for _, tc := range bad {
		if _, err := DecodeHello(tc.p); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestControlMessages(t *testing.T) {
	c := Credit{Bytes: 12345, Messages: 67}
	f, _, _ := Decode(AppendCredit(nil, c), 64)
	got, err := DecodeControl(f.Payload)
	if err != nil || got.Type != TypeCredit || got.Credit != c {
		t.Fatalf("credit round trip: %+v, %v", got, err)
	}
	f, _, _ = Decode(AppendGoodbye(nil), 64)
	if got, err := DecodeControl(f.Payload); err != nil || got.Type != TypeGoodbye {
		t.Fatalf("goodbye: %+v, %v", got, err)
	}
	for _, pong := range []bool{false, true} {
		f, _, _ = Decode(AppendPing(nil, 0x0102030405060708, pong), 64)
		got, err := DecodeControl(f.Payload)
		if want := map[bool]byte{false: TypePing, true: TypePong}[pong]; err != nil || got.Type != want || got.Echo != 0x0102030405060708 {
			t.Fatalf("ping (pong %v): %+v, %v", pong, got, err)
		}
	}
	for _, p := range [][]byte{nil, {TypeCredit, 1}, {TypeGoodbye, 0}, {TypeHello}, {42}, {TypePing, 1, 2}, {TypePong}} {
		if _, err := DecodeControl(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("DecodeControl(%x) = %v, want ErrMalformed", p, err)
		}
	}
}

func TestAppendFrameMatchesPutHeader(t *testing.T) {
	payload := bytes.Repeat([]byte{9}, 300)
	buf := make([]byte, HeaderSize+len(payload))
	PutHeader(buf, FlagCompressed, len(payload))
	copy(buf[HeaderSize:], payload)
	if !bytes.Equal(buf, AppendFrame(nil, FlagCompressed, payload)) {
		t.Fatal("PutHeader and AppendFrame disagree")
	}
	if FrameLen(300) != len(buf) || FrameSize(buf) != len(buf) || FrameSize(buf[:3]) != 0 {
		t.Fatal("FrameLen/FrameSize disagree with the encoding")
	}
}

func BenchmarkAppendFrame64(b *testing.B) {
	payload := make([]byte, 64)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		buf = AppendFrame(buf[:0], 0, payload)
	}
}

func BenchmarkDecode64x16(b *testing.B) {
	var stream []byte
	for range 16 {
		stream = AppendFrame(stream, 0, make([]byte, 64))
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(stream)))
	for b.Loop() {
		for off := 0; off < len(stream); {
			_, n, err := Decode(stream[off:], 1<<20)
			if err != nil || n == 0 {
				b.Fatal(err)
			}
			off += n
		}
	}
}

func BenchmarkDecodeHello(b *testing.B) {
	f, _, _ := Decode(AppendHello(nil, Hello{Version: 1, MaxMessage: 1, Window: 1, NodeID: "node-1"}), 512)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeHello(f.Payload); err != nil {
			b.Fatal(err)
		}
	}
}
