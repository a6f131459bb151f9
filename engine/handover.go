package engine

import "time"

// Handover: a peer that dialed us first, and that we then Connect to.
//
// Until Connect, our messages to such a peer travel on its connections
// (pool.Pick); after it, on our own lanes. Messages of one stream queued
// on its connections must not be overtaken by later ones on ours, which
// arrive over other TCP connections. So from Connect on, our lanes to the
// peer are held: they queue but write nothing (flushData, tryDirect) until
// every message we sent on the peer's connections has been written and
// confirmed by the peer's Credit, or until ConnectTimeout has passed (a
// peer that stopped consuming cannot hold us forever; order is then no
// longer promised for what was still in flight, and the log says so).

// holdPoll is how often the ticker checks held peers.
const holdPoll = 2 * time.Millisecond

// releaseHoldsLocked releases the held peers whose handover is complete
// (or timed out). It reports whether a hold remains.
func (t *Transport) releaseHoldsLocked(now time.Time) (pending bool) {
	for _, p := range *t.peers.Load() {
		if p.hold.Load() && !t.releaseHold(p, now.UnixNano()) {
			pending = true
		}
	}
	return pending
}

// releaseHold ends p's hold if its handover is complete, or has taken
// longer than ConnectTimeout, and wakes p's lanes; it reports whether p is
// no longer held. Any goroutine (the ticker, or a held lane's loop).
func (t *Transport) releaseHold(p *peer, now int64) bool {
	done := handedOver(p)
	if !done && now-p.holdSince.Load() <= int64(t.cfg.ConnectTimeout) {
		return false
	}
	if !p.hold.CompareAndSwap(true, false) {
		return true // released meanwhile
	}
	if !done {
		t.log.Warn("handover to our own connections timed out: messages still in flight on the peer's may arrive after later ones",
			"peer", p.id, "after", t.cfg.ConnectTimeout)
	}
	for _, l := range p.lanes.Members() {
		if c := l.conn.Load(); c != nil && l.outbound {
			c.forceWake()
		}
	}
	return true
}

// handedOver reports whether nothing we sent on p's connections to us is
// still queued, unwritten or unconfirmed.
func handedOver(p *peer) bool {
	for _, l := range p.lanes.Members() {
		if l.outbound {
			continue
		}
		if l.Queued() > 0 {
			return false
		}
		if c := l.conn.Load(); c != nil && c.unconfirmed.Load() > 0 {
			return false
		}
	}
	return true
}
