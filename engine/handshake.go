package engine

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

// failureCause is the category of a failed handshake or connection, as
// counted in Stats.HandshakeFailures.
type failureCause int

const (
	causeClosed      failureCause = iota // the peer went away before finishing
	causeTimeout                         // ConnectTimeout passed
	causeProtocol                        // malformed or unexpected bytes
	causeVersion                         // unsupported protocol version
	causeTLS                             // TLS handshake refused (certificate, CA, expiry, plaintext)
	causeNodeID                          // node id differs from the one expected or certified
	causeSelf                            // the node dialed itself
	causeDuplicate                       // another live node already uses this node id
	causeCompression                     // corrupt compressed data
	causeOverload                        // a node-wide limit: memory budget, connection limits
	numCauses
)

var causeNames = [numCauses]string{"closed", "timeout", "protocol", "version", "tls", "node_id_mismatch", "self", "duplicate_node_id", "compression", "overloaded"}

func (f failureCause) String() string { return causeNames[f] }

// helloFrame is the hello this transport sends on a connection of class
// and lane index (a listener answers with class bulk, lane 0).
func (t *Transport) helloFrame(class Class, lane int) []byte {
	caps := codec.CapTagged | codec.CapPing
	if t.cfg.Compression.Enabled {
		caps |= codec.CapLZ4
	}
	return codec.AppendHello(nil, codec.Hello{
		Version:     codec.ProtocolVersion,
		Caps:        caps,
		MaxMessage:  uint32(t.cfg.MaxMessageSize),
		Window:      uint32(t.cfg.ReceiveWindow),
		Incarnation: t.incarnation,
		Class:       uint8(class),
		Lane:        uint8(lane),
		NodeID:      t.cfg.NodeID,
	})
}

// dialerHello is the hello an outbound connection sends: its lane's class
// and index.
func (c *conn) dialerHello() []byte {
	l := c.lane.Load()
	return c.t.helloFrame(l.class, l.index)
}

// handshake is a connection's part in its handshake.
type handshake struct {
	ready     chan struct{} // closed when the handshake succeeds or the connection dies
	readyOnce sync.Once
	readyErr  error       // the outcome; written before ready closes
	deadline  *time.Timer // set before gnet sees the connection; constant
	idle      *time.Timer // inbound: HandshakeIdleTimeout (admission.go); set in OnOpen, constant after
	tls       atomic.Pointer[tlsResult]
}

// tlsResult is the outcome of a TLS handshake, set once by its goroutine.
type tlsResult struct{ err error }

// startTLS begins the TLS handshake of a new connection. The handshake runs
// in a goroutine bounded by HandshakeConcurrency and ConnectTimeout; once it
// ends, all record processing happens on the event loop.
func (t *Transport) startTLS(c *conn) {
	role, tc := tlsstate.Server, t.serverTLS
	if c.outbound {
		role, tc = tlsstate.Client, t.creds.ClientConfig(t.cfg.SecurityMode, c.expectID)
	}
	c.tls = tlsstate.NewSessionWith(tc, role, c.wake, tlsstate.SessionOptions{
		Records:           t.tlsCfg.RecordLayer,
		KeyUpdateInterval: uint64(t.tlsCfg.KeyUpdateInterval),
		KeyUpdateTotals:   &t.stats.keyUpdates,
	})
	c.setPhase(phaseTLS)
	deadline := c.created.Add(t.cfg.ConnectTimeout)
	c.tls.StartHandshake(t.ctx, t.hsLimiter, deadline, func(err error) {
		if err != nil {
			err = fmt.Errorf("tls handshake with %s: %w: %w", c.remote, ErrHandshakeFailed, err)
		}
		c.hs.tls.Store(&tlsResult{err: err})
		if !c.tlsReport() {
			c.forceWake()
		}
	})
}

// tlsSettled reports whether the TLS handshake has ended, and how; the
// first time the loop sees it succeed, the connection moves on to the
// hello exchange. Loop only.
func (c *conn) tlsSettled() (done bool, err error) {
	res := c.hs.tls.Load()
	if res == nil {
		return false, nil
	}
	if res.err == nil && c.getPhase() == phaseTLS {
		c.setPhase(phaseHello)
	}
	return true, res.err
}

// sendHello writes a dialer's hello once, as soon as the transport layer
// (TCP, or TLS) is up. The dialer speaks first; the listener answers only
// after the dialer's hello passed every check (onHello), so a dialer that
// sees the listener's hello knows it was accepted.
func (c *conn) sendHello() error {
	if !c.outbound || c.getPhase() != phaseHello {
		return nil
	}
	c.setPhase(phaseHelloSent)
	return c.writeWire(c.dialerHello())
}

// flushHandshake moves TLS handshake bytes to the socket and sends a
// dialer's hello once TLS (if any) is up.
func (c *conn) flushHandshake() error {
	if c.tls == nil {
		return c.sendHello()
	}
	if c.tls.HasOutput() {
		if err := c.writeCipher(c.tls.TakeOutput(c.wr.cipher.get())); err != nil {
			return err
		}
	}
	if done, err := c.tlsSettled(); done && err == nil {
		return c.sendHello()
	}
	return nil
}

// handshakeError records a handshake failure of the given cause and
// returns it wrapped in ErrHandshakeFailed.
func (c *conn) handshakeError(cause failureCause, format string, args ...any) error {
	err := fmt.Errorf("handshake with %s: %w: %s", c.remote, ErrHandshakeFailed, fmt.Sprintf(format, args...))
	c.fail(cause, err)
	return err
}

// onHello validates the peer's hello and binds the connection to its peer.
// A listener answers with its own hello only now, after every check.
func (c *conn) onHello(f codec.Frame) error {
	t := c.t
	if !f.Control() {
		return c.handshakeError(causeProtocol, "data frame before hello")
	}
	h, err := codec.DecodeHello(f.Payload)
	if errors.Is(err, codec.ErrVersion) {
		return c.handshakeError(causeVersion, "%v", err)
	}
	if err != nil {
		return c.handshakeError(causeProtocol, "%v", err)
	}
	if err := c.checkHello(h); err != nil {
		return err
	}
	if err := t.bind(c, h); err != nil {
		return c.handshakeError(classifyBind(err), "%v", err)
	}
	if !c.outbound {
		if err := c.writeWire(t.hello); err != nil {
			return err
		}
		c.wr.mu.Lock() // the hello is out, or in gnet's buffer: Sends may write directly from now on
		c.wr.directOff = false
		c.wr.gnetBuffered = c.sock.OutboundBuffered() > 0
		c.wr.mu.Unlock()
	}
	if c.hs.deadline != nil {
		c.hs.deadline.Stop()
	}
	c.finishReady(nil)
	t.log.Debug("connection established", "peer", h.NodeID, "conn", c.id, "remote", c.remote,
		"outbound", c.outbound, "compression", c.compressOut, "tls", c.tls != nil)
	if c.outbound && c.retried > 0 {
		t.log.Info("reconnected", "peer", h.NodeID, "conn", c.id, "redials", c.retried)
	}
	return nil
}

// checkHello applies the checks of docs/PROTOCOL.md ("What a receiver
// checks") that need no transport state: self-connection, a node claiming
// our id, the id a dialer expected, the id the client certificate proves.
func (c *conn) checkHello(h codec.Hello) error {
	t := c.t
	if h.NodeID == t.cfg.NodeID {
		if h.Incarnation == t.incarnation {
			return c.handshakeError(causeSelf, "connected to itself (%s)", h.NodeID)
		}
		return c.handshakeError(causeDuplicate, "peer claims this node's id %q", h.NodeID)
	}
	if c.outbound && h.NodeID != c.expectID {
		return c.handshakeError(causeNodeID, "expected node %q, peer says %q", c.expectID, h.NodeID)
	}
	if c.tls != nil && !c.outbound && t.tlsCfg != nil {
		if err := tlsstate.VerifyNodeID(c.tls.ConnectionState(), h.NodeID, t.tlsCfg.NodeIDVerificationFor(t.cfg.SecurityMode)); err != nil {
			return c.handshakeError(causeNodeID, "%v", err)
		}
	}
	return nil
}

// finishReady releases a dialer waiting for this connection's handshake.
func (c *conn) finishReady(err error) {
	c.hs.readyOnce.Do(func() {
		c.hs.readyErr = err
		close(c.hs.ready)
	})
}

// handshakeFailed counts and logs a connection that closed before its
// handshake finished, and releases the dialer waiting for it. A close for
// no recorded reason inside a TLS handshake takes the TLS error, which says
// why (a refused certificate, a foreign CA) where the socket saw only EOF.
func (c *conn) handshakeFailed(cause failureCause, reason error) {
	t := c.t
	if cause == causeClosed || cause == causeTLS {
		if err := c.tlsFailure(); err != nil {
			cause, reason = causeTLS, err
		}
	}
	if c.tls != nil {
		c.tls.Close()
	}
	if !t.closing.Load() {
		t.stats.handshakeFail[cause].Add(1)
		t.log.Info("handshake failed", "remote", c.remote, "peer", c.peerID(), "cause", cause.String(), "err", reason)
	}
	if !errors.Is(reason, ErrHandshakeFailed) && !errors.Is(reason, ErrTimeout) {
		reason = fmt.Errorf("handshake with %s: %w: connection closed (%v)", c.remote, ErrHandshakeFailed, reason)
	}
	if c.outbound && cause.permanent() {
		reason = refusedError{reason}
	}
	c.finishReady(reason)
}

// permanent reports whether a handshake failing for this cause will fail
// again however often it is retried: a certificate or node id one side
// refuses, or a protocol version the peer does not speak. It is a
// configuration error, not an outage.
func (f failureCause) permanent() bool {
	return f == causeTLS || f == causeNodeID || f == causeVersion
}

// refusedError marks a dial refused for a permanent cause; its text is the
// refusal's own.
type refusedError struct{ error }

func (e refusedError) Unwrap() error { return e.error }

// isRefusal reports whether a dial failed for a permanent cause.
func isRefusal(err error) bool {
	var r refusedError
	return errors.As(err, &r)
}

// tlsFailure is why TLS refused the connection, if it did: the handshake's
// own error, or the alert a peer sent right after a handshake that
// succeeded on our side (a TLS 1.3 server refusing our certificate), still
// buffered. Loop only, or once the loop is done with the connection.
func (c *conn) tlsFailure() error {
	if c.tls == nil {
		return nil
	}
	res := c.hs.tls.Load()
	switch {
	case res == nil:
		return nil
	case res.err != nil:
		if errors.Is(res.err, tlsstate.ErrClosed) {
			return nil // we ended it: the close's own reason says more
		}
		return res.err
	case c.tls.Buffered() > 0:
		if _, _, err := c.tls.Decrypt(nil, nil, 0); err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("tls handshake with %s: %w: %w", c.remote, ErrHandshakeFailed, err)
		}
	}
	return nil
}

// awaitTLSReport defers handshakeFailed to the end of a TLS handshake still
// running when the connection closed: the peer often closes as soon as our
// alert reaches it, before the handshake goroutine has reported the error
// the alert carried. It reports whether it deferred. Loop only.
func (c *conn) awaitTLSReport(cause failureCause, reason error) bool {
	if c.tls == nil {
		return false
	}
	f := &c.failure
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tlsReported {
		return false
	}
	peerClosed := cause == causeClosed
	if peerClosed {
		cause = causeTLS // the peer gave up inside the TLS handshake (bad certificate, wrong protocol)
	}
	f.closeWaitsTLS, f.heldCause, f.heldReason = true, cause, reason
	f.mu.Unlock()
	if peerClosed {
		c.tls.PeerClosed() // the handshake may still read the alert the peer sent before closing
	} else {
		c.tls.Close()
	}
	f.mu.Lock() // for the deferred Unlock
	return true
}

// tlsReport records the end of the TLS handshake and books a handshake
// failure that awaitTLSReport deferred. It reports whether the connection
// had already closed. Called from the handshake goroutine.
func (c *conn) tlsReport() (closed bool) {
	f := &c.failure
	f.mu.Lock()
	f.tlsReported = true
	waiting, cause, reason := f.closeWaitsTLS, f.heldCause, f.heldReason
	f.mu.Unlock()
	if waiting {
		c.handshakeFailed(cause, reason)
	}
	return waiting
}
