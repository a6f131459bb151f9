package engine

import (
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
)

// segmentSize is the size of the pooled buffers small frames are packed
// into: about a thousand 64-byte frames, written with one syscall.
const segmentSize = 64 << 10

// frameQueue is an ordered queue of encoded frames in pooled segments. A
// frame never spans segments; a frame larger than segmentSize gets a
// segment of its own, and so does a frame with a deadline (the segment
// carries it, so the loop can drop the frame whole, unwritten, once it
// expires). Nothing is ever regrown or copied twice: senders copy a payload
// once into a segment, and the loop hands segments to the kernel (several
// per writev) and returns them to the pool.
type frameQueue struct {
	segs  []segment
	msgs  int // frames in the queue
	bytes int // bytes in the queue
}

// segment is a run of encoded frames in one pooled buffer.
type segment struct {
	buf *[]byte
	// deadline, when not 0, is the UnixNano after which the segment's one
	// frame must not be written.
	deadline int64
}

// expired reports whether the segment's deadline is before now.
func (s segment) expired(now int64) bool { return s.deadline != 0 && s.deadline < now }

// push appends one frame; a deadline (UnixNano, 0 for none) gives it a
// segment of its own.
func (q *frameQueue) push(header, payload []byte, deadline int64) {
	n := len(header) + len(payload)
	var last *segment
	if len(q.segs) > 0 {
		last = &q.segs[len(q.segs)-1]
	}
	if deadline != 0 || last == nil || last.deadline != 0 || cap(*last.buf)-len(*last.buf) < n {
		size := n
		if deadline == 0 {
			size = max(n, segmentSize)
		}
		buf := bufpool.Get(size)
		*buf = (*buf)[:0]
		q.segs = append(q.segs, segment{buf: buf, deadline: deadline})
		last = &q.segs[len(q.segs)-1]
	}
	*last.buf = append(append(*last.buf, header...), payload...)
	q.msgs++
	q.bytes += n
}

// prepend moves all of front's frames before q's, emptying front.
func (q *frameQueue) prepend(front *frameQueue) {
	if front.msgs == 0 {
		return
	}
	q.segs = append(front.segs, q.segs...)
	q.msgs += front.msgs
	q.bytes += front.bytes
	*front = frameQueue{}
}

// release returns every segment to the pool and empties the queue.
func (q *frameQueue) release() {
	for i, s := range q.segs {
		bufpool.Put(s.buf)
		q.segs[i] = segment{}
	}
	q.segs, q.msgs, q.bytes = q.segs[:0], 0, 0
}

// cursorPos is a position in a queue: a segment and an offset in it.
type cursorPos struct{ seg, off int }

// sendCursor is the loop's position in the frames it took from a lane.
type sendCursor struct {
	q   frameQueue
	pos cursorPos
	iov [][]byte // scratch for writev
}

// empty reports whether every taken frame has been handed to the socket.
func (s *sendCursor) empty() bool { return s.pos.seg >= len(s.q.segs) }

// front returns the unwritten bytes of the segment at the cursor.
func (s *sendCursor) front() []byte { return (*s.q.segs[s.pos.seg].buf)[s.pos.off:] }

// after returns the position n bytes past the cursor, within its segment.
func (s *sendCursor) after(n int) cursorPos {
	p := cursorPos{s.pos.seg, s.pos.off + n}
	if p.off == len(*s.q.segs[p.seg].buf) {
		p = cursorPos{seg: p.seg + 1}
	}
	return p
}

// unsent returns the frames not yet written as a queue of their own (the
// partly written segment is copied), and resets the cursor.
func (s *sendCursor) unsent() frameQueue {
	var out frameQueue
	s.recycleWritten()
	if s.empty() {
		s.reset()
		return out
	}
	if s.pos.off > 0 { // copy the rest of the partly written segment (its frames have begun: no deadline)
		rest := s.front()
		for off := 0; off < len(rest); {
			fl := codec.FrameSize(rest[off:])
			out.push(rest[off:off+codec.HeaderSize], rest[off+codec.HeaderSize:off+fl], 0)
			off += fl
		}
		s.pos = cursorPos{seg: 1}
		s.recycleWritten()
	}
	for _, seg := range s.q.segs {
		out.msgs += countFrames(*seg.buf)
		out.bytes += len(*seg.buf)
		out.segs = append(out.segs, seg)
	}
	clear(s.q.segs)
	s.q = frameQueue{segs: s.q.segs[:0]}
	s.pos = cursorPos{}
	return out
}

// recycleWritten returns the segments before the cursor to the pool.
func (s *sendCursor) recycleWritten() {
	if s.pos.seg == 0 {
		return
	}
	for i := range s.pos.seg {
		bufpool.Put(s.q.segs[i].buf)
	}
	n := copy(s.q.segs, s.q.segs[s.pos.seg:])
	clear(s.q.segs[n:])
	s.q.segs = s.q.segs[:n]
	s.pos.seg = 0
}

// reset drops every taken segment back to the pool.
func (s *sendCursor) reset() {
	s.q.release()
	s.pos = cursorPos{}
}

// dropExpired releases the segments at the front of the queue whose
// deadline is before now and returns how many frames and bytes went.
// Frames after the first one without an expired deadline stay, so this
// is cheap and keeps order; the loop's cursor catches the rest.
func (q *frameQueue) dropExpired(now int64) (msgs, bytes int) {
	n := 0
	for n < len(q.segs) && q.segs[n].expired(now) {
		seg := q.segs[n]
		msgs += countFrames(*seg.buf)
		bytes += len(*seg.buf)
		bufpool.Put(seg.buf)
		n++
	}
	if n > 0 {
		rest := copy(q.segs, q.segs[n:])
		clear(q.segs[rest:])
		q.segs = q.segs[:rest]
		q.msgs -= msgs
		q.bytes -= bytes
	}
	return msgs, bytes
}

// countFrames is the number of encoded frames in b.
func countFrames(b []byte) int {
	n := 0
	for off := 0; off < len(b); off += codec.FrameSize(b[off:]) {
		n++
	}
	return n
}

// skipExpired drops the segments at the cursor whose deadline is before
// now, unwritten, and returns how many frames and bytes it dropped. Only
// whole segments at a segment boundary go: a frame whose first byte is out
// is always finished.
func (s *sendCursor) skipExpired(now int64) (msgs, bytes int) {
	for s.pos.off == 0 && s.pos.seg < len(s.q.segs) {
		seg := s.q.segs[s.pos.seg]
		if !seg.expired(now) {
			break
		}
		msgs += countFrames(*seg.buf)
		bytes += len(*seg.buf)
		s.pos.seg++
	}
	return msgs, bytes
}
