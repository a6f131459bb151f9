package engine

import "github.com/tensorchain/transport/internal/bufpool"

// scratch is a connection's transient buffer (TLS plaintext or ciphertext):
// taken from the pool when a callback needs it and given back as soon as
// it is empty, so that an idle connection holds no buffer. Loop only.
type scratch struct {
	b   []byte
	box *[]byte // the pooled slice b came from
}

// scratchSize holds two TLS records (16 KiB of plaintext each).
const scratchSize = 32 << 10

// get returns the buffer, taking one from the pool if it has none.
func (s *scratch) get() []byte {
	if s.box == nil {
		s.box = bufpool.Get(scratchSize)
		s.b = (*s.box)[:0]
	}
	return s.b
}

// release gives the buffer back to the pool if it is empty.
func (s *scratch) release() {
	if s.box == nil || len(s.b) > 0 {
		return
	}
	*s.box = s.b // b may have grown past the pooled array: keep the larger one
	bufpool.Put(s.box)
	s.box, s.b = nil, nil
}

// drop forgets the buffer whatever it holds (the connection is gone).
func (s *scratch) drop() {
	s.b = s.b[:0]
	s.release()
}
