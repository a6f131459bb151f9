package engine

import "time"

// tick is the transport's single scheduler, run by gnet's ticker: it starts
// due reconnects and asks busy connections to check their I/O timeout. It
// returns how long to sleep until the next tick.
func (t *Transport) tick() time.Duration {
	t.readyOnce.Do(func() { close(t.ready) })
	if t.closing.Load() {
		return 50 * time.Millisecond
	}
	now := time.Now()
	next := 100 * time.Millisecond
	t.mu.Lock()
	for l := range t.redial {
		if l.dialing {
			continue
		}
		if wait := l.nextDial.Sub(now); wait > 0 {
			next = min(next, wait)
			continue
		}
		t.startDialLocked(l) // if too many dials are in flight, the next tick tries again
	}
	t.sweepDownLanesLocked(now)
	if t.releaseHoldsLocked(now) {
		next = min(next, holdPoll)
	}
	checkIO := now.Sub(t.lastIOCheck) >= min(t.cfg.IOTimeout/4, t.cfg.FrameTimeout/4, time.Second)
	var busy []*conn
	if checkIO {
		t.lastIOCheck = now
		for c := range t.conns {
			if l := c.lane.Load(); c.rd.partialSince.Load() != 0 || (c.established() && (c.wr.outBuffered.Load() > 0 || (l != nil && l.Queued() > 0))) {
				busy = append(busy, c)
			}
		}
	}
	idle := t.idleCreditLocked()
	pings := t.pingAll(now)
	t.mu.Unlock()
	for _, c := range pings {
		c.forceWake()
	}
	for _, c := range busy {
		c.ioCheck.Store(true)
		c.forceWake()
	}
	for _, c := range idle {
		c.forceWake()
	}
	t.wakeWriteBlocked()
	return max(next, time.Millisecond)
}

// startDialLocked starts the due redial of lane l in a goroutine that
// lives for the dial, unless too many dials are in flight already.
func (t *Transport) startDialLocked(l *lane) {
	if l.dialing {
		return
	}
	select {
	case t.dialSem <- struct{}{}:
	default:
		return
	}
	delete(t.redial, l)
	l.dialing = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer func() { <-t.dialSem }()
		t.afterDial(l, t.dialLane(l, t.loads.reserve(l.class), func() {}))
	}()
}

// wakeWriteBlocked re-polls connections whose outbound buffer was full
// (gnet has no "writable" event) and resumes throttled and starved ones.
func (t *Transport) wakeWriteBlocked() {
	t.mu.Lock()
	var blocked []*conn
	for c := range t.conns {
		if p := c.rd.paused(); c.wr.blocked.Load() || p == throttled || p == starved {
			blocked = append(blocked, c)
		}
	}
	t.mu.Unlock()
	for _, c := range blocked {
		c.forceWake()
	}
}

// sweepDownLanesLocked visits, in one pass, the lanes whose connection is
// down: it drops the lanes that waited for their peer longer than
// awaitPeerLimit, with their messages (counted), and the expired messages
// at the front of the others (a connected lane's loop drops those as it
// writes).
func (t *Transport) sweepDownLanesLocked(now time.Time) {
	ns := now.UnixNano()
	for _, p := range *t.peers.Load() {
		for _, l := range p.lanes.Members() {
			switch {
			case l.conn.Load() != nil:
			case l.awaitingPeer() && now.Sub(l.awaited) > t.awaitPeerLimit():
				t.removeInboundLaneLocked(l, "the peer did not connect again in time")
			case l.Queued() > 0:
				l.expireQueued(ns, &t.stats)
			}
		}
	}
}
