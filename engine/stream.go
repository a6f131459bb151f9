package engine

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
)

// A stream carries an io.Reader of any length from one node to a peer:
// an opening frame with a header, data frames of at most
// codec.MaxStreamChunk bytes, and an end frame, all on one bulk
// connection, in order. The receiver grants the sender its window
// (codec.StreamInitialWindow, then Config.StreamWindow) with credit frames
// as the application reads, so a stream holds at most a window of memory
// at the receiver whatever its length, and a receiver that stops reading
// stops its sender and nothing else: stream data takes the connection's
// credit only for as long as it takes to move into the stream's buffer.
// When any connection to or from the peer closes, the streams with that
// peer fail on both sides with ErrConnectionLost (their data or their
// credit may have been on it); either side can cancel a stream, and the
// other then fails with ErrStreamReset.

// StreamOptions say how SendStreamWith and RequestStreamWith send a
// stream. The zero value is what SendStream does. A stream always takes
// one bulk connection of its own choosing, so there is no class or
// stream number to pick.
type StreamOptions struct {
	// FailFast makes the call fail at once with ErrUnreachable when the
	// connection the stream would take is not established, instead of
	// waiting for the reconnect (a snapshot for a follower that is down
	// is better retried later than queued behind its backoff).
	FailFast bool
}

// SendStream sends header, then everything body yields until io.EOF, to
// the peer as one stream; the peer receives a Message whose Stream reads
// the body. It returns once the last byte is queued, blocking while the
// receiver's window is used up. When ctx ends, body fails, or the
// receiver cancels, the stream is aborted and the error returned.
func (t *Transport) SendStream(ctx context.Context, to string, header []byte, body io.Reader) error {
	return t.SendStreamWith(ctx, to, header, body, StreamOptions{})
}

// SendStreamWith is SendStream with options.
func (t *Transport) SendStreamWith(ctx context.Context, to string, header []byte, body io.Reader, o StreamOptions) error {
	_, err := t.stream(ctx, to, header, body, false, o)
	return err
}

// RequestStream is SendStream for a request: once the body is sent it
// waits for the peer's Reply to the opening message, which the caller must
// Release (InstallSnapshot, say).
func (t *Transport) RequestStream(ctx context.Context, to string, header []byte, body io.Reader) (Message, error) {
	return t.RequestStreamWith(ctx, to, header, body, StreamOptions{})
}

// RequestStreamWith is RequestStream with options.
func (t *Transport) RequestStreamWith(ctx context.Context, to string, header []byte, body io.Reader, so StreamOptions) (Message, error) {
	return t.stream(ctx, to, header, body, true, so)
}

func (t *Transport) stream(ctx context.Context, to string, header []byte, body io.Reader, request bool, so StreamOptions) (Message, error) {
	p := t.peer(to)
	if p == nil {
		return Message{}, fmt.Errorf("stream to %s: %w", to, ErrPeerNotFound)
	}
	id := t.pending.nextID()
	kind := codec.KindStreamOpen
	var w *waiter
	if request {
		kind, w = codec.KindStreamRequest, t.pending.add(id, p, Bulk)
	}
	s := t.streams.addSend(id, p)
	defer t.streams.removeSend(id)
	o := SendOptions{Class: Bulk, Stream: uint32(id), FailFast: so.FailFast} // every frame of the stream on one connection, in order
	err := t.sendTagged(ctx, to, codec.Tag{Kind: kind, ID: id}, header, o)
	if err == nil {
		err = t.pump(ctx, to, id, s, body, o)
	}
	if err != nil {
		if w != nil {
			t.abandon(id, w)
		}
		return Message{}, fmt.Errorf("stream to %s: %w", to, err)
	}
	if !request {
		return Message{}, nil
	}
	return t.await(ctx, to, id, w)
}

// pump sends body's bytes as the stream's data frames, within its credit.
func (t *Transport) pump(ctx context.Context, to string, id uint64, s *outStream, body io.Reader, o SendOptions) error {
	buf := bufpool.Get(codec.MaxStreamChunk)
	defer bufpool.Put(buf)
	for {
		room, err := s.awaitCredit(ctx, t.stopping)
		if err != nil {
			t.abortStream(to, id, err)
			return err
		}
		n, rerr := io.ReadFull(body, (*buf)[:min(room, codec.MaxStreamChunk)])
		end := rerr == io.EOF || rerr == io.ErrUnexpectedEOF
		if rerr != nil && !end {
			t.abortStream(to, id, rerr)
			return fmt.Errorf("reading the body: %w", rerr)
		}
		s.spend(n)
		kind := codec.KindStreamData
		if end {
			kind = codec.KindStreamEnd
		}
		if err := t.sendTagged(ctx, to, codec.Tag{Kind: kind, ID: id}, (*buf)[:n], o); err != nil {
			if why := s.failed(); why != nil {
				err = why // the lost connection that made the send fail says more
			}
			t.abortStream(to, id, err)
			return err
		}
		if end {
			return nil
		}
	}
}

// abortStream tells the receiver that the sender gave stream id up,
// unless the receiver is the one who reset it. It waits for room in the
// control queue for at most ConnectTimeout: a lost reset would leave the
// receiver waiting for the rest.
func (t *Transport) abortStream(to string, id uint64, why error) {
	if isReset(why) {
		return
	}
	t.waitToReset(to, id, codec.ResetAborted)
}

// waitToReset sends a stream reset from a goroutine that may wait a
// little for room in the control queue.
func (t *Transport) waitToReset(to string, id uint64, reason byte) {
	ctx, cancel := context.WithTimeout(t.ctx, t.cfg.ConnectTimeout)
	defer cancel()
	_ = t.sendReset(ctx, to, id, reason)
}

// sendReset and sendCredit send a stream's signals on the control class;
// a nil ctx never waits (the event loop's case: a lost signal leaves the
// other end to its own ctx).
func (t *Transport) sendReset(ctx context.Context, to string, id uint64, reason byte) error {
	return t.sendTagged(ctx, to, codec.Tag{Kind: codec.KindStreamReset, ID: id}, []byte{reason}, SendOptions{Class: Control})
}

func (t *Transport) sendCredit(ctx context.Context, to string, id uint64, n int64) error {
	var body [4]byte
	return t.sendTagged(ctx, to, codec.Tag{Kind: codec.KindStreamCredit, ID: id}, codec.AppendStreamCredit(body[:0], uint32(n)), SendOptions{Class: Control})
}

// outStream is the sending end of a stream: the credit its receiver has
// granted and whether it failed. Under mu.
type outStream struct {
	peer   *peer
	mu     sync.Mutex
	credit int64
	err    error
	wake   chan struct{} // capacity 1: credit arrived or the stream failed
}

// awaitCredit waits until the stream may send at least one byte, and
// returns how many.
func (s *outStream) awaitCredit(ctx context.Context, stopping <-chan struct{}) (int, error) {
	for {
		s.mu.Lock()
		credit, err := s.credit, s.err
		s.mu.Unlock()
		if err != nil {
			return 0, err
		}
		if credit > 0 {
			return int(min(credit, 1<<30)), nil
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return 0, ctxError(ctx)
		case <-stopping:
			return 0, ErrClosed
		}
	}
}

func (s *outStream) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *outStream) spend(n int) {
	s.mu.Lock()
	s.credit -= int64(n)
	s.mu.Unlock()
}

func (s *outStream) grant(n int64) {
	s.mu.Lock()
	s.credit += n
	s.mu.Unlock()
	s.signal()
}

func (s *outStream) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.signal()
}

func (s *outStream) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// resetError is why a stream fails when its peer resets it.
type resetError struct{ reason byte }

func (e resetError) Error() string {
	switch e.reason {
	case codec.ResetAborted:
		return "transport: stream reset: the sender gave it up"
	case codec.ResetCancelled:
		return "transport: stream reset: the receiver cancelled it"
	case codec.ResetRefused:
		return "transport: stream reset: the receiver refused it (too many open streams)"
	default:
		return "transport: stream reset: the sender overran its credit"
	}
}

func (e resetError) Unwrap() error { return ErrStreamReset }

func isReset(err error) bool {
	_, ok := err.(resetError)
	return ok
}
