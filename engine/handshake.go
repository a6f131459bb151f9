package engine

import (
	"errors"
	"fmt"
	"io"

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
	numCauses
)

var causeNames = [numCauses]string{"closed", "timeout", "protocol", "version", "tls", "node_id_mismatch", "self", "duplicate_node_id", "compression"}

func (f failureCause) String() string { return causeNames[f] }

// helloFrame is the handshake this transport sends on every connection.
func (t *Transport) helloFrame() []byte {
	var caps uint16
	if t.cfg.Compression.Enabled {
		caps |= codec.CapLZ4
	}
	return codec.AppendHello(nil, codec.Hello{
		Version:     codec.ProtocolVersion,
		Caps:        caps,
		MaxMessage:  uint32(t.cfg.MaxMessageSize),
		Window:      uint32(t.cfg.ReceiveWindow),
		Incarnation: t.incarnation,
		NodeID:      t.cfg.NodeID,
	})
}

// sendHello writes our hello once. The dialer speaks first, as soon as the
// transport layer (TCP, or TLS) is up; the listener answers only after the
// dialer's hello passed every check, so a dialer that sees the listener's
// hello knows it was accepted.
func (c *conn) sendHello() error {
	if c.helloSent {
		return nil
	}
	c.helloSent = true
	return c.writeWire(c.t.hello)
}

// flushHandshake moves TLS handshake bytes to the socket and sends our
// hello once TLS (if any) is up.
func (c *conn) flushHandshake() error {
	if c.tls == nil {
		if c.outbound {
			return c.sendHello()
		}
		return nil
	}
	if c.tls.HasOutput() {
		if err := c.writeCipher(c.tls.TakeOutput(c.cipher.get())); err != nil {
			return err
		}
	}
	if c.outbound && c.tlsDone.Load() && c.tlsErr.Load() == nil {
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
	if err := t.bind(c, h); err != nil {
		return c.handshakeError(causeDuplicate, "%v", err)
	}
	if err := c.sendHello(); err != nil {
		return err
	}
	if c.deadline != nil {
		c.deadline.Stop()
	}
	c.finishReady(nil)
	t.log.Debug("connection established", "peer", h.NodeID, "conn", c.id, "remote", c.remote,
		"outbound", c.outbound, "compression", c.compressOut, "tls", c.tls != nil)
	if c.outbound && c.retried > 0 {
		t.log.Info("reconnected", "peer", h.NodeID, "conn", c.id, "redials", c.retried)
	}
	return nil
}

// finishReady releases a dialer waiting for this connection's handshake.
func (c *conn) finishReady(err error) {
	c.readyOnce.Do(func() {
		c.readyErr = err
		close(c.ready)
	})
}

// readTLS decrypts buffered ciphertext and decodes the frames inside.
func (c *conn) readTLS() error {
	if !c.tlsDone.Load() {
		if n := c.gc.InboundBuffered(); n > 0 {
			in, _ := c.gc.Peek(-1)
			c.tls.Feed(in)
			c.discard(n)
		}
		return nil
	}
	if p := c.tlsErr.Load(); p != nil {
		if c.tls.HasOutput() { // an alert that tells the peer why
			_, _ = c.gc.Write(c.tls.TakeOutput(nil))
		}
		c.fail(causeTLS, *p)
		return *p
	}
	if c.outbound {
		if err := c.sendHello(); err != nil {
			return err
		}
	}
	// While the inbound ring is full, ciphertext is still decrypted into
	// c.plain: bytes left in gnet would be copied into a fresh buffer by
	// every Peek, and the peer's credit bounds what can arrive.
	defer c.plain.release()
	for {
		paused := c.stalled.Load()
		if p := c.plain.data(); len(p) > 0 && !paused {
			used, p, err := c.processFrames(p)
			c.plain.consume(used)
			if err != nil {
				return err
			}
			paused = p
		}
		if paused {
			if err := c.checkBacklog(len(c.plain.data())); err != nil {
				return err
			}
		}
		avail := c.gc.InboundBuffered()
		if avail == 0 && c.tls.Buffered() == 0 {
			return nil
		}
		var in []byte
		if avail > 0 {
			in, _ = c.gc.Peek(-1)
		}
		before := len(c.plain.data())
		plain, consumed, err := c.tls.Decrypt(c.plain.reserve(tlsstate.DecryptRoom(len(in))), in, 0)
		c.plain.set(plain)
		c.discard(consumed)
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("from %s: %w: peer closed the TLS session", c.remote, ErrClosed)
		}
		if err != nil && !c.established.Load() { // e.g. the alert of a server that refused our certificate
			return c.handshakeError(causeTLS, "%v", err)
		}
		if err != nil {
			return fmt.Errorf("from %s: %w: %w", c.remote, ErrProtocol, err)
		}
		if consumed == 0 && len(c.plain.data()) == before {
			return nil // a partial record: wait for more bytes
		}
	}
}

// handshakeFailed counts and logs a connection that closed before its
// handshake finished, and releases the dialer waiting for it. A close for
// no recorded reason inside a TLS handshake takes the TLS error, which says
// why (a refused certificate, a foreign CA) where the socket saw only EOF.
func (c *conn) handshakeFailed(cause failureCause, reason error) {
	t := c.t
	if cause == causeClosed || cause == causeTLS {
		if p := c.tlsErr.Load(); p != nil && !errors.Is(*p, tlsstate.ErrClosed) {
			cause, reason = causeTLS, *p
		}
	}
	if !t.closing.Load() {
		t.stats.handshakeFail[cause].Add(1)
		t.log.Info("handshake failed", "remote", c.remote, "peer", c.peerID(), "cause", cause.String(), "err", reason)
	}
	if !errors.Is(reason, ErrHandshakeFailed) && !errors.Is(reason, ErrTimeout) {
		reason = fmt.Errorf("handshake with %s: %w: connection closed (%v)", c.remote, ErrHandshakeFailed, reason)
	}
	c.finishReady(reason)
}

// awaitTLSReport defers handshakeFailed to the end of a TLS handshake still
// running when the connection closed: the peer often closes as soon as our
// alert reaches it, before the handshake goroutine has reported the error
// the alert carried. It reports whether it deferred. Loop only.
func (c *conn) awaitTLSReport(cause failureCause, reason error) bool {
	if c.tls == nil {
		return false
	}
	c.failMu.Lock()
	defer c.failMu.Unlock()
	if c.tlsReported {
		return false
	}
	if cause == causeClosed {
		cause = causeTLS // the peer gave up inside the TLS handshake (bad certificate, wrong protocol)
	}
	c.closeWaitsTLS, c.heldCause, c.heldReason = true, cause, reason
	return true
}

// tlsReport records the end of the TLS handshake and books a handshake
// failure that awaitTLSReport deferred. It reports whether the connection
// had already closed. Called from the handshake goroutine.
func (c *conn) tlsReport() (closed bool) {
	c.failMu.Lock()
	c.tlsReported = true
	waiting, cause, reason := c.closeWaitsTLS, c.heldCause, c.heldReason
	c.failMu.Unlock()
	if waiting {
		c.handshakeFailed(cause, reason)
	}
	return waiting
}

// onClose tears a connection down: requeues what it never wrote, reports
// what it wrote but the peer never confirmed, and schedules a reconnect.
func (c *conn) onClose(err error) {
	t := c.t
	c.closed.Store(true)
	if c.deadline != nil {
		c.deadline.Stop()
	}
	if c.tls != nil {
		c.tls.Close()
	}
	cause, reason := c.reason(err)
	t.unregister(c)
	if !c.established.Load() {
		if !c.awaitTLSReport(cause, reason) {
			c.handshakeFailed(cause, reason)
		}
		return
	}
	l, p := c.lane.Load(), c.peer.Load()
	l.conn.CompareAndSwap(c, nil)
	c.stopOutput(l)
	c.plain.drop()
	c.cipher.drop()
	c.releaseIn()
	c.in = nil
	t.stats.connsActive.Add(-1)
	switch cause {
	case causeProtocol:
		t.stats.protocolErrors.Add(1)
	case causeCompression:
		t.stats.compressionErrors.Add(1)
	case causeTimeout:
		t.stats.ioTimeouts.Add(1)
	}
	if unconfirmed := c.sentMsgs - min(c.ackedMsgs, c.sentMsgs); unconfirmed > 0 {
		t.stats.unconfirmed.Add(unconfirmed)
		p.stats.unconfirmed.Add(unconfirmed)
		if !t.closing.Load() {
			t.log.Warn("connection lost with messages unconfirmed by the peer", "peer", p.id, "conn", c.id, "unconfirmed", unconfirmed, "err", reason)
		}
	}
	if !t.closing.Load() {
		t.log.Info("connection closed", "peer", p.id, "conn", c.id, "cause", cause.String(), "err", reason)
	}
	t.connLost(l)
}
