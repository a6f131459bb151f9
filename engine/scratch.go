package engine

import "github.com/tensorchain/transport/internal/bufpool"

// scratch is a connection's transient buffer (TLS plaintext or ciphertext):
// taken from the pool when a callback needs it and given back as soon as
// it is empty, so that an idle connection holds no buffer. Bytes are
// appended at the end and consumed from the front. Loop only.
type scratch struct {
	b   []byte  // b[off:] is the unconsumed data
	off int     // consumed prefix of b
	box *[]byte // the pooled slice b came from
}

// scratchSize holds two TLS records (16 KiB of plaintext each).
const scratchSize = 32 << 10

// data returns the unconsumed bytes.
func (s *scratch) data() []byte { return s.b[s.off:] }

// consume drops the first n unconsumed bytes.
func (s *scratch) consume(n int) {
	s.off += n
	if s.off == len(s.b) {
		s.b, s.off = s.b[:0], 0
	}
}

// get returns the buffer, taking one from the pool if it has none.
func (s *scratch) get() []byte {
	return s.reserve(0)
}

// reserve returns the buffer (to append to) with room for n more bytes.
// When room is short it moves the unconsumed bytes to the front if they
// are at most twice the consumed prefix, and otherwise into a buffer twice
// the size, so consuming a large buffer piece by piece while more arrives
// moves each byte at most about twice, not once per piece. A larger buffer comes
// from the pool too (the old one goes back), so a bulk transfer reuses
// pooled buffers instead of growing new ones by append.
func (s *scratch) reserve(n int) []byte {
	if s.box == nil {
		s.box = bufpool.Get(max(n, scratchSize))
		s.b, s.off = (*s.box)[:0], 0
	}
	if cap(s.b)-len(s.b) >= n {
		return s.b
	}
	// Compacting a large backlog consumed a turn at a time (turnFrames)
	// moved all of it once per turn: a quarter of the CPU of a 64 B stream
	// into RecvBatch (BENCHMARKS.md, session 11).
	if s.off > 0 && 2*s.off >= len(s.b)-s.off {
		s.b, s.off = s.b[:copy(s.b, s.b[s.off:])], 0
		if cap(s.b)-len(s.b) >= n {
			return s.b
		}
	}
	rest := s.b[s.off:]
	box := bufpool.Get(max(len(rest)+n, 2*cap(s.b))) // doubling: a frame gathered record by record is copied O(1) times, not once per size class
	b := append((*box)[:0], rest...)
	*s.box = s.b[:0]
	bufpool.Put(s.box)
	s.box, s.b, s.off = box, b, 0
	return b
}

// set records b (the result of appending to reserve's buffer) as the buffer.
func (s *scratch) set(b []byte) { s.b = b }

// release gives the buffer back to the pool if it is empty.
func (s *scratch) release() {
	if s.box == nil || len(s.b) > s.off {
		return
	}
	*s.box = s.b[:0] // b may have grown past the pooled array: keep the larger one
	bufpool.Put(s.box)
	s.box, s.b, s.off = nil, nil, 0
}

// drop gives the buffer back whatever it holds (the connection is gone).
func (s *scratch) drop() {
	s.b, s.off = s.b[:0], 0
	s.release()
}

// spare is how many bytes can be appended without a new buffer.
func (s *scratch) spare() int { return s.size() - len(s.b) }

// size is the memory the buffer holds (its capacity), 0 when it has none.
func (s *scratch) size() int {
	if s.box == nil {
		return 0
	}
	return cap(s.b)
}
