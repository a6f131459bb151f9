package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
)

// Send queues a copy of payload for the peer and returns once it is queued.
// It blocks only while the peer's queue is full, until ctx ends (ErrTimeout).
// A peer whose rate-limit bucket is empty fails at once with ErrRateLimited.
func (t *Transport) Send(ctx context.Context, to string, payload []byte) error {
	return t.send(ctx, to, payload, SendOptions{})
}

// TrySend is Send that never blocks: a full queue returns ErrQueueFull.
func (t *Transport) TrySend(to string, payload []byte) error {
	return t.send(nil, to, payload, SendOptions{})
}

// Broadcast sends payload to every known peer and joins the errors of the
// peers it could not queue for.
func (t *Transport) Broadcast(ctx context.Context, payload []byte) error {
	var errs []error
	for id := range *t.peers.Load() {
		if err := t.send(ctx, id, payload, SendOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send implements Send and SendWith (ctx != nil), TrySend and TrySendWith
// (ctx == nil).
func (t *Transport) send(ctx context.Context, to string, payload []byte, o SendOptions) error {
	if t.closing.Load() {
		return fmt.Errorf("send to %s: %w", to, ErrClosed)
	}
	if !t.started.Load() {
		return fmt.Errorf("send to %s: %w", to, ErrNotStarted)
	}
	p := t.peer(to)
	if p == nil {
		return fmt.Errorf("send to %s: %w", to, ErrPeerNotFound)
	}
	if len(payload) > t.cfg.MaxMessageSize {
		return fmt.Errorf("send to %s: %w: %d bytes, limit %d", to, ErrMessageTooLarge, len(payload), t.cfg.MaxMessageSize)
	}
	if lim := p.maxMessage.Load(); lim > 0 && int64(len(payload)) > lim {
		return fmt.Errorf("send to %s: %w: %d bytes, peer accepts %d", to, ErrMessageTooLarge, len(payload), lim)
	}
	if !p.limiter.Allow() {
		p.stats.rateLimited.Add(1)
		t.stats.rateLimited.Add(1)
		return fmt.Errorf("send to %s: %w", to, ErrRateLimited)
	}
	var hdr [codec.HeaderSize]byte
	body, scratch := t.maybeCompress(p, payload, &hdr)
	defer bufpool.Put(scratch)
	if !t.sendDirect(p, hdr[:], body) {
		if err := t.enqueue(ctx, p, hdr[:], body); err != nil {
			return fmt.Errorf("send to %s: %w", to, err)
		}
	}
	t.stats.payloadOut.Add(uint64(len(payload)))
	t.stats.wireOut.Add(uint64(len(hdr) + len(body)))
	return nil
}

// enqueue appends the frame hdr+body to one of the peer's lanes, waiting
// for room as reserve does, and wakes the lane's event loop.
func (t *Transport) enqueue(ctx context.Context, p *peer, hdr, body []byte) error {
	wire := int64(len(hdr) + len(body))
	if err := t.reserve(ctx, p, wire); err != nil {
		return err
	}
	for {
		l, ok := p.lanes.Pick()
		if !ok {
			p.pending.Add(-1)
			p.pendBytes.Add(-wire)
			p.signalSpace()
			if p.removed.Load() {
				return ErrPeerNotFound
			}
			return fmt.Errorf("%w: no connection left", ErrPeerFailed)
		}
		c, res := l.appendFrame(hdr, body)
		switch {
		case res == appended:
			if c != nil {
				c.wake()
			}
			return nil
		case res == laneSealed || t.closing.Load():
			// Its connection said goodbye: Close began after this send's
			// closing check. The send fails rather than queue behind it.
			p.pending.Add(-1)
			p.pendBytes.Add(-wire)
			p.signalSpace()
			return ErrClosed
		}
		// A lane retired between Pick and the append has already left the
		// pool (or become unusable): the next Pick chooses another.
	}
}

// maybeCompress fills the frame header and returns the body to send: the
// LZ4 form of payload (in scratch) when the peer accepts it and it pays off.
func (t *Transport) maybeCompress(p *peer, payload []byte, hdr *[codec.HeaderSize]byte) (body []byte, scratch *[]byte) {
	cc := t.cfg.Compression
	if cc.Enabled && p.compress.Load() && len(payload) >= cc.MinSize && len(payload) > 0 {
		scratch = bufpool.Get(codec.CompressedBound(len(payload)))
		comp := t.compressor.get()
		out, ok := comp.AppendCompressed((*scratch)[:0], payload)
		t.compressor.put(comp)
		if ok {
			codec.PutHeader(hdr[:], codec.FlagCompressed, len(out))
			t.stats.compressedFrames.Add(1)
			return out, scratch
		}
	}
	codec.PutHeader(hdr[:], 0, len(payload))
	return payload, scratch
}

// reserve claims room for one message of wire bytes in the peer's queue,
// waiting (ctx != nil) or failing with ErrQueueFull (ctx == nil).
func (t *Transport) reserve(ctx context.Context, p *peer, wire int64) error {
	for {
		if t.tryReserve(p, wire) {
			return nil
		}
		if ctx == nil {
			p.stats.queueFull.Add(1)
			t.stats.queueFull.Add(1)
			return fmt.Errorf("%w: %d messages, %d bytes queued", ErrQueueFull, p.pending.Load(), p.pendBytes.Load())
		}
		// Announce the wait, then re-check: a flush that freed room before
		// seeing waiters > 0 is visible to this second try.
		p.waiters.Add(1)
		if t.tryReserve(p, wire) {
			p.waiters.Add(-1)
			return nil
		}
		select {
		case <-p.space:
		case <-ctx.Done():
			p.waiters.Add(-1)
			return fmt.Errorf("%w: queue full: %w", ErrTimeout, ctx.Err())
		case <-t.stopping:
			p.waiters.Add(-1)
			return ErrClosed
		}
		p.waiters.Add(-1)
		if t.closing.Load() {
			return ErrClosed
		}
	}
}

// tryReserve claims queue room without waiting.
func (t *Transport) tryReserve(p *peer, wire int64) bool {
	n := p.pending.Add(1)
	b := p.pendBytes.Add(wire)
	if n <= int64(t.cfg.MaxPendingMessages) && (b <= int64(t.cfg.MaxPendingBytes) || n == 1) {
		if n < int64(t.cfg.MaxPendingMessages) {
			p.signalSpace() // pass the wake-up on to the next waiter, if any
		}
		return true
	}
	p.pending.Add(-1)
	p.pendBytes.Add(-wire)
	return false
}

// compressorPool recycles LZ4 compressors between sending goroutines.
type compressorPool struct{ p sync.Pool }

func (cp *compressorPool) get() *codec.Compressor {
	if c, ok := cp.p.Get().(*codec.Compressor); ok {
		return c
	}
	return new(codec.Compressor)
}

func (cp *compressorPool) put(c *codec.Compressor) { cp.p.Put(c) }
