package engine

import (
	"fmt"
	"sort"
	"time"

	"github.com/tensorchain/transport/codec"
)

// Membership: which peers exist, which lanes each has, and what happens to
// a lane's queue when its connection comes and goes. Changes happen under
// Transport.mu; Send reads the peer map and each pool lock-free.

// peer returns the peer with that id, or nil. Lock-free.
func (t *Transport) peer(id string) *peer {
	return (*t.peers.Load())[id]
}

// setPeerLocked adds or (p == nil) removes a peer; t.mu must be held.
func (t *Transport) setPeerLocked(id string, p *peer) {
	cur := *t.peers.Load()
	if old := cur[id]; old != nil && old != p {
		old.releaseInboxes()
		t.hub.gone(old)
	}
	next := make(map[string]*peer, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	if p == nil {
		delete(next, id)
	} else {
		next[id] = p
	}
	t.peers.Store(&next)
}

// bind attaches a connection whose hello just arrived to its peer and lane.
func (t *Transport) bind(c *conn, h codec.Hello) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() {
		return fmt.Errorf("%w: transport closing", ErrClosed)
	}
	if !c.growReserve() {
		t.stats.refused[refusedMemory].Add(1)
		return fmt.Errorf("%w: %s", ErrOverloaded, t.noReserve(t.cfg.ConnMemoryReserve))
	}
	var l *lane
	var p *peer
	if c.outbound {
		l = c.lane.Load()
		p = l.peer
		if p.removed.Load() {
			return fmt.Errorf("peer %s was disconnected", p.id)
		}
	} else {
		p = t.peer(h.NodeID)
		if p != nil && p.incarnation != h.Incarnation && p.hasActiveConn() {
			return fmt.Errorf("node id %q is already in use by a live peer (incarnation %x, newcomer %x)", h.NodeID, p.incarnation, h.Incarnation)
		}
		if p == nil {
			p = newPeer(h.NodeID, t.cfg.RateLimit, t.cfg.InboundRateLimit, t.hub)
			t.setPeerLocked(p.id, p)
		} else if t.peerFullLocked(p) {
			t.stats.refused[refusedPeer].Add(1)
			return fmt.Errorf("%w: node %s already holds %d inbound connections (max_connections_per_peer)", ErrOverloaded, h.NodeID, t.cfg.MaxConnectionsPerPeer)
		}
		if l = awaitingLane(p, Class(h.Class)); l == nil {
			l = &lane{peer: p, class: Class(h.Class), index: int(h.Lane)}
			p.lanes.Add(l)
		}
		c.lane.Store(l)
		c.class = l.class
		t.loads.classify(c)
		if p.dialed.Load() {
			t.dialBackLocked(p)
		}
	}
	t.handshakeDoneLocked(c)
	p.incarnation = h.Incarnation
	p.maxMessage.Store(int64(h.MaxMessage))
	// Compression is on only when both hellos advertise it, in both directions.
	c.compressIn = t.cfg.Compression.Enabled && h.Caps&codec.CapLZ4 != 0
	c.compressOut = c.compressIn
	p.compress.Store(c.compressOut)
	p.noTags.Store(h.Caps&codec.CapTagged == 0)
	c.pings = h.Caps&codec.CapPing != 0
	c.sendWin.grant(int64(h.Window), 0)
	c.wr.mu.Lock()
	// A listener's hello, which onHello writes after bind, must go before
	// any direct write of a Send.
	c.wr.directOff = !c.outbound
	c.wr.mu.Unlock()
	c.peer.Store(p)
	c.setPhase(phaseEstablished)
	c.retried = l.attempts
	l.attempts, l.refusals = 0, 0
	if c.outbound {
		p.unreachable.Store(false)
	}
	l.conn.Store(c)
	l.setState(StateActive)
	t.stats.connsActive.Add(1)
	return nil
}

// dialBackLocked redials at once the outbound lanes of a peer that just
// connected to us: it is evidently up, so waiting out a backoff grown
// while it was down would only delay our own connections.
func (t *Transport) dialBackLocked(p *peer) {
	now := time.Now()
	for _, l := range p.lanes.Members() {
		if _, waiting := t.redial[l]; waiting && l.outbound && l.getState() == StateReconnecting {
			l.nextDial = now
			t.startDialLocked(l)
		}
	}
}

// connLost updates a lane whose established connection closed.
func (t *Transport) connLost(l *lane) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := l.peer
	if t.closing.Load() || p.removed.Load() {
		l.setState(StateClosed)
		return
	}
	if !l.outbound {
		t.retireInboundLaneLocked(l)
		return
	}
	t.scheduleRedialLocked(l)
}

// retireInboundLaneLocked handles an inbound lane whose connection died.
// Its unsent messages move, in order, to another live lane of the class;
// with none, a peer we do not dial keeps the lane waiting for the peer to
// connect again (awaitPeerLocked), and otherwise the lane goes.
func (t *Transport) retireInboundLaneLocked(l *lane) {
	p := l.peer
	if !p.dialed.Load() && l.Queued() > 0 && t.otherLiveLane(l) == nil {
		t.awaitPeerLocked(l)
		return
	}
	t.removeInboundLaneLocked(l, "its last connection closed")
}

// otherLiveLane returns another established inbound lane of l's class.
func (t *Transport) otherLiveLane(l *lane) *lane {
	for _, m := range l.peer.lanes.Members() {
		if m != l && !m.outbound && m.class == l.class && m.Healthy() {
			return m
		}
	}
	return nil
}

// removeInboundLaneLocked removes inbound lane l, moving its unsent
// messages to another usable lane of the same class, or counting them as
// dropped; a peer we do not dial goes with its last lane.
func (t *Transport) removeInboundLaneLocked(l *lane, why string) {
	p := l.peer
	p.lanes.Remove(func(m *lane) bool { return m == l })
	// To a peer we dial, our lanes carry each stream on its own; frames left
	// here (sent before our Connect, the handover's) cannot join one of them
	// without overtaking or being overtaken: they are dropped, counted.
	var other *lane
	if !p.dialed.Load() {
		other, _ = p.pick(l.class, 0)
	}
	t.closeLaneLocked(l, other, why)
	if p.lanes.Len() == 0 && !p.dialed.Load() {
		t.setPeerLocked(p.id, nil)
	}
}

// closeLaneLocked closes lane l, already out of its peer's pool, and hands
// its frames to the front of lane to (waking its connection), or, with to
// nil or gone, drops and counts them.
func (t *Transport) closeLaneLocked(l, to *lane, why string) {
	l.setState(StateClosed)
	msgs, bytes, moved := l.retireInto(to)
	switch {
	case moved:
		if c := to.conn.Load(); c != nil {
			c.wake()
		}
	case msgs > 0:
		t.drop(l, msgs, bytes, why)
	}
}

// awaitingLane returns p's inbound lane of class that waits for the peer
// to connect it, if any. Under Transport.mu.
func awaitingLane(p *peer, class Class) *lane {
	for _, l := range p.lanes.Members() {
		if l.class == class && l.awaitingPeer() {
			return l
		}
	}
	return nil
}

// awaitPeer returns a lane of class for messages to a peer we do not
// dial that has no connection of that class yet (its control connection
// comes a moment after its first bulk one): an inbound lane that waits for
// the peer to connect it, so that the class's messages queue in order
// there instead of borrowing another class's connection.
func (t *Transport) awaitPeer(p *peer, class Class) (*lane, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() || p.removed.Load() || t.peer(p.id) != p {
		return nil, false
	}
	if l, ok := p.pick(class, 0); ok {
		return l, true
	}
	l := &lane{peer: p, class: class}
	p.lanes.Add(l)
	t.awaitPeerLocked(l)
	return l, true
}

// adoptAwaitingLocked hands the inbound lanes that wait for p to connect
// them over to our own lanes, now that we Connect to p: the control one's
// messages go to the front of our new (empty) control lane, in order;
// bulk ones, whose streams no single lane of ours carries, are dropped,
// counted.
func (t *Transport) adoptAwaitingLocked(p *peer, control *lane) {
	for _, l := range p.lanes.Members() {
		if !l.awaitingPeer() {
			continue
		}
		var to *lane
		if l.class == Control {
			to = control
		}
		p.lanes.Remove(func(m *lane) bool { return m == l })
		t.closeLaneLocked(l, to, "queued for the peer's connection; we now Connect to it")
	}
}

// awaitPeerLocked makes inbound lane l wait for the peer to connect it,
// for at most awaitPeerLimit; see sweepDownLanesLocked.
func (t *Transport) awaitPeerLocked(l *lane) {
	l.setState(StateConnecting)
	l.awaited = time.Now()
}

// awaitPeerLimit is how long messages to a peer we do not dial wait for it
// to connect (again) before they are dropped and counted.
func (t *Transport) awaitPeerLimit() time.Duration { return 2 * t.cfg.ConnectTimeout }

// requeue returns unsent frames to the front of lane l; on a lane retired
// meanwhile they are dropped and reported.
func (t *Transport) requeue(l *lane, q frameQueue, why string) {
	if msgs, bytes := l.requeue(q); msgs > 0 {
		t.drop(l, msgs, bytes, why)
	}
}

// drop reports messages of lane l that can no longer be delivered.
func (t *Transport) drop(l *lane, msgs, bytes int, why string) {
	if msgs == 0 {
		return
	}
	p := l.peer
	p.queues[l.class].release(msgs, bytes)
	p.stats.dropped.Add(uint64(msgs))
	t.stats.dropped.Add(uint64(msgs))
	t.log.Warn("dropping undeliverable messages", "peer", p.id, "class", l.class.String(), "messages", msgs, "reason", why)
}

// Peers lists the known peers, sorted by node id.
func (t *Transport) Peers() []PeerInfo {
	var out []PeerInfo
	for _, p := range *t.peers.Load() {
		out = append(out, p.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID < out[j].NodeID })
	return out
}

// PeerInfo describes one peer.
type PeerInfo struct {
	// NodeID is the peer's id.
	NodeID string
	// Address is the dial address; empty for a peer that only connected to us.
	Address string
	// State summarises the lanes: Active if any is, else the most hopeful.
	State State
	// Connections is the number of established connections.
	Connections int
	// Lanes is the state of each lane (one connection slot: PoolSize bulk
	// lanes and one control lane that we dial, then the peer's inbound ones).
	Lanes []State
	// FailReason says why a lane is Failed (a certificate the peer keeps
	// refusing, reconnect attempts exhausted); empty when none is.
	FailReason string
	// LastHeard is when bytes last arrived from the peer (data or
	// control); zero if never.
	LastHeard time.Time
}

func (p *peer) info() PeerInfo {
	pi := PeerInfo{NodeID: p.id, Address: p.address(), State: p.state()}
	if ns := p.lastHeard.Load(); ns != 0 {
		pi.LastHeard = time.Unix(0, ns)
	}
	for _, l := range p.lanes.Members() {
		st := l.getState()
		pi.Lanes = append(pi.Lanes, st)
		if l.Healthy() {
			pi.Connections++
		}
		if st == StateFailed && pi.FailReason == "" {
			pi.FailReason = l.reason()
		}
	}
	return pi
}

// Disconnect closes every connection to the peer and forgets it, with its
// rate-limit bucket. Messages still queued for it are dropped and counted.
func (t *Transport) Disconnect(nodeID string) error {
	t.mu.Lock()
	p := t.peer(nodeID)
	if p == nil {
		t.mu.Unlock()
		return fmt.Errorf("disconnect %s: %w", nodeID, ErrPeerNotFound)
	}
	p.removed.Store(true)
	t.setPeerLocked(nodeID, nil)
	var conns []*conn
	for _, l := range p.lanes.Members() {
		delete(t.redial, l)
		l.setState(StateClosed)
		if c := l.conn.Load(); c != nil {
			conns = append(conns, c)
		}
		n, b := l.drain()
		t.drop(l, n, b, "disconnected")
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.fail(causeClosed, fmt.Errorf("disconnect %s: %w", nodeID, ErrClosed))
	}
	return nil
}
