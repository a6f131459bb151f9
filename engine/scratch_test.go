package engine

import (
	"bytes"
	"testing"
)

func TestScratch(t *testing.T) {
	var s scratch
	s.set(append(s.get(), "hello world"...))
	s.consume(6)
	if got := string(s.data()); got != "world" {
		t.Fatalf("data after consume = %q", got)
	}
	s.release()
	if s.box == nil {
		t.Fatal("released a buffer that still holds data")
	}

	// Room is short: the unconsumed bytes move to the front first, and a
	// larger pooled buffer is taken only if that is not enough.
	s.set(append(s.b, bytes.Repeat([]byte("x"), cap(s.b)-len(s.b))...))
	s.consume(3)
	b := s.reserve(3)
	if s.off != 0 || !bytes.HasPrefix(b, []byte("ldx")) || cap(b)-len(b) < 3 {
		t.Fatalf("reserve did not compact: off %d, head %q", s.off, b[:3])
	}
	big := s.reserve(2 * scratchSize)
	if cap(big)-len(big) < 2*scratchSize || !bytes.HasPrefix(big, []byte("ldx")) {
		t.Fatal("reserve lost data or room while growing")
	}

	s.consume(len(s.data()))
	if len(s.b) != 0 || s.off != 0 {
		t.Fatalf("consuming everything left len %d off %d", len(s.b), s.off)
	}
	s.release()
	if s.box != nil || s.b != nil {
		t.Fatal("an empty buffer was kept")
	}

	s.set(append(s.get(), "pending"...))
	s.drop()
	if s.box != nil {
		t.Fatal("drop kept the buffer")
	}
}
