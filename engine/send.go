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
// It blocks only while the peer's queue is full, until ctx ends (ErrTimeout
// at its deadline, ErrCanceled when cancelled).
// A peer whose rate-limit bucket is empty fails at once with ErrRateLimited.
func (t *Transport) Send(ctx context.Context, to string, payload []byte) error {
	return t.send(ctx, to, payload, SendOptions{})
}

// TrySend is Send that never blocks: a full queue returns ErrQueueFull.
func (t *Transport) TrySend(to string, payload []byte) error {
	return t.send(nil, to, payload, SendOptions{})
}

// Broadcast queues payload for every known peer and returns at once: it
// waits for no peer, so a stuck or slow one costs the others nothing, and
// neither does it delay the caller's next Broadcast. The error joins one
// error per peer that did not get its copy (each names the peer; errors.Is
// finds ErrQueueFull, ErrRateLimited, ErrPeerFailed...); every other peer
// has its copy queued. To wait for room at a full peer, Send to it. A ctx
// already done sends nothing.
func (t *Transport) Broadcast(ctx context.Context, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("broadcast: %w", ctxError(ctx))
	}
	var errs []error
	for id := range *t.peers.Load() {
		if err := t.send(nil, id, payload, SendOptions{}); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// send implements Send and SendWith (ctx != nil), TrySend and TrySendWith
// (ctx == nil).
func (t *Transport) send(ctx context.Context, to string, payload []byte, o SendOptions) error {
	return t.sendTagged(ctx, to, codec.Tag{}, payload, o)
}

// maxHeader is the longest frame header: the length, the flags and a tag.
const maxHeader = codec.HeaderSize + codec.TagSize

// sendTagged is send for a frame with a tag (requests, replies, streams;
// request.go, stream.go), or without one when tag.Kind is 0.
func (t *Transport) sendTagged(ctx context.Context, to string, tag codec.Tag, payload []byte, o SendOptions) error {
	p, err := t.sendablePeer(to)
	if err == nil {
		err = t.checkSize(p, len(payload))
	}
	if err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	if tag.Kind != 0 && p.noTags.Load() {
		return fmt.Errorf("send to %s: %w: the peer does not take requests or streams (no tagged-frame capability in its hello)", to, ErrUnsupported)
	}
	if o.Class == Control {
		o.Stream = 0 // one ordered stream
	} else if !exemptFromLimit(tag.Kind) && !p.limiter.Allow() { // control is exempt: a refused heartbeat is an election
		t.countRateLimited(p)
		return fmt.Errorf("send to %s: %w", to, ErrRateLimited)
	}
	l, err := t.laneFor(p, o)
	if err != nil {
		return fmt.Errorf("send to %s: %w", to, err)
	}
	var hbuf [maxHeader]byte
	hdr, body, scratch := t.maybeCompress(p, payload, &hbuf, tag)
	defer bufpool.Put(scratch)
	if !t.sendDirect(l, hdr, body) {
		if err := t.enqueue(ctx, p, l, o, hdr, body); err != nil {
			return fmt.Errorf("send to %s: %w", to, err)
		}
	}
	t.countQueued(len(payload), len(hdr)+len(body), len(body))
	return nil
}

// sendablePeer returns the peer a send to id goes to, or why there is none
// (ErrClosed, ErrNotStarted, ErrPeerNotFound).
func (t *Transport) sendablePeer(id string) (*peer, error) {
	if t.closing.Load() {
		return nil, ErrClosed
	}
	if !t.started.Load() {
		return nil, ErrNotStarted
	}
	p := t.peer(id)
	if p == nil {
		return nil, ErrPeerNotFound
	}
	return p, nil
}

// checkSize fails a payload larger than this transport sends or than the
// peer accepts (ErrMessageTooLarge).
func (t *Transport) checkSize(p *peer, size int) error {
	if size > t.cfg.MaxMessageSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, size, t.cfg.MaxMessageSize)
	}
	if lim := p.maxMessage.Load(); lim > 0 && int64(size) > lim {
		return fmt.Errorf("%w: %d bytes, peer accepts %d", ErrMessageTooLarge, size, lim)
	}
	return nil
}

// countRateLimited books a send refused by p's outbound bucket.
func (t *Transport) countRateLimited(p *peer) {
	p.stats.rateLimited.Add(1)
	t.stats.rateLimited.Add(1)
}

// countQueued books payload bytes accepted for sending as wire bytes
// (frames) with body bytes (compressed or not, no headers).
func (t *Transport) countQueued(payload, wire, body int) {
	t.stats.payloadOut.Add(uint64(payload))
	t.stats.wireOut.Add(uint64(wire))
	t.stats.bodyOut.Add(uint64(body))
}

// exemptFromLimit reports whether a frame of kind skips the outbound rate
// limit: replies (the request paid) and a stream's data (its receiver's
// window paces it; its opening paid).
func exemptFromLimit(kind byte) bool {
	return kind == codec.KindReply || kind == codec.KindStreamData || kind == codec.KindStreamEnd
}

// laneFor picks the lane the message takes (pool.Pick), failing when there
// is none, or when FailFast is set and its connection is not established.
func (t *Transport) laneFor(p *peer, o SendOptions) (*lane, error) {
	l, ok := p.pick(o.Class, o.Stream)
	if !ok && !p.dialed.Load() && !p.removed.Load() {
		l, ok = t.awaitPeer(p, o.Class) // a peer that dialed us, without a connection of this class yet
	}
	switch {
	case !ok && p.removed.Load():
		return nil, ErrPeerNotFound
	case !ok:
		return nil, fmt.Errorf("%w: no %s connection left", ErrPeerFailed, o.Class)
	case o.FailFast && !l.Healthy():
		return nil, fmt.Errorf("%w: its %s connection is not established (fail-fast)", ErrUnreachable, o.Class)
	}
	return l, nil
}

// enqueue appends the frame hdr+body to lane l, waiting for room as
// reserve does, and wakes the lane's event loop.
func (t *Transport) enqueue(ctx context.Context, p *peer, l *lane, o SendOptions, hdr, body []byte) error {
	wire := int64(len(hdr) + len(body))
	if err := t.reserve(ctx, p, o.Class, wire); err != nil {
		return err
	}
	var deadline int64
	if !o.Deadline.IsZero() {
		deadline = o.Deadline.UnixNano()
	}
	for {
		c, res := l.appendFrame(hdr, body, deadline)
		switch {
		case res == appended:
			if c != nil {
				c.wake()
			}
			return nil
		case res == laneSealed || t.closing.Load():
			// Its connection said goodbye: Close began after this send's
			// closing check. The send fails rather than queue behind it.
			p.queues[o.Class].release(1, int(wire))
			return ErrClosed
		}
		// A lane retired between the pick and the append has already left
		// the pool (or become unusable): pick again.
		var err error
		if l, err = t.laneFor(p, o); err != nil {
			p.queues[o.Class].release(1, int(wire))
			return err
		}
	}
}

// maybeCompress fills the frame header (with tag, when its Kind is set)
// and returns it with the body to send: the LZ4 form of payload (in
// scratch) when the peer accepts it and it pays off, counted in
// Stats.CompressedFrames.
func (t *Transport) maybeCompress(p *peer, payload []byte, hbuf *[maxHeader]byte, tag codec.Tag) (hdr, body []byte, scratch *[]byte) {
	hdr, body, scratch = t.encodeFrame(p, payload, hbuf, tag)
	if compressed(hdr) {
		t.stats.compressedFrames.Add(1)
	}
	return hdr, body, scratch
}

// encodeFrame is maybeCompress without the count (SendBatch counts the
// frames it queues).
func (t *Transport) encodeFrame(p *peer, payload []byte, hbuf *[maxHeader]byte, tag codec.Tag) (hdr, body []byte, scratch *[]byte) {
	var flags byte
	hdr = hbuf[:codec.HeaderSize]
	if tag.Kind != 0 {
		flags = codec.FlagTagged
		hdr = hbuf[:maxHeader]
		codec.PutTag(hdr[codec.HeaderSize:], tag)
	}
	body = payload
	cc := t.cfg.Compression
	if cc.Enabled && p.compress.Load() && len(payload) >= cc.MinSize && len(payload) > 0 {
		scratch = bufpool.Get(codec.CompressedBound(len(payload)))
		comp := t.compressor.get()
		out, ok := comp.AppendCompressed((*scratch)[:0], payload)
		t.compressor.put(comp)
		if ok {
			flags |= codec.FlagCompressed
			body = out
		}
	}
	codec.PutHeader(hdr, flags, len(hdr)-codec.HeaderSize+len(body))
	return hdr, body, scratch
}

// compressed reports whether a frame header says its body is LZ4.
func compressed(hdr []byte) bool { return hdr[codec.HeaderSize-1]&codec.FlagCompressed != 0 }

// compressorPool recycles LZ4 compressors between sending goroutines.
type compressorPool struct{ p sync.Pool }

func (cp *compressorPool) get() *codec.Compressor {
	if c, ok := cp.p.Get().(*codec.Compressor); ok {
		return c
	}
	return new(codec.Compressor)
}

func (cp *compressorPool) put(c *codec.Compressor) { cp.p.Put(c) }
