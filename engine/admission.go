package engine

import (
	"container/list"
	"errors"
	"fmt"
	"net"
	"time"
)

// Admission: what a connection must get past before it may cost this node
// anything much. An inbound connection is refused when the node already
// holds MaxInboundConnections, or its address MaxConnectionsPerAddress,
// and every one of them has finished its handshake: otherwise the oldest
// connection still in its handshake (of that address) is evicted to make
// room, so a flood of connections that never finish cannot keep a
// legitimate one out, which finishes in milliseconds. It is also refused
// when the memory budget cannot reserve its handshake share, and at its
// hello when the budget cannot reserve ConnMemoryReserve or its node id
// already holds MaxConnectionsPerPeer. One that has not sent its first
// complete message (the TLS ClientHello, or the plaintext hello) within
// HandshakeIdleTimeout is cut, so silent and trickling connections hold
// their socket for a second, not for ConnectTimeout. (TLS handshakes
// waiting for their peer hold no handshake slot either: tlsstate.Limiter.)

// refusal says which limit refused a connection.
type refusal int

const (
	refusedInbound refusal = iota // MaxInboundConnections
	refusedAddress                // MaxConnectionsPerAddress
	refusedPeer                   // MaxConnectionsPerPeer
	refusedMemory                 // the memory budget could not reserve ConnMemoryReserve
	numRefusals
)

var refusalNames = [numRefusals]string{"max_inbound_connections", "max_connections_per_address", "max_connections_per_peer", "memory_budget"}

func (r refusal) String() string { return refusalNames[r] }

// admission is the transport's count of inbound connections. Under
// Transport.mu.
type admission struct {
	inbound     int
	perAddr     map[string]int // by remote IP
	handshaking list.List      // of *conn admitted and still in their handshake, oldest first
}

// remoteIP is the host part of a "host:port" address.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// admitLocked counts a new inbound connection in, or says which limit
// refuses it; connections evicted to make room are appended to evicted.
// Under t.mu.
func (t *Transport) admitLocked(c *conn, evicted *[]*conn) (refusal, bool) {
	ip := c.ip
	if t.adm.inbound >= t.cfg.MaxInboundConnections && !t.evictLocked("", evicted) {
		return refusedInbound, false
	}
	if t.adm.perAddr[ip] >= t.cfg.MaxConnectionsPerAddress && !t.evictLocked(ip, evicted) {
		return refusedAddress, false
	}
	t.adm.inbound++
	t.adm.perAddr[ip]++
	c.admitted = true
	c.admElem = t.adm.handshaking.PushBack(c)
	return 0, true
}

// evictLocked counts out the oldest connection still in its handshake
// (from address ip, if not empty) and appends it to evicted; false means
// there is none. Under t.mu.
func (t *Transport) evictLocked(ip string, evicted *[]*conn) bool {
	for e := t.adm.handshaking.Front(); e != nil; e = e.Next() {
		if v := e.Value.(*conn); ip == "" || v.ip == ip {
			t.releaseLocked(v)
			*evicted = append(*evicted, v)
			return true
		}
	}
	return false
}

// handshakeDoneLocked takes a connection whose hello arrived off the list
// of those that may be evicted. Under t.mu.
func (t *Transport) handshakeDoneLocked(c *conn) {
	if c.admElem != nil {
		t.adm.handshaking.Remove(c.admElem)
		c.admElem = nil
	}
}

// releaseLocked counts an admitted inbound connection out. Under t.mu.
func (t *Transport) releaseLocked(c *conn) {
	if !c.admitted {
		return
	}
	c.admitted = false
	t.handshakeDoneLocked(c)
	ip := c.ip
	t.adm.inbound--
	if t.adm.perAddr[ip]--; t.adm.perAddr[ip] <= 0 {
		delete(t.adm.perAddr, ip)
	}
}

// refuse fails a connection a limit refused, and counts it.
func (c *conn) refuse(r refusal, format string, args ...any) {
	c.t.stats.refused[r].Add(1)
	err := fmt.Errorf("connection from %s: %w: %s", c.remote, ErrOverloaded, fmt.Sprintf(format, args...))
	c.t.log.Debug("connection refused", "remote", c.remote, "limit", r.String(), "err", err)
	c.fail(causeOverload, err)
}

// admitInbound applies the connection and memory limits to a connection
// gnet just accepted, and reports whether it may go on.
func (t *Transport) admitInbound(c *conn) bool {
	var evicted []*conn
	t.mu.Lock()
	r, ok := t.admitLocked(c, &evicted)
	t.mu.Unlock()
	for _, v := range evicted {
		t.stats.evicted.Add(1)
		v.fail(causeOverload, fmt.Errorf("handshake from %s: %w: evicted for a newer connection (the oldest still in its handshake, at a connection limit)", v.remote, ErrOverloaded))
	}
	switch {
	case !ok && r == refusedInbound:
		c.refuse(r, "already %d inbound connections (max_inbound_connections)", t.cfg.MaxInboundConnections)
	case !ok:
		c.refuse(r, "already %d connections from %s (max_connections_per_address)", t.cfg.MaxConnectionsPerAddress, c.ip)
	case !c.openAccount():
		c.refuse(refusedMemory, "%s", t.noReserve(handshakeReserve))
		return false
	}
	return ok
}

// peerFullLocked reports whether peer p already holds MaxConnectionsPerPeer
// live inbound connections. Under t.mu.
func (t *Transport) peerFullLocked(p *peer) bool {
	n := 0
	for _, l := range p.lanes.Members() {
		if !l.outbound && l.conn.Load() != nil {
			n++
		}
	}
	return n >= t.cfg.MaxConnectionsPerPeer
}

// armIdleDeadline cuts an inbound connection whose first message has not
// fully arrived within HandshakeIdleTimeout. Called once the connection's
// TLS session (if any) exists: the timer reads it.
func (c *conn) armIdleDeadline() {
	d := c.t.cfg.HandshakeIdleTimeout
	c.hs.idle = time.AfterFunc(d, func() {
		if c.firstMessageIn() {
			return
		}
		c.t.stats.handshakeIdle.Add(1)
		c.fail(causeTimeout, fmt.Errorf("handshake from %s: %w: no complete first message within %v (handshake_idle_timeout)", c.remote, ErrTimeout, d))
	})
}

// firstMessageIn reports whether the peer's first message has arrived:
// its ClientHello (whole, answered or waiting for a handshake slot), or
// the hello.
func (c *conn) firstMessageIn() bool {
	if c.tls != nil {
		return c.tls.FirstRecordIn() || c.tls.Responded()
	}
	return !c.stillHandshaking()
}

// classifyBind is the failure cause of a hello that bind refused.
func classifyBind(err error) failureCause {
	if errors.Is(err, ErrOverloaded) {
		return causeOverload
	}
	return causeDuplicate
}
