package engine

import (
	"container/list"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tensorchain/transport/budget"
	"github.com/tensorchain/transport/tlsstate"
)

// A connection is split by protocol concern, one file each:
//
//   - handshake.go: TLS start and end, the hello exchange, the deadline,
//     the dialer's wait for the outcome;
//   - reader.go: how a frame comes in (read, decrypt, reassemble, deliver,
//     pause);
//   - writer.go and direct.go: how a frame goes out (flush, gather, writev,
//     direct writes from senders, goodbye, I/O progress);
//   - window.go: credit flow control in each direction, pure arithmetic.
//
// Every field says who may touch it: "constant" (set before any other
// goroutine sees the connection), "loop only" (the event loop that owns
// the gnet connection), "under X" (a lock), or "atomic" (any goroutine).

// connPhase is where a connection is in its life.
type connPhase int32

const (
	phaseHello       connPhase = iota // transport up, our hello not sent yet
	phaseTLS                          // the TLS handshake is running
	phaseHelloSent                    // a dialer's hello is out; waiting for the listener's
	phaseEstablished                  // hellos exchanged: data flows
	phaseClosed                       // gnet closed the socket (onClose ran)
)

// conn is one TCP connection to or from a peer.
type conn struct {
	t        *Transport    // constant
	id       uint64        // constant
	outbound bool          // constant
	expectID string        // constant: outbound, the node id the dialer expects
	remote   string        // constant: the peer's address
	ip       string        // constant: remote's host part (admission.go)
	created  time.Time     // constant
	retried  int           // loop only: outbound, redials of this lane before this connection (bind)
	placed   placement     // under Transport.loads.mu: the loop it is counted on (placement.go)
	admitted bool          // under Transport.mu: counted in Transport.adm (admission.go)
	admElem  *list.Element // under Transport.mu: in Transport.adm.handshaking

	// sock is the gnet connection: written once by attach under fail.mu;
	// the loop uses it freely, other goroutines only for Wake and Close,
	// after attach.
	sock socket
	bell *bellSlot         // its loop's doorbell (doorbell.go), or nil: set with sock
	tls  *tlsstate.Session // nil in plaintext; set in OnOpen before any other goroutine uses it

	lane  atomic.Pointer[lane] // outbound: set at dial; inbound: set at hello
	peer  atomic.Pointer[peer] // set when the hello binds the connection
	phase atomic.Int32         // a connPhase; written by the loop (bind runs on it)

	wakePending atomic.Bool  // a Wake is queued on the loop; skip another
	inBell      atomic.Bool  // listed on its doorbell, not yet served (doorbell.go)
	bellNext    *conn        // the next listed on the doorbell; written before the push, read after the loop's swap
	unconfirmed atomic.Int64 // sendWin.unconfirmed() as of its last change (publishUnconfirmed)
	creditFlush atomic.Bool  // the ticker asks the loop to return all owed credit (window.go, idleCreditLocked)
	idleSeen    int64        // the ticker's: recvWin.consumed at the previous tick
	ioCheck     atomic.Bool  // the ticker asks the loop to check the I/O timeout
	lastSend    atomic.Int64 // UnixNano of the last send or drain, or busySend while streaming (direct.go)
	pingDue     atomic.Bool  // the ticker asks the loop to send a Ping (rtt.go)
	pings       bool         // set by bind: the peer's hello says it answers Pings

	compressOut, compressIn bool  // loop only: set by bind from both hellos
	class                   Class // the lane's class: outbound, from the start; inbound, set by bind

	acct    *budget.Account // memory.go: payloads; constant once OnOpen opened it
	bufAcct *budget.Account // memory.go: buffers, loop only
	hs      handshake       // handshake.go
	failure failure         // why the connection closes (see fail)
	rd      reader          // reader.go; loop only unless noted
	wr      writer          // writer.go; loop or under wr.mu
	recvWin recvWindow      // window.go: credit we granted
	sendWin sendWindow      // window.go: credit the peer granted
	batch   batchStats      // loop only
}

// failure records why a connection closes: the first reason given wins.
// It also holds a close that waits for the TLS handshake's report
// (handshake.go). All fields under mu.
type failure struct {
	mu            sync.Mutex
	err           error
	cause         failureCause
	tlsReported   bool         // the TLS handshake goroutine has reported
	closeWaitsTLS bool         // closed during the TLS handshake: its report books the failure
	heldCause     failureCause // the close's cause and reason, for that report
	heldReason    error
}

// batchStats accumulates counters during one callback; they are published
// to the shared atomics once per callback rather than once per message.
type batchStats struct {
	msgsRecv, bytesRecv, msgsSent, bytesSent uint64
}

func (t *Transport) newConn(outbound bool, l *lane, expectID, remote string) *conn {
	c := &conn{t: t, id: t.connSeq.Add(1), outbound: outbound, expectID: expectID, remote: remote, ip: remoteIP(remote),
		hs: handshake{ready: make(chan struct{})}, created: time.Now(),
		recvWin: newRecvWindow(t.cfg.ReceiveWindow, t.cfg.MaxMessageSize)}
	if l != nil {
		c.lane.Store(l)
		c.class = l.class
	}
	c.wr.lastProgress = c.created
	return c
}

func (c *conn) getPhase() connPhase    { return connPhase(c.phase.Load()) }
func (c *conn) setPhase(p connPhase)   { c.phase.Store(int32(p)) }
func (c *conn) established() bool      { return c.getPhase() == phaseEstablished }
func (c *conn) closed() bool           { return c.getPhase() == phaseClosed }
func (c *conn) stillHandshaking() bool { return c.getPhase() < phaseEstablished }

// attach records the gnet connection once gnet has opened it, and reports
// whether the connection already failed (its handshake deadline may fire
// before gnet opens it).
func (c *conn) attach(s socket, b *bellSlot) (failed bool) {
	c.failure.mu.Lock()
	defer c.failure.mu.Unlock()
	c.sock, c.bell = s, b
	return c.failure.err != nil
}

// wake asks the owning loop to run onTraffic (to flush queued frames or
// return credit). Safe from any goroutine after attach; redundant wakes
// are coalesced.
func (c *conn) wake() {
	if c.closed() || c.sock == nil {
		return
	}
	// Load first: a failing CAS still takes the cache line from the loop.
	if !c.wakePending.Load() && c.wakePending.CompareAndSwap(false, true) {
		if b := c.bell; b == nil || !b.ring(c) {
			_ = c.sock.Wake(nil)
		}
	}
}

// forceWake wakes the loop even if a wake looks pending: for events the
// loop's next pass would not notice by itself (a TLS handshake ending, a
// tick, room in a peer's inbox, a partial direct write).
func (c *conn) forceWake() {
	c.wakePending.Store(false)
	c.wake()
}

// fail records why the connection must close and closes it. The first
// reason wins. Safe from any goroutine.
func (c *conn) fail(cause failureCause, err error) {
	f := &c.failure
	f.mu.Lock()
	if f.err == nil {
		f.err, f.cause = err, cause
	}
	s := c.sock
	f.mu.Unlock()
	if s != nil {
		_ = s.Close()
	}
}

// failErr returns the recorded failure, if any, without closing.
func (c *conn) failErr() error {
	c.failure.mu.Lock()
	defer c.failure.mu.Unlock()
	return c.failure.err
}

// reason returns the recorded failure, or fallback (a plain close).
func (c *conn) reason(fallback error) (failureCause, error) {
	f := &c.failure
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.cause, f.err
	}
	if fallback == nil {
		fallback = fmt.Errorf("connection to %s closed: %w", c.remote, ErrClosed)
	}
	return causeClosed, fallback
}

// onTraffic runs on the loop for new bytes and for wakes.
func (c *conn) onTraffic() gnet.Action {
	if c.closed() {
		return gnet.Close
	}
	c.wr.blocked.Store(false)
	err := c.read()
	if err == nil {
		err = c.flush()
	}
	if err == nil {
		err = c.chargeBuffers()
	}
	c.publish()
	if err != nil {
		c.fail(classify(err), err)
		return gnet.Close
	}
	if c.rd.turn.yielded {
		c.forceWake() // the rest of the input after the loop's other connections
	}
	if c.wr.goodbye == goodbyeExchanged {
		c.fail(causeClosed, fmt.Errorf("connection to %s: %w: goodbye exchanged", c.remote, ErrClosed))
		return gnet.Close // gnet writes what is buffered before closing
	}
	return gnet.None
}

// onClose tears a connection down: requeues what it never wrote, reports
// what it wrote but the peer never confirmed, and schedules a reconnect.
// Loop only.
func (c *conn) onClose(err error) {
	t := c.t
	was := connPhase(c.phase.Swap(int32(phaseClosed)))
	if c.hs.deadline != nil {
		c.hs.deadline.Stop()
	}
	if c.hs.idle != nil {
		c.hs.idle.Stop()
	}
	cause, reason := c.reason(err)
	t.unregister(c)
	t.loads.closed(c)
	c.rd.release()
	c.wr.cipher.drop()
	c.closeAccount()
	if was != phaseEstablished {
		if !c.awaitTLSReport(cause, reason) {
			c.handshakeFailed(cause, reason)
		}
		return
	}
	if c.tls != nil {
		c.tls.Close()
	}
	l, p := c.lane.Load(), c.peer.Load()
	l.conn.CompareAndSwap(c, nil)
	c.stopOutput(l)
	t.stats.connsActive.Add(-1)
	switch cause {
	case causeProtocol:
		t.stats.protocolErrors.Add(1)
	case causeCompression:
		t.stats.compressionErrors.Add(1)
	case causeTimeout:
		t.stats.ioTimeouts.Add(1)
	}
	if unconfirmed := c.sendWin.unconfirmed(); unconfirmed > 0 {
		t.stats.unconfirmed.Add(unconfirmed)
		p.stats.unconfirmed.Add(unconfirmed)
		if !t.closing.Load() {
			t.log.Warn("connection lost with messages unconfirmed by the peer", "peer", p.id, "conn", c.id, "unconfirmed", unconfirmed, "err", reason)
		}
	}
	switch {
	case t.closing.Load():
	case c.wr.peerSaidGoodbye(): // a clean goodbye: the peer closed on purpose
		t.log.Debug("connection closed after the peer's goodbye", "peer", p.id, "conn", c.id)
	default:
		t.log.Info("connection closed", "peer", p.id, "conn", c.id, "cause", cause.String(), "err", reason)
	}
	if reason != nil {
		why := reason.Error()
		p.lastLoss.Store(&why)
	}
	t.connClosed(p, c.class, reason)
	t.connLost(l)
}

// publish adds the callback's counters to the transport and peer stats.
func (c *conn) publish() {
	if b := c.batch; b != (batchStats{}) {
		c.batch = batchStats{}
		s := &c.t.stats
		s.msgsRecv.Add(b.msgsRecv)
		s.bytesRecv.Add(b.bytesRecv)
		if p := c.peer.Load(); p != nil {
			p.stats.msgsRecv.Add(b.msgsRecv)
			p.stats.bytesRecv.Add(b.bytesRecv)
		}
		c.countSent(b.msgsSent, b.bytesSent)
	}
	if c.rd.delivered {
		c.rd.delivered = false
		if c.t.notifyRecv(c.class) {
			c.wokeSomeone()
		}
	}
	if c.rd.heard {
		c.rd.heard = false
		if p := c.peer.Load(); p != nil {
			p.lastHeard.Store(time.Now().UnixNano())
		}
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

// classify maps a connection error to a failure cause.
func classify(err error) failureCause {
	switch {
	case errors.Is(err, ErrCompression):
		return causeCompression
	case errors.Is(err, ErrTimeout):
		return causeTimeout
	case errors.Is(err, ErrProtocol):
		return causeProtocol
	case errors.Is(err, ErrOverloaded):
		return causeOverload
	default:
		return causeClosed
	}
}
