package engine

import (
	"fmt"
	"io"
	"sync"

	"github.com/tensorchain/transport/codec"
)

// Stream is the receiving end of a stream a peer sent (Transport.SendStream):
// an io.ReadCloser over its body. Read may be called from one goroutine at
// a time; Close from any.
type Stream struct {
	t      *Transport // constant
	peer   *peer      // constant
	id     uint64     // constant
	conn   *conn      // constant: the connection its frames arrive on
	window int64      // constant: Config.StreamWindow

	mu       sync.Mutex
	chunks   []Message // received, not yet read; chunks[0] from offset off
	off      int
	granted  int64 // credit given to the sender in all
	received int64 // bytes received in all (loop)
	unacked  int64 // bytes read but not yet credited back
	ended    bool  // the end frame arrived
	closed   bool  // Close was called
	err      error // why it failed
	wake     chan struct{}
}

// Read reads the stream's next bytes. It returns io.EOF after the last
// one, ErrConnectionLost or ErrStreamReset (wrapped) when the stream
// failed, and ErrClosed after Close.
func (s *Stream) Read(p []byte) (int, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return 0, fmt.Errorf("stream from %s: %w", s.peer.id, ErrClosed)
		}
		if len(s.chunks) > 0 {
			n := s.take(p)
			credit := s.creditDue()
			s.mu.Unlock()
			if credit > 0 {
				if err := s.sendCredit(credit); err != nil {
					return n, err
				}
			}
			return n, nil
		}
		ended, err := s.ended, s.err
		s.mu.Unlock()
		switch {
		case ended:
			return 0, io.EOF
		case err != nil:
			return 0, fmt.Errorf("stream from %s: %w", s.peer.id, err)
		}
		select {
		case <-s.wake:
		case <-s.t.done:
			s.fail(ErrClosed)
		}
	}
}

// take copies buffered bytes into p. Under mu.
func (s *Stream) take(p []byte) int {
	n := 0
	for n < len(p) && len(s.chunks) > 0 {
		c := &s.chunks[0]
		k := copy(p[n:], c.Payload[s.off:])
		n += k
		s.off += k
		if s.off == len(c.Payload) {
			c.Release()
			s.chunks[0] = Message{}
			s.chunks = s.chunks[1:]
			s.off = 0
		}
	}
	s.unacked += int64(n)
	return n
}

// creditDue returns the credit to send back now: read bytes are returned
// a quarter window at a time. Under mu.
func (s *Stream) creditDue() int64 {
	if s.ended || s.err != nil || s.unacked < s.window/4 {
		return 0
	}
	n := s.unacked
	s.unacked = 0
	s.granted += n
	return n
}

// sendCredit grants the sender n more bytes, on the control class.
func (s *Stream) sendCredit(n int64) error {
	err := s.t.sendCredit(s.t.ctx, s.peer.id, s.id, n)
	if err != nil {
		err = fmt.Errorf("stream from %s: returning credit: %w", s.peer.id, err)
		s.fail(err)
		s.t.streams.removeRecv(s)
	}
	return err
}

// Close releases the stream. Before the end it cancels the stream: the
// sender fails with ErrStreamReset and what it still sends is dropped.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel := !s.ended && s.err == nil
	s.releaseLocked()
	s.mu.Unlock()
	s.t.streams.removeRecv(s)
	if cancel {
		s.t.stats.streamsCancelled.Add(1)
		s.t.waitToReset(s.peer.id, s.id, codec.ResetCancelled)
	}
	return nil
}

// push adds one data frame's message, from the loop. It reports false
// when the sender overran its credit.
func (s *Stream) push(m Message, end bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.received += int64(len(m.Payload))
	if s.received > s.granted {
		m.Release()
		return false
	}
	if s.closed || s.err != nil {
		m.Release()
		return true
	}
	if len(m.Payload) > 0 {
		s.chunks = append(s.chunks, m)
	} else {
		m.Release()
	}
	s.ended = end
	s.signal()
	return true
}

// fail ends the stream with err, unless it ended or failed already.
func (s *Stream) fail(err error) {
	s.mu.Lock()
	if s.err == nil && !s.ended {
		s.err = err
		s.releaseLocked() // what is buffered is incomplete: give its memory back now
	}
	s.mu.Unlock()
	s.signal()
}

// releaseLocked gives back every buffered chunk. Under mu.
func (s *Stream) releaseLocked() {
	for i := range s.chunks {
		s.chunks[i].Release()
	}
	s.chunks, s.off = nil, 0
}

func (s *Stream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// openStream handles a stream's opening frame on the loop: a new Stream,
// delivered with the header as its Message. A peer over
// MaxStreamsPerPeer is refused.
func (c *conn) openStream(p *peer, tag codec.Tag, header []byte, buf *[]byte, cost int) bool {
	t := c.t
	s := &Stream{t: t, peer: p, id: tag.ID, conn: c, window: int64(t.cfg.StreamWindow),
		granted: codec.StreamInitialWindow, wake: make(chan struct{}, 1)}
	if !t.streams.addRecv(s, t.cfg.MaxStreamsPerPeer) {
		t.stats.streamsRefused.Add(1)
		_ = t.sendReset(nil, p.id, tag.ID, codec.ResetRefused)
		c.dropTagged(buf, cost)
		return true
	}
	var reqID uint64
	if tag.Kind == codec.KindStreamRequest {
		reqID = tag.ID
	}
	if !c.deliverMessage(p, header, buf, cost, reqID, s) {
		t.streams.removeRecv(s) // the frame is decoded again once delivery resumes
		return false
	}
	t.stats.streamsOpened.Add(1)
	if more := s.window - codec.StreamInitialWindow; more > 0 {
		s.granted += more
		_ = t.sendCredit(nil, p.id, tag.ID, more)
	}
	return true
}

// streamData handles a stream's data or end frame on the loop.
func (c *conn) streamData(p *peer, tag codec.Tag, payload []byte, buf *[]byte, cost int) (bool, error) {
	t := c.t
	if len(payload) > codec.MaxStreamChunk {
		return false, fmt.Errorf("from %s: %w: stream data of %d bytes, limit %d", c.remote, ErrProtocol, len(payload), codec.MaxStreamChunk)
	}
	s := t.streams.recvStream(p, tag.ID)
	if s == nil || s.conn != c { // cancelled here, refused, or failed: what was in flight is dropped
		t.stats.streamBytesDropped.Add(uint64(len(payload)))
		c.dropTagged(buf, cost)
		return true, nil
	}
	m, ok := c.keep(p, payload, buf, cost)
	if !ok {
		return false, nil
	}
	end := tag.Kind == codec.KindStreamEnd
	if !s.push(m, end) {
		t.streams.removeRecv(s)
		s.fail(resetError{codec.ResetOverrun})
		_ = t.sendReset(nil, p.id, tag.ID, codec.ResetOverrun)
	} else if end {
		t.streams.removeRecv(s)
	}
	c.recvWin.consume(int32(cost)) // the stream's window bounds it from here
	return true, nil
}
