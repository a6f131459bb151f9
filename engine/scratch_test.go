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

	// Room is short with little of the buffer consumed: the rest moves
	// into a buffer twice the size.
	s.set(append(s.b, bytes.Repeat([]byte("x"), cap(s.b)-len(s.b))...))
	s.consume(3)
	before := cap(s.b)
	b := s.reserve(3)
	if s.off != 0 || !bytes.HasPrefix(b, []byte("ldx")) || cap(b) < 2*before {
		t.Fatalf("reserve did not grow: off %d, head %q, cap %d from %d", s.off, b[:3], cap(b), before)
	}
	// Room is short with most of it consumed: the rest moves to the front.
	s.set(append(b, bytes.Repeat([]byte("y"), cap(b)-len(b))...))
	s.consume(len(s.data()) - 3)
	before = cap(s.b)
	b = s.reserve(3)
	if s.off != 0 || string(b) != "yyy" || cap(b) != before {
		t.Fatalf("reserve did not compact in place: off %d, data %q, cap %d from %d", s.off, b, cap(b), before)
	}
	s.set(append(b, "ldx"...))
	big := s.reserve(2 * scratchSize)
	if cap(big)-len(big) < 2*scratchSize || !bytes.HasPrefix(big, []byte("yyyldx")) {
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

// TestScratchMovesEachByteBoundedTimes: a large backlog consumed a piece
// at a time while as much arrives (a stream delivered turn by turn) moves
// each byte a bounded number of times, not once per piece.
func TestScratchMovesEachByteBoundedTimes(t *testing.T) {
	const backlog, piece, rounds = 200 << 10, 35 << 10, 300
	var s scratch
	chunk := bytes.Repeat([]byte("z"), piece)
	s.set(append(s.reserve(backlog), bytes.Repeat([]byte("z"), backlog)...))
	moved, added := 0, 0
	for range rounds {
		s.consume(piece)
		front, pending := &s.data()[0], len(s.data())
		b := s.reserve(piece)
		if &b[s.off] != front { // the unconsumed bytes moved
			moved += pending
		}
		s.set(append(b, chunk...))
		added += piece
	}
	t.Logf("%d bytes moved to take %d", moved, added)
	if moved > 2*(added+backlog) {
		t.Fatalf("%d bytes moved to take %d: each byte moved %.1f times", moved, added, float64(moved)/float64(added))
	}
	if size := s.size(); size > 4*(backlog+piece) {
		t.Fatalf("the buffer grew to %d bytes for a backlog of %d", size, backlog)
	}
}
