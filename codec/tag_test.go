package codec

import (
	"bytes"
	"errors"
	"testing"
)

func TestSplitTag(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    Tag
		body    []byte
		wantErr error
	}{
		{"request", []byte{1, 0, 0, 0, 0, 0, 0, 0, 7, 'h', 'i'}, Tag{KindRequest, 7}, []byte("hi"), nil},
		{"empty body", []byte{6, 0xff, 0, 0, 0, 0, 0, 0, 1}, Tag{KindStreamEnd, 0xff00000000000001}, []byte{}, nil},
		{"short", []byte{1, 0, 0}, Tag{}, nil, ErrMalformed},
		{"kind zero", make([]byte, TagSize), Tag{}, nil, ErrMalformed},
		{"kind unknown", []byte{9, 0, 0, 0, 0, 0, 0, 0, 1}, Tag{}, nil, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tag, body, err := SplitTag(tc.in)
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tag != tc.want || !bytes.Equal(body, tc.body) {
				t.Fatalf("got %+v %q, want %+v %q", tag, body, tc.want, tc.body)
			}
		})
	}
}

func TestPutTagRoundTrip(t *testing.T) {
	var b [TagSize]byte
	want := Tag{KindReply, 1<<63 | 42}
	PutTag(b[:], want)
	got, body, err := SplitTag(b[:])
	if err != nil || got != want || len(body) != 0 {
		t.Fatalf("got %+v %v %v", got, body, err)
	}
}

func TestTaggedCreditCostSkipsTheTag(t *testing.T) {
	body := bytes.Repeat([]byte("abcd"), 1024)
	var c Compressor
	comp, ok := c.AppendCompressed(nil, body)
	if !ok {
		t.Fatal("not compressible")
	}
	var tag [TagSize]byte
	PutTag(tag[:], Tag{KindRequest, 1})
	plain := AppendFrame(nil, FlagTagged, append(tag[:], body...))
	packed := AppendFrame(nil, FlagTagged|FlagCompressed, append(tag[:], comp...))
	want := HeaderSize + TagSize + len(body)
	if got := CreditCost(plain); got != want {
		t.Fatalf("plain tagged cost %d, want %d", got, want)
	}
	if got := CreditCost(packed); got != want {
		t.Fatalf("compressed tagged cost %d, want %d (as if uncompressed)", got, want)
	}
}

func TestStreamControlBodies(t *testing.T) {
	n, err := DecodeStreamCredit(AppendStreamCredit(nil, 1<<20))
	if err != nil || n != 1<<20 {
		t.Fatalf("credit %d %v", n, err)
	}
	if _, err := DecodeStreamCredit([]byte{1, 2, 3}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("short credit: %v", err)
	}
	for _, b := range [][]byte{nil, {0}, {5}, {1, 1}} {
		if _, err := DecodeStreamReset(b); !errors.Is(err, ErrMalformed) {
			t.Fatalf("reset % x: %v", b, err)
		}
	}
	if r, err := DecodeStreamReset([]byte{ResetRefused}); err != nil || r != ResetRefused {
		t.Fatalf("reset %d %v", r, err)
	}
}

func FuzzSplitTag(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 7, 'h', 'i'})
	f.Add([]byte{7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0})
	f.Add([]byte{8, 0, 0, 0, 0, 0, 0, 0, 1, 1})
	f.Fuzz(func(t *testing.T, p []byte) {
		tag, body, err := SplitTag(p)
		if err != nil {
			return
		}
		var b [TagSize]byte
		PutTag(b[:], tag)
		if !bytes.Equal(append(b[:], body...), p) {
			t.Fatalf("round trip differs")
		}
		switch tag.Kind {
		case KindStreamCredit:
			_, _ = DecodeStreamCredit(body)
		case KindStreamReset:
			_, _ = DecodeStreamReset(body)
		}
	})
}
