package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/internal/bufpool"
	"github.com/tensorchain/transport/tlsstate"
)

// preHelloLimit bounds frames before the handshake: a hello is at most
// a few hundred bytes, so a larger length is refused before buffering it.
const preHelloLimit = 512

// conn is one TCP connection: its handshake, its flow-control state and the
// lane it serves. Fields under "loop only" are touched only by the event
// loop that owns the gnet connection.
type conn struct {
	t        *Transport
	id       uint64
	outbound bool
	expectID string // outbound: the node id the dialer expects
	retried  int    // outbound: redials of this lane before this connection (set by bind)
	gc       gnet.Conn
	remote   string
	created  time.Time

	lane atomic.Pointer[lane] // outbound: set at dial; inbound: set at hello
	peer atomic.Pointer[peer] // set when the hello binds the connection

	established  atomic.Bool // hello exchanged: data may flow
	closed       atomic.Bool
	lastSend     atomic.Int64 // UnixNano of the last send or drain, or busySend while streaming (direct.go)
	wakePending  atomic.Bool  // a Wake is queued on the loop; skip another
	stalled      atomic.Bool  // the inbound ring was full; wait for Recv
	tlsDone      atomic.Bool  // the TLS handshake goroutine finished
	goodbyeDone  atomic.Bool  // our goodbye was written (Close waits for it)
	ioCheck      atomic.Bool  // the ticker asks the loop to check the I/O timeout
	writeBlocked atomic.Bool  // gnet's outbound buffer is at its cap: the ticker re-polls
	throttled    atomic.Bool  // over the inbound rate limit: the ticker resumes it
	tlsErr       atomic.Pointer[error]

	consumedBytes atomic.Int64 // credit cost of delivered messages the app has taken
	consumedMsgs  atomic.Int64
	outBuffered   atomic.Int64 // gnet outbound bytes at the last flush, for the ticker
	creditSentA   atomic.Int64 // creditSent, published for consumed()
	creditMsgsA   atomic.Int64 // creditMsgsSent, published for consumed()

	failMu        sync.Mutex
	failErr       error        // why the connection is being closed; the first reason wins
	cause         failureCause // the failure category
	tlsReported   bool         // the TLS handshake goroutine has reported (handshake.go)
	closeWaitsTLS bool         // closed during the TLS handshake: its report books the failure
	heldCause     failureCause // the close's cause and reason, for that report
	heldReason    error
	ready         chan struct{} // closed when the handshake succeeds or the conn dies
	readyOnce     sync.Once
	readyErr      error
	deadline      *time.Timer // handshake deadline

	// loop only
	helloSent   bool
	compressOut bool
	compressIn  bool
	sendCredit  atomic.Int64 // bytes the peer still accepts; credit frames add, writes subtract
	out         sendCursor   // frames taken from the lane, being written (under wmu)
	flushing    bool         // flush holds wmu (gnet may call OnClose from inside its write)

	// wmu serialises writes to the socket: the loop's flush, and direct
	// writes from sending goroutines (see direct.go). Fields below it are
	// guarded by it.
	wmu             sync.Mutex
	directOff       bool   // no direct writes: TLS, goodbye, closing or closed
	gnetBuffered    bool   // gnet holds output the kernel has not taken
	tail            []byte // the unwritten rest of a partial direct write, sent first
	tailBuf         *[]byte
	ctrl            []byte
	sentMsgs        uint64
	ackedMsgs       uint64
	recvBytes       int64
	creditSent      int64
	creditMsgsSent  int64
	goodbyeSent     bool
	goodbyeRecv     bool
	closeAfterFlush bool // close once this callback's output is written (goodbye exchange)
	delivered       bool // a message went into the ring this callback
	lastOut         int
	lastProgress    time.Time
	tls             *tlsstate.Session
	plain           scratch    // decrypted bytes not yet decoded (TLS only)
	in              []byte     // bytes taken from gnet but not yet decoded (plaintext only)
	inOff           int        // decoded prefix of in
	inBuf           *[]byte    // in's pooled storage, if pooled
	backlog         bool       // bytes were left in gnet's ring during a stall
	cipher          scratch    // ciphertext being written (TLS only)
	slabs           slabWriter // small received payloads, one slab per read batch
	batch           batchStats
}

// batchStats accumulates counters during one callback; they are published
// to the shared atomics once per callback rather than once per message.
type batchStats struct {
	msgsRecv, bytesRecv, msgsSent, bytesSent uint64
}

func (t *Transport) newConn(outbound bool, l *lane, expectID, remote string) *conn {
	c := &conn{t: t, id: t.connSeq.Add(1), outbound: outbound, expectID: expectID, remote: remote, ready: make(chan struct{})}
	if l != nil {
		c.lane.Store(l)
	}
	c.created = time.Now()
	c.lastProgress = c.created
	return c
}

// wake asks the owning loop to run onTraffic (to flush queued frames or
// return credit). Safe from any goroutine; redundant wakes are coalesced.
func (c *conn) wake() {
	if c.closed.Load() || c.gc == nil {
		return
	}
	// Load first: a failing CAS still takes the cache line from the loop.
	if !c.wakePending.Load() && c.wakePending.CompareAndSwap(false, true) {
		_ = c.gc.Wake(nil)
	}
}

// forceWake wakes the loop even if a wake looks pending: for events the
// loop's next pass would not notice by itself (a TLS handshake ending, a
// tick, room in the inbound ring, a partial direct write).
func (c *conn) forceWake() {
	c.wakePending.Store(false)
	c.wake()
}

// attach records the gnet connection once gnet has opened it, and reports
// whether the connection already failed (its handshake deadline may fire
// before gnet opens it). Under failMu, because fail reads gc from timer
// goroutines.
func (c *conn) attach(gc gnet.Conn) (failed bool) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	c.gc = gc
	return c.failErr != nil
}

// fail records why the connection must close and closes it. The first
// reason wins. Safe from any goroutine.
func (c *conn) fail(cause failureCause, err error) {
	c.failMu.Lock()
	if c.failErr == nil {
		c.failErr, c.cause = err, cause
	}
	gc := c.gc
	c.failMu.Unlock()
	if gc != nil {
		_ = gc.Close()
	}
}

// failErrSnapshot returns the recorded failure, if any, without closing.
func (c *conn) failErrSnapshot() error {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	return c.failErr
}

// reason returns the recorded failure, or fallback (a plain close).
func (c *conn) reason(fallback error) (failureCause, error) {
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.failErr != nil {
		return c.cause, c.failErr
	}
	if fallback == nil {
		fallback = fmt.Errorf("connection to %s closed: %w", c.remote, ErrClosed)
	}
	return causeClosed, fallback
}

// maxIn is the largest frame payload accepted right now.
func (c *conn) maxIn() int {
	if !c.established.Load() {
		return preHelloLimit
	}
	return c.t.cfg.MaxMessageSize
}

// onTraffic runs on the loop for new bytes and for wakes.
func (c *conn) onTraffic() gnet.Action {
	if c.closed.Load() {
		return gnet.Close
	}
	c.writeBlocked.Store(false)
	err := c.read()
	if err == nil {
		err = c.flush()
	}
	c.publish()
	if err != nil {
		c.fail(classify(err), err)
		return gnet.Close
	}
	if c.closeAfterFlush {
		c.fail(causeClosed, fmt.Errorf("connection to %s: %w: goodbye exchanged", c.remote, ErrClosed))
		return gnet.Close // gnet writes what is buffered before closing
	}
	return gnet.None
}

// read decodes whatever complete frames are buffered.
//
// gnet's Peek is zero-copy only while gnet's own inbound ring is empty, and
// that ring fills whenever a callback leaves bytes unconsumed; a Peek then
// copies (and allocates) the whole backlog. So read never leaves bytes in
// gnet while it can make progress: complete frames are decoded in place,
// and whatever cannot be delivered yet (a partial frame, or frames behind a
// full inbound ring) moves once into c.in, the connection's own buffer.
// While the ring is full, new bytes wait in gnet (bounded by the peer's
// credit) and are drained into c.in with Read, which copies without
// allocating, when delivery resumes.
func (c *conn) read() error {
	defer c.slabs.seal() // a slab is never kept between batches: idle connections hold none
	if c.tls != nil {
		return c.readTLS()
	}
	for {
		if c.stalled.Load() {
			buffered := c.gc.InboundBuffered()
			c.backlog = buffered > 0
			return c.checkBacklog(buffered + len(c.in) - c.inOff)
		}
		if c.inOff < len(c.in) {
			used, paused, err := c.processFrames(c.in[c.inOff:])
			c.inOff += used
			if err != nil {
				return err
			}
			if paused {
				return c.checkBacklog(c.gc.InboundBuffered() + len(c.in) - c.inOff)
			}
			if c.inOff < len(c.in) { // a partial frame remains
				if done, err := c.fillPartial(); err != nil || !done {
					return err
				}
				continue
			}
			c.resetIn()
		}
		avail := c.gc.InboundBuffered()
		if avail == 0 {
			return nil
		}
		if c.backlog { // gnet's ring holds bytes from a stall: take them all at once
			c.backlog = false
			c.readIntoIn(avail)
			continue
		}
		buf, _ := c.gc.Peek(-1)
		used, paused, err := c.processFrames(buf)
		if err == nil {
			rest := buf[used:] // a partial frame, or frames the ring could not take
			c.reserveIn(len(rest))
			c.in = append(c.in, rest...)
			used = len(buf)
		}
		c.discard(used)
		if err != nil {
			return err
		}
		if paused {
			return c.checkBacklog(len(c.in) - c.inOff)
		}
	}
}

// checkBacklog fails a paused connection (ring full or over its inbound
// rate limit) whose peer has sent more than its credit allows: pending
// bytes received but not yet delivered. gnet keeps reading a socket
// whatever we do, so this is what bounds the memory a peer that ignores
// flow control can take.
func (c *conn) checkBacklog(pending int) error {
	limit := c.t.cfg.ReceiveWindow + codec.FrameLen(c.t.cfg.MaxMessageSize) + backlogSlack
	if pending > limit {
		return fmt.Errorf("from %s: %w: peer exceeded its flow-control window (%d bytes pending while the inbound ring is full)", c.remote, ErrProtocol, pending)
	}
	return nil
}

// backlogSlack allows for control frames, which take no credit.
const backlogSlack = 64 << 10

// fillPartial reads from gnet until c.in holds the whole frame at c.inOff,
// validating its header as soon as the length is known. It reports whether
// the frame is complete.
func (c *conn) fillPartial() (bool, error) {
	for {
		have := len(c.in) - c.inOff
		need := codec.HeaderSize
		if have >= 4 {
			if _, _, err := codec.Decode(c.in[c.inOff:], c.maxIn()); err != nil {
				return false, fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
			}
			need = max(need, codec.PeekLength(c.in[c.inOff:]))
		}
		if have >= need {
			return true, nil
		}
		avail := c.gc.InboundBuffered()
		if avail == 0 {
			return false, nil
		}
		c.readIntoIn(min(need-have, avail))
	}
}

// readIntoIn moves n bytes from gnet to the end of c.in.
func (c *conn) readIntoIn(n int) {
	c.reserveIn(n)
	m, _ := c.gc.Read(c.in[len(c.in) : len(c.in)+n])
	c.in = c.in[:len(c.in)+m]
}

// reserveIn makes room for n more bytes in c.in, dropping consumed bytes.
func (c *conn) reserveIn(n int) {
	live := len(c.in) - c.inOff
	if cap(c.in)-len(c.in) >= n {
		return
	}
	if c.inOff > 0 && cap(c.in) >= live+n && live < 64<<10 { // cheap compaction in place
		c.in = c.in[:copy(c.in, c.in[c.inOff:])]
		c.inOff = 0
		return
	}
	buf := bufpool.Get(live + n)
	*buf = append((*buf)[:0], c.in[c.inOff:]...)
	c.releaseIn()
	c.inBuf, c.in, c.inOff = buf, *buf, 0
}

// resetIn empties c.in, returning a large buffer to the pool.
func (c *conn) resetIn() {
	c.inOff = 0
	if cap(c.in) > 64<<10 {
		c.releaseIn()
		c.in = nil
		return
	}
	c.in = c.in[:0]
}

func (c *conn) releaseIn() {
	if c.inBuf != nil {
		bufpool.Put(c.inBuf)
		c.inBuf = nil
	}
}

// discard drops n consumed bytes from gnet's inbound buffer. gnet treats
// Discard(0) as "discard everything", so zero must never reach it.
func (c *conn) discard(n int) {
	if n > 0 {
		_, _ = c.gc.Discard(n)
	}
}

// processFrames handles the complete frames at the front of buf and returns
// how many bytes it consumed. It stops early, with paused set, when the
// inbound ring is full or the peer is over its inbound rate limit: the
// caller must keep buf[used:] for later. (The flag is returned rather than
// re-read from c.stalled, which Recv may already have cleared.)
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
		case !c.established.Load():
			err = c.onHello(f)
		case f.Control():
			err = c.onControl(f.Payload)
		default:
			var ok bool
			if ok, err = c.deliver(f, n); !ok && err == nil {
				return used, true, nil
			}
		}
		if err != nil {
			return used, false, err
		}
		used += n
	}
	return used, false, nil
}

// deliver hands one data frame to the application. It returns false when
// the inbound ring is full: the frame stays in the socket buffer and the
// connection waits for Recv to make room.
func (c *conn) deliver(f codec.Frame, wire int) (bool, error) {
	t := c.t
	cost, err := c.creditCost(f)
	if err != nil {
		return false, err
	}
	if c.recvBytes+int64(cost)-c.creditSent > int64(t.cfg.ReceiveWindow)+int64(codec.FrameLen(t.cfg.MaxMessageSize)) {
		return false, fmt.Errorf("from %s: %w: peer exceeded its flow-control window", c.remote, ErrProtocol)
	}
	p := c.peer.Load()
	if p.inLimiter != nil && !p.inLimiter.Allow() {
		// Over its inbound budget: pause this connection like a full ring.
		// Its bytes wait here, no credit returns, so flow control holds the
		// sender back; the ticker resumes it once tokens have refilled.
		if !c.throttled.Swap(true) {
			t.stats.inboundThrottled.Add(1)
			p.stats.throttled.Add(1)
		}
		return false, nil
	}
	if c.throttled.Load() {
		c.throttled.Store(false)
	}
	payload, buf, err := c.payloadOf(f)
	if err != nil {
		return false, err
	}
	if t.cfg.Handler != nil {
		t.cfg.Handler(p.id, payload)
		if buf != nil {
			bufpool.Put(buf)
		}
		c.consumedBytes.Add(int64(cost))
		c.consumedMsgs.Add(1)
	} else {
		m := Message{From: p.id, ConnID: c.id, conn: c, cost: int32(cost)}
		switch {
		case buf != nil: // decompressed into its own buffer
			m.Payload, m.buf = *buf, buf
		case fitsSlab(len(payload)):
			m.Payload, m.slab = c.slabs.copyIn(payload)
		default:
			buf = bufpool.Get(len(payload))
			copy(*buf, payload)
			m.Payload, m.buf = *buf, buf
		}
		if !t.ring.push(m) {
			bufpool.Put(buf)
			c.stalled.Store(true)
			t.addStalled(c)
			return false, nil
		}
		if m.slab != nil {
			c.slabs.commit(len(payload))
		}
		c.delivered = true
	}
	c.recvBytes += int64(cost)
	c.batch.msgsRecv++
	c.batch.bytesRecv += uint64(wire)
	return true, nil
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
// when the frame is compressed (buf is then that buffer).
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
	buf := bufpool.Get(n)
	if err := codec.Decompress(*buf, f.Payload); err != nil {
		bufpool.Put(buf)
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
		c.sendCredit.Add(int64(m.Credit.Bytes))
		c.ackedMsgs += uint64(m.Credit.Messages)
		c.lastProgress = time.Now()
	case codec.TypeGoodbye:
		c.onGoodbye()
	}
	return nil
}

// onGoodbye handles the peer's graceful close: no more data goes out on
// this connection (unsent frames return to the lane, for another connection
// or the reconnect), and we answer with our own Goodbye. The closer keeps
// reading until our Goodbye, so nothing we wrote before it is lost in flight.
func (c *conn) onGoodbye() {
	c.goodbyeRecv = true
	l := c.lane.Load()
	l.conn.CompareAndSwap(c, nil)
	c.wmu.Lock()
	c.directOff = true
	c.t.requeue(l, c.out.unsent(), "the peer said goodbye and the lane is gone")
	c.wmu.Unlock()
	// The closer closes the socket, once it has read our Goodbye, so that
	// it is never cut off (EOF) while frames before it still wait for room
	// in its inbound ring. We close only when we were the closer.
	c.closeAfterFlush = c.goodbyeSent
	c.t.log.Debug("peer said goodbye", "peer", c.peerID(), "conn", c.id)
}

// flush returns credit the application has freed and writes queued frames,
// as many per write as the send credit allows.
//
// Senders skip the Wake while wakePending is set (each gnet Wake allocates
// a task), so the flag is cleared only after a pass; a second pass then
// takes what arrived during the first. Whatever arrives after the clear
// wakes the loop again.
func (c *conn) flush() error {
	if !c.established.Load() {
		c.wakePending.Store(false)
		return c.flushHandshake()
	}
	for range 2 {
		if err := c.flushPass(); err != nil {
			return err
		}
		c.wakePending.Store(false)
		if !c.outputWaiting() {
			c.markIdle()
			break
		}
	}
	return nil
}

// outputWaiting reports whether frames are queued or credit is owed.
func (c *conn) outputWaiting() bool {
	return c.lane.Load().Queued() > 0 || c.creditDue()
}

// flushPass is one round of flush.
func (c *conn) flushPass() error {
	c.wmu.Lock()
	c.flushing = true
	defer func() {
		c.gnetBuffered = c.gc.OutboundBuffered() > 0
		c.flushing = false
		c.wmu.Unlock()
	}()
	if err := c.writeTail(); err != nil {
		return err
	}
	c.queueCredit()
	if c.tls != nil && c.tls.HasOutput() && len(c.ctrl) == 0 { // e.g. a KeyUpdate reply from Decrypt
		if err := c.writeWire(nil); err != nil {
			return err
		}
	}
	if len(c.ctrl) > 0 {
		if err := c.writeWire(c.ctrl); err != nil {
			return err
		}
		c.ctrl = c.ctrl[:0]
	}
	if err := c.flushData(); err != nil {
		return err
	}
	closingDrained := c.t.quiesced.Load() && c.out.empty() && c.lane.Load().Queued() == 0
	if !c.goodbyeSent && (c.goodbyeRecv || closingDrained) {
		c.goodbyeSent = true
		c.directOff = true
		c.goodbyeDone.Store(true)
		c.ctrl = c.ctrl[:0]
		c.queueCreditAll()
		if err := c.writeWire(codec.AppendGoodbye(c.ctrl)); err != nil {
			return err
		}
		c.ctrl = c.ctrl[:0]
	}
	c.trackProgress()
	return nil
}

// queueCreditAll appends a Credit frame for everything consumed so far.
func (c *conn) queueCreditAll() {
	if consumed, msgs := c.consumedBytes.Load(), c.consumedMsgs.Load(); consumed > c.creditSent {
		c.appendCredit(consumed, msgs)
	}
}

// appendCredit appends a Credit frame returning what was consumed since
// the last one, up to consumed bytes and msgs messages, and records it.
func (c *conn) appendCredit(consumed, msgs int64) {
	c.ctrl = codec.AppendCredit(c.ctrl, codec.Credit{Bytes: uint32(consumed - c.creditSent), Messages: uint32(msgs - c.creditMsgsSent)})
	c.creditSent, c.creditMsgsSent = consumed, msgs
	c.creditSentA.Store(consumed)
	c.creditMsgsA.Store(msgs)
}

// flushData writes queued data frames while send credit lasts, many frames
// (and segments) per writev. A frame is sent while any credit remains, so
// credit may go negative by one frame: messages larger than the window
// still flow.
func (c *conn) flushData() error {
	l := c.lane.Load()
	for c.sendCredit.Load() > 0 && !c.goodbyeRecv && !c.goodbyeSent {
		budget := c.t.maxOutbound - c.gc.OutboundBuffered()
		if budget <= 0 { // the peer reads slower than it grants credit: wait for the kernel to drain
			c.writeBlocked.Store(true)
			return nil
		}
		if c.out.empty() {
			c.out.reset()
			l.take(&c.out.q)
			if c.out.q.msgs == 0 {
				return nil
			}
		}
		start := c.sendCredit.Load()
		n, bytes, credit, next, rewrite := c.gatherFrames(budget)
		var err error
		if rewrite { // a frame compressed for an earlier connection
			front := (*c.out.q.segs[c.out.pos.seg])[c.out.pos.off:]
			bytes = codec.PeekLength(front)
			n, credit = 1, c.sendCredit.Load()-int64(codec.CreditCost(front[:bytes]))
			next = c.out.after(bytes)
			err = c.writeDecompressed(front[:bytes])
		} else {
			err = c.writeFrames(c.out.iov)
		}
		clear(c.out.iov)
		c.out.iov = c.out.iov[:0]
		if err != nil {
			return err // the cursor did not move: onClose requeues every unsent frame
		}
		c.out.pos = next
		c.out.recycleWritten() // gnet copied whatever the kernel did not take
		c.sendCredit.Add(credit - start)
		c.sentMsgs += uint64(n)
		c.batch.msgsSent += uint64(n)
		c.batch.bytesSent += uint64(bytes)
		l.queued.Add(-int64(bytes))
		p := c.peer.Load()
		p.pending.Add(-int64(n))
		p.pendBytes.Add(-int64(bytes))
		p.signalSpace()
	}
	return nil
}

// gatherFrames collects into c.out.iov the frames after the cursor that
// send credit and the outbound budget allow, across segments, and returns
// where the cursor goes once they are written. rewrite reports that the next
// frame was compressed for an earlier connection and must be sent
// decompressed (then nothing is gathered).
func (c *conn) gatherFrames(budget int) (n, bytes int, credit int64, next cursorPos, rewrite bool) {
	credit, next = c.sendCredit.Load(), c.out.pos
	for next.seg < len(c.out.q.segs) && credit > 0 && bytes < budget {
		seg := (*c.out.q.segs[next.seg])[next.off:]
		end := 0
		for end < len(seg) && credit > 0 && bytes+end < budget {
			if !c.compressOut && seg[end+4]&codec.FlagCompressed != 0 {
				rewrite = bytes+end == 0
				break
			}
			fl := codec.PeekLength(seg[end:])
			credit -= int64(codec.CreditCost(seg[end : end+fl]))
			end += fl
			n++
		}
		if end > 0 {
			c.out.iov = append(c.out.iov, seg[:end])
			bytes += end
		}
		if end < len(seg) {
			next.off += end
			break // stopped inside the segment: credit, budget or a rewrite
		}
		next = cursorPos{seg: next.seg + 1}
	}
	return n, bytes, credit, next, rewrite
}

// writeFrames hands the gathered frames to the socket in one call: a writev
// in plaintext, one run of records in TLS. On error nothing was handed over.
func (c *conn) writeFrames(iov [][]byte) error {
	c.t.stats.dataWrites.Add(1)
	if c.tls == nil {
		if _, err := c.gc.Writev(iov); err != nil {
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
		return nil
	}
	out := c.cipher.reserve(sealedSize(iov))
	for _, b := range iov {
		var err error
		if out, err = c.tls.AppendEncrypt(out, b); err != nil {
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
	}
	return c.writeCipher(out)
}

// sealedSize bounds the ciphertext of iov, sealed buffer by buffer.
func sealedSize(iov [][]byte) int {
	n := 0
	for _, b := range iov {
		n += tlsstate.SealedLen(len(b))
	}
	return n
}

// writeCipher hands ciphertext built in c.cipher to gnet (which copies
// what the socket does not take) and releases the scratch buffer.
func (c *conn) writeCipher(out []byte) error {
	_, err := c.gc.Write(out)
	c.cipher.set(out[:0])
	c.cipher.release()
	if err != nil {
		return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
	}
	return nil
}

// writeDecompressed sends a compressed frame as a raw frame, for a peer
// that (after a reconnect) no longer accepts LZ4. Rare: only frames queued across a
// reconnect to a peer whose compression setting changed take this path.
func (c *conn) writeDecompressed(frame []byte) error {
	body := frame[codec.HeaderSize:]
	n, err := codec.DecompressedLen(body, c.t.cfg.MaxMessageSize)
	if err != nil {
		return fmt.Errorf("requeued frame: %w: %w", ErrCompression, err)
	}
	buf := bufpool.Get(codec.HeaderSize + n)
	defer bufpool.Put(buf)
	codec.PutHeader(*buf, 0, n)
	if err := codec.Decompress((*buf)[codec.HeaderSize:], body); err != nil {
		return fmt.Errorf("requeued frame: %w: %w", ErrCompression, err)
	}
	return c.writeWire(*buf)
}

// queueCredit appends a Credit frame once the application has consumed a
// quarter of the window since the last one.
func (c *conn) queueCredit() {
	consumed, msgs := c.consumedBytes.Load(), c.consumedMsgs.Load()
	if consumed > c.creditSent && (c.creditDueAt(consumed, msgs) || c.t.closing.Load()) {
		c.appendCredit(consumed, msgs)
	}
}

// creditEveryMsgs bounds how many consumed messages go unconfirmed: small
// messages would otherwise be confirmed only every quarter window, and a
// lost connection would report far more of them as unconfirmed than were.
const creditEveryMsgs = 512

// consumed records that the application took a delivered message off the
// ring, and wakes the loop once a credit update is due. Any goroutine.
func (c *conn) consumed(cost int32) {
	b := c.consumedBytes.Add(int64(cost))
	m := c.consumedMsgs.Add(1)
	if c.creditDueAt(b, m) {
		c.wake()
	}
}

// creditDue reports whether enough has been consumed to return credit.
func (c *conn) creditDue() bool {
	return c.creditDueAt(c.consumedBytes.Load(), c.consumedMsgs.Load())
}

// creditDueAt reports whether consuming b bytes and m messages in all
// calls for a Credit frame.
func (c *conn) creditDueAt(b, m int64) bool {
	return b-c.creditSentA.Load() >= int64(c.t.cfg.ReceiveWindow/4) || m-c.creditMsgsA.Load() >= creditEveryMsgs
}

// trackProgress records when output last moved, for the I/O timeout.
func (c *conn) trackProgress() {
	ob := c.gc.OutboundBuffered()
	if ob < c.lastOut || ob == 0 {
		c.lastProgress = time.Now()
	}
	c.lastOut = ob
	c.outBuffered.Store(int64(ob))
}

// checkIO fails the connection when output has waited too long without
// progress: the peer stopped reading or stopped returning credit.
func (c *conn) checkIO(now time.Time) error {
	waiting := c.gc.OutboundBuffered() > 0 || (c.sendCredit.Load() <= 0 && (!c.out.empty() || c.lane.Load().Queued() > 0))
	if waiting && now.Sub(c.lastProgress) > c.t.cfg.IOTimeout {
		return fmt.Errorf("to %s: no write progress for %v: %w", c.remote, c.t.cfg.IOTimeout, ErrTimeout)
	}
	if !waiting {
		c.lastProgress = now
	}
	return nil
}

// writeWire sends bytes on the socket, through TLS when enabled.
func (c *conn) writeWire(b []byte) error {
	if c.tls != nil {
		out, err := c.tls.AppendEncrypt(c.cipher.get(), b) // pending output (alerts, KeyUpdate replies) first
		if err != nil {
			return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
		}
		return c.writeCipher(out)
	}
	if _, err := c.gc.Write(b); err != nil {
		return fmt.Errorf("to %s: %w: %w", c.remote, ErrClosed, err)
	}
	return nil
}

// publish adds the callback's counters to the transport and peer stats.
func (c *conn) publish() {
	b := c.batch
	if b == (batchStats{}) {
		if c.delivered {
			c.delivered = false
			c.t.notifyRecv()
		}
		return
	}
	c.batch = batchStats{}
	s := &c.t.stats
	s.msgsRecv.Add(b.msgsRecv)
	s.bytesRecv.Add(b.bytesRecv)
	if p := c.peer.Load(); p != nil {
		p.stats.msgsRecv.Add(b.msgsRecv)
		p.stats.bytesRecv.Add(b.bytesRecv)
	}
	c.countSent(b.msgsSent, b.bytesSent)
	if c.delivered {
		c.delivered = false
		c.t.notifyRecv()
	}
}

// countSent adds messages and wire bytes written to the transport's and
// the peer's stats.
func (c *conn) countSent(msgs, bytes uint64) {
	s := &c.t.stats
	s.msgsSent.Add(msgs)
	s.bytesSent.Add(bytes)
	if p := c.peer.Load(); p != nil {
		p.stats.msgsSent.Add(msgs)
		p.stats.bytesSent.Add(bytes)
	}
}

func (c *conn) peerID() string {
	if p := c.peer.Load(); p != nil {
		return p.id
	}
	return c.expectID
}

// classify maps a connection error to a handshake-failure cause.
func classify(err error) failureCause {
	switch {
	case errors.Is(err, ErrCompression):
		return causeCompression
	case errors.Is(err, ErrTimeout):
		return causeTimeout
	case errors.Is(err, ErrProtocol):
		return causeProtocol
	default:
		return causeClosed
	}
}
