package engine

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

// How a frame comes in: gnet's buffer (or TLS plaintext decrypted from
// it) -> reassembly -> processFrames -> the hello, a control message, or
// deliver (to the inline Handler or the peer's inbox, inbox.go), under credit flow
// control (window.go).

// A callback delivers at most turnFrames data frames or turnBytes bytes,
// then yields: the rest waits in rd.in and a Wake brings the connection
// back after the other connections on its loop have had their turn.
// Without it one read of tiny frames (gnet reads up to 256 KiB at once:
// 50,000 empty frames) holds the loop for milliseconds.
const (
	turnFrames = 512
	turnBytes  = 512 << 10
)

// preHelloLimit bounds frames before the handshake: a hello is at most
// a few hundred bytes, so a larger length is refused before buffering it.
const preHelloLimit = 512

// pauseState says why delivery on a connection is paused. While paused,
// new bytes wait (in rd.in, or decrypted) and the backlog check bounds them.
type pauseState int32

const (
	running   pauseState = iota
	inboxFull            // the peer's inbox was full: Recv resumes it (inbox.wakeStalled)
	throttled            // over its inbound rate limit: the ticker resumes it
	starved              // the memory budget could not grant a payload buffer: the ticker resumes it (memory.go)
)

// reader is a connection's receive side. Loop only, except pause.
type reader struct {
	pause     atomic.Int32 // a pauseState: set by the loop; inboxFull is cleared by Recv
	in        scratch      // plaintext taken from gnet, not yet decoded: a partial frame, or frames held by a pause
	plain     scratch      // TLS plaintext not yet decoded
	slabs     slabWriter   // small received payloads, one slab per read batch
	delivered bool         // a message went into an inbox this callback
	woke      bool         // this callback readied a goroutine: yield before polling again (yield.go)
	charged   int64        // bytes of buffers charged to the connection's budget account (memory.go)
	turn      turn         // this callback's share of the loop
	msg       *Message     // the message a MessageHandler is given, reused; made on first use (it is large, and most connections never need it)
	heard     bool         // a frame arrived this callback (peer.lastHeard)
	// partialSince is when the partial frame at the front of the input
	// started (UnixNano), 0 with none: set by the loop, read by the ticker.
	partialSince atomic.Int64
}

func (r *reader) paused() pauseState { return pauseState(r.pause.Load()) }

// release returns the reader's buffers (the connection is gone).
func (r *reader) release() {
	r.in.drop()
	r.plain.drop()
}

// maxIn is the largest frame payload accepted right now.
func (c *conn) maxIn() int {
	if !c.established() {
		return preHelloLimit
	}
	return c.t.cfg.MaxMessageSize
}

// read decodes whatever complete frames are buffered.
//
// gnet's Peek is zero-copy only while gnet's own inbound ring is empty, and
// that ring fills whenever a callback leaves bytes unconsumed; a Peek then
// copies (and allocates) the whole backlog. So read never leaves bytes in
// gnet while it can make progress: complete frames are decoded in place,
// and whatever cannot be delivered yet (a partial frame, or frames behind a
// pause) moves once into rd.in, the connection's own buffer. While delivery
// is paused, new bytes move there too as they come (holdBacklog), bounded
// by the peer's credit.
func (c *conn) read() error {
	c.rd.turn = turn{}
	defer c.rd.slabs.seal() // a slab is never kept between batches: idle connections hold none
	if c.tls != nil {
		return c.readTLS()
	}
	defer c.rd.in.release() // idle connections hold no buffer either
	in := &c.rd.in
	for {
		if c.rd.paused() == inboxFull {
			return c.holdBacklog()
		}
		if len(in.data()) > 0 {
			used, paused, err := c.processFrames(in.data())
			in.consume(used)
			if err != nil {
				return err
			}
			if paused {
				return c.holdBacklog()
			}
			if len(in.data()) > 0 { // a partial frame remains
				if done, err := c.fillPartial(); err != nil || !done {
					return err
				}
				continue
			}
		}
		avail := c.sock.InboundBuffered()
		if avail == 0 {
			return nil
		}
		buf, _ := c.sock.Peek(-1)
		used, paused, err := c.processFrames(buf)
		if rest := buf[used:]; err == nil && len(rest) > 0 { // a partial frame, or frames held by a pause
			in.set(append(in.reserve(len(rest)), rest...))
			used = len(buf)
		}
		c.discard(used)
		if err != nil {
			return err
		}
		if paused {
			return c.holdBacklog()
		}
	}
}

// holdBacklog moves what gnet has buffered into rd.in while delivery is
// paused, once the backlog check has passed. Left in gnet, the bytes would
// be copied into its per-connection ring, which it grows by copying and
// recycles once drained, then copied out again on resume: 8 % of the CPU
// of a 64 B stream into a busy Recv (BENCHMARKS.md, session 8).
func (c *conn) holdBacklog() error {
	buffered := c.sock.InboundBuffered()
	if err := c.checkBacklog(buffered + len(c.rd.in.data())); err != nil {
		return err
	}
	if buffered > 0 {
		c.readIntoIn(buffered)
	}
	return nil
}

// checkBacklog fails a paused connection whose peer has sent more than
// its credit allows: pending bytes received but not yet delivered. gnet
// keeps reading a socket whatever we do, so this is what bounds the
// memory a peer that ignores flow control can take.
func (c *conn) checkBacklog(pending int) error {
	if !c.recvWin.backlogFits(pending) {
		return fmt.Errorf("from %s: %w: peer exceeded its flow-control window (%d bytes pending while delivery is paused)", c.remote, ErrProtocol, pending)
	}
	return nil
}

// fillPartial reads from gnet until rd.in holds the whole frame at its
// front, validating the header as soon as the length is known. It reports
// whether the frame is complete.
func (c *conn) fillPartial() (bool, error) {
	for {
		have := c.rd.in.data()
		need := codec.HeaderSize
		if len(have) >= 4 {
			if _, _, err := codec.Decode(have, c.maxIn()); err != nil {
				return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
			}
			need = max(need, codec.FrameSize(have))
		}
		if len(have) >= need {
			return true, nil
		}
		avail := c.sock.InboundBuffered()
		if avail == 0 {
			return false, nil
		}
		if err := c.roomForFrame(&c.rd.in, need); err != nil {
			return false, err
		}
		c.readIntoIn(min(need-len(have), avail))
	}
}

// roomForFrame makes buf hold a whole frame of size bytes at its front
// (whose length is known) in one allocation, after charging it to the
// budget: a peer that announces a large frame is refused before its
// buffer exists, and the buffer does not grow by doubling as bytes come.
func (c *conn) roomForFrame(buf *scratch, size int) error {
	have := len(buf.data())
	if buf.spare() >= size-have { // room already
		return nil
	}
	if err := c.chargeBuffers(); err != nil { // counts the rest of the frame (partialRest)
		return err
	}
	buf.set(buf.reserve(size - have))
	return nil
}

// readIntoIn moves n bytes from gnet to the end of rd.in.
func (c *conn) readIntoIn(n int) {
	b := c.rd.in.reserve(n)
	m, _ := c.sock.Read(b[len(b) : len(b)+n])
	c.rd.in.set(b[:len(b)+m])
}

// discard drops n consumed bytes from gnet's inbound buffer. gnet treats
// Discard(0) as "discard everything", so zero must never reach it.
func (c *conn) discard(n int) {
	if n > 0 {
		_, _ = c.sock.Discard(n)
	}
}

// readTLS decrypts buffered ciphertext and decodes the frames inside.
func (c *conn) readTLS() error {
	done, err := c.tlsSettled()
	if !done {
		if n := c.sock.InboundBuffered(); n > 0 {
			in, _ := c.sock.Peek(-1)
			c.tls.Feed(in)
			c.discard(n)
		}
		return nil
	}
	if err != nil {
		if c.tls.HasOutput() { // an alert that tells the peer why
			_, _ = c.sock.Write(c.tls.TakeOutput(nil))
		}
		c.fail(causeTLS, err)
		return err
	}
	if err := c.sendHello(); err != nil {
		return err
	}
	if c.tls.InPlace() {
		err = c.readInPlace()
	} else {
		err = c.readDecrypted()
	}
	if err != nil {
		c.sendTLSAlert()
	}
	return err
}

// sendTLSAlert writes the alert the record layer queued when it refused
// the peer's input (a record that does not authenticate, say), after
// whatever a direct write left half-sent, so that the peer learns why
// before the connection closes. Loop only.
func (c *conn) sendTLSAlert() {
	if !c.tls.HasOutput() {
		return
	}
	w := &c.wr
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.writeTail() == nil {
		_, _ = c.sock.Write(c.tls.TakeOutput(nil))
	}
}

// readDecrypted decrypts buffered ciphertext with crypto/tls's record
// layer into rd.plain and decodes the frames there.
func (c *conn) readDecrypted() error {
	// While delivery is paused, ciphertext is still decrypted into
	// rd.plain: bytes left in gnet would be copied into a fresh buffer by
	// every Peek, and the peer's credit bounds what can arrive.
	defer c.rd.plain.release()
	plain := &c.rd.plain
	for {
		paused := c.rd.paused() == inboxFull
		if p := plain.data(); len(p) > 0 && !paused {
			used, p, err := c.processFrames(p)
			plain.consume(used)
			if err != nil {
				return err
			}
			paused = p
			if rest := plain.data(); !paused && len(rest) >= 4 { // a partial frame: its length is known
				if err := c.roomForFrame(plain, codec.FrameSize(rest)); err != nil {
					return err
				}
			}
		}
		if paused {
			if err := c.checkBacklog(len(plain.data())); err != nil {
				return err
			}
		}
		avail := c.sock.InboundBuffered()
		if avail == 0 && c.tls.Buffered() == 0 {
			return nil
		}
		var in []byte
		if avail > 0 {
			in, _ = c.sock.Peek(-1)
		}
		before := len(plain.data())
		out, consumed, err := c.tls.Decrypt(plain.reserve(tlsstate.DecryptRoom(len(in))), in, 0)
		plain.set(out)
		c.discard(consumed)
		if err != nil {
			return c.tlsReadError(err)
		}
		if consumed == 0 && len(plain.data()) == before {
			return nil // a partial record: wait for more bytes
		}
	}
}

// tlsReadError says why reading TLS records failed.
func (c *conn) tlsReadError(err error) error {
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("from %s: %w: peer closed the TLS session", c.remote, ErrClosed)
	case !c.established(): // e.g. the alert of a server that refused our certificate
		return c.handshakeError(causeTLS, "%v", err)
	}
	return fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
}

// processFrames handles the complete frames at the front of buf and returns
// how many bytes it consumed. It stops early, with paused set, when the
// peer's inbox is full or the peer is over its inbound rate limit: the
// caller must keep buf[used:] for later. (The flag is returned rather than
// re-read from rd.pause, which Recv may already have cleared.)
func (c *conn) processFrames(buf []byte) (used int, paused bool, err error) {
	for used < len(buf) {
		f, n, err := codec.Decode(buf[used:], c.maxIn())
		if err != nil {
			return used, false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		if n == 0 {
			break
		}
		switch {
		case !c.established():
			err = c.onHello(f)
		case f.Control():
			err = c.onControl(f.Payload)
		case c.wr.peerSaidGoodbye():
			err = fmt.Errorf("from %s: %w: data frame after the peer's goodbye", c.remote, ErrProtocol)
		default:
			if c.rd.turn.over() {
				return used, true, nil
			}
			var ok bool
			if ok, err = c.deliver(f, n); !ok && err == nil {
				return used, true, nil
			}
			c.rd.turn.spend(n)
		}
		if err != nil {
			return used, false, err
		}
		used += n
		c.rd.heard = true
	}
	return used, false, nil
}

// deliver hands one data frame to the application, or, when it is
// tagged, to whatever awaits it (route.go). It returns false when
// delivery must pause (inbox full, over the inbound rate limit, or no
// memory for the payload): the frame stays buffered and the connection
// waits to be resumed.
func (c *conn) deliver(f codec.Frame, wire int) (bool, error) {
	if c.rd.paused() == starved { // trying again: it counts anew if the budget still says no
		c.rd.pause.CompareAndSwap(int32(starved), int32(running))
	}
	tag, f, err := c.untag(f)
	if err != nil {
		return false, err
	}
	cost, err := c.creditCost(f)
	if err != nil {
		return false, err
	}
	if tag.Kind != 0 {
		cost += codec.TagSize
	}
	if !c.recvWin.admit(cost) {
		return false, fmt.Errorf("from %s: %w: peer exceeded its flow-control window", c.remote, ErrProtocol)
	}
	p := c.peer.Load()
	if !c.allowInbound(p) {
		return false, nil
	}
	payload, buf, err := c.payloadOf(f)
	if err != nil || (payload == nil && len(f.Payload) > 0) {
		return false, err // err, or no budget for the decompression output: starved
	}
	var ok bool
	switch tag.Kind {
	case 0, codec.KindRequest:
		ok = c.deliverMessage(p, payload, buf, cost, tag.ID, nil)
	default:
		ok, err = c.deliverTagged(p, tag, payload, buf, cost)
	}
	if !ok || err != nil {
		return false, err
	}
	c.recvWin.accept(cost)
	c.batch.msgsRecv++
	c.batch.bytesRecv += uint64(wire)
	return true, nil
}

// untag splits a tagged frame into its tag and the frame of its body.
func (c *conn) untag(f codec.Frame) (codec.Tag, codec.Frame, error) {
	if !f.Tagged() {
		return codec.Tag{}, f, nil
	}
	tag, body, err := codec.SplitTag(f.Payload)
	if err != nil {
		return tag, f, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
	}
	return tag, codec.Frame{Flags: f.Flags &^ codec.FlagTagged, Payload: body}, nil
}

// deliverMessage hands a message (a request when reqID is set, a stream's
// opening when s is) to the inline handler or the peer's inbox. buf, when
// set, is the payload's own buffer; it is released if delivery must wait.
func (c *conn) deliverMessage(p *peer, payload []byte, buf *[]byte, cost int, reqID uint64, s *Stream) bool {
	t := c.t
	if h := t.cfg.MessageHandler; h != nil {
		if c.rd.msg == nil {
			c.rd.msg = new(Message)
		}
		*c.rd.msg = Message{From: p.id, Payload: payload, ConnID: c.id, Class: c.class, Stream: s, reqID: reqID}
		h(c.rd.msg)
		*c.rd.msg = Message{}
		c.wokeSomeone() // whatever the handler does, it may have woken a goroutine
	} else if t.cfg.Handler != nil {
		t.cfg.Handler(p.id, payload)
		c.wokeSomeone()
	}
	if t.cfg.inline() {
		if buf != nil {
			releasePayload(c.acct, buf)
		}
		c.recvWin.consume(int32(cost)) // the flush after this callback returns the credit
		return true
	}
	m, ok := c.retain(p, payload, buf, cost)
	if !ok {
		return false
	}
	m.reqID, m.Stream = reqID, s
	if !t.deliverToInbox(c, p, m) {
		if m.buf != nil {
			releasePayload(c.acct, m.buf)
		}
		return false
	}
	if m.slab != nil {
		c.rd.slabs.commit(len(payload))
	}
	c.rd.delivered = true
	return true
}

// retain makes a Message that owns its payload: buf when the payload has
// its own buffer already, a slab for a small one, a pooled buffer
// otherwise. It returns false when the budget cannot grant the memory (the
// connection is then starved). A slab copy must be committed once kept.
func (c *conn) retain(p *peer, payload []byte, buf *[]byte, cost int) (Message, bool) {
	m := Message{From: p.id, ConnID: c.id, Class: c.class, conn: c, cost: int32(cost), acct: c.acct}
	switch {
	case buf != nil: // decompressed into its own buffer
		m.Payload, m.buf = *buf, buf
	case fitsSlab(len(payload)):
		if c.rd.slabs.needsSlab(len(payload)) && !c.chargePayload(slabSize) {
			return Message{}, false
		}
		m.Payload, m.slab = c.rd.slabs.copyIn(payload, c.acct)
	default:
		if buf = c.payloadBuffer(len(payload)); buf == nil {
			return Message{}, false
		}
		copy(*buf, payload)
		m.Payload, m.buf = *buf, buf
	}
	return m, true
}

// consumed records that the application took a delivered message off the
// inbox and, once a credit update is due, wakes the loop to write it, or,
// after a large message, writes it directly. Any goroutine.
func (c *conn) consumed(cost int32) { c.consumedN(cost, 1) }

// consumedN is consumed for msgs messages of cost in all (RecvBatch).
func (c *conn) consumedN(cost int32, msgs int64) {
	if c.recvWin.consumeN(cost, msgs) && (cost < directCreditMin || !c.creditDirect()) {
		c.wake()
	}
}

// allowInbound takes a token from the peer's inbound budget. Over budget,
// the connection pauses like on a full inbox: its bytes wait, no credit
// returns, so flow control holds the sender back; the ticker resumes it
// once tokens have refilled.
func (c *conn) allowInbound(p *peer) bool {
	if p.inLimiter == nil || c.class == Control { // control stays bounded by its window and inbox
		return true
	}
	if !p.inLimiter.Allow() {
		if pauseState(c.rd.pause.Swap(int32(throttled))) != throttled {
			c.t.stats.inboundThrottled.Add(1)
			p.stats.throttled.Add(1)
		}
		return false
	}
	c.rd.pause.CompareAndSwap(int32(throttled), int32(running))
	return true
}

// creditCost is what a data frame costs in flow-control credit: its size
// as if uncompressed, so that the window bounds the memory the messages
// take once decompressed. A bad length prefix is a compression error.
func (c *conn) creditCost(f codec.Frame) (int, error) {
	if !f.Compressed() {
		return codec.FrameLen(len(f.Payload)), nil
	}
	n, err := codec.DecompressedLen(f.Payload, c.t.cfg.MaxMessageSize)
	if err != nil {
		return 0, fmt.Errorf("from %s: %w: %w", c.remote, ErrCompression, err)
	}
	return codec.FrameLen(n), nil
}

// payloadOf returns the frame's payload, decompressed into a pooled buffer
// when the frame is compressed (buf is then that buffer, charged to the
// connection's budget; a nil payload means the budget cannot grant it
// yet).
func (c *conn) payloadOf(f codec.Frame) ([]byte, *[]byte, error) {
	if !f.Compressed() {
		return f.Payload, nil, nil
	}
	if !c.compressIn {
		return nil, nil, fmt.Errorf("from %s: %w: compressed frame on a connection without compression", c.remote, ErrProtocol)
	}
	n, err := codec.DecompressedLen(f.Payload, c.t.cfg.MaxMessageSize)
	if err != nil {
		return nil, nil, fmt.Errorf("from %s: %w: %w", c.remote, ErrCompression, err)
	}
	buf := c.payloadBuffer(n)
	if buf == nil {
		return nil, nil, nil // no budget for it yet: delivery pauses
	}
	if err := codec.Decompress(*buf, f.Payload); err != nil {
		releasePayload(c.acct, buf)
		return nil, nil, fmt.Errorf("from %s: %w: %w", c.remote, ErrCompression, err)
	}
	c.t.stats.decompressedIn.Add(uint64(n))
	c.t.stats.compressedIn.Add(uint64(len(f.Payload)))
	return *buf, buf, nil
}

// onControl handles a control frame after the handshake.
func (c *conn) onControl(p []byte) error {
	m, err := codec.DecodeControl(p)
	if err != nil {
		return fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
	}
	switch m.Type {
	case codec.TypeCredit:
		c.wr.mu.Lock() // direct writes read acked (handover.go)
		c.sendWin.grant(int64(m.Credit.Bytes), m.Credit.Messages)
		c.publishUnconfirmed(0)
		c.wr.mu.Unlock()
		c.wr.lastProgress = time.Now()
	case codec.TypePing:
		c.onPing(m.Echo)
	case codec.TypePong:
		c.onPong(c.peer.Load(), m.Echo)
	case codec.TypeGoodbye:
		if c.wr.peerSaidGoodbye() {
			return fmt.Errorf("from %s: %w: a second goodbye", c.remote, ErrProtocol)
		}
		c.onGoodbye()
	}
	return nil
}

// turn counts what one callback has delivered, for fairness between the
// connections of a loop (turnFrames, turnBytes).
type turn struct {
	frames, bytes int
	yielded       bool // the callback stopped early: a Wake must follow
}

func (t *turn) spend(wire int) { t.frames++; t.bytes += wire }

// over reports whether the turn is used up, and marks it yielded.
func (t *turn) over() bool {
	if t.frames < turnFrames && t.bytes < turnBytes {
		return false
	}
	t.yielded = true
	return true
}
