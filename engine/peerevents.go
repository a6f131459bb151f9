package engine

import (
	"sync"
	"time"
)

// PeerEventKind says what happened to a peer.
type PeerEventKind int

const (
	// PeerUp: the peer has an established connection again (or for the
	// first time).
	PeerUp PeerEventKind = iota + 1
	// PeerReconnecting: the peer's last established connection was lost
	// and its lanes are redialing.
	PeerReconnecting
	// PeerDown: the peer has no connection and none is being made: it
	// was disconnected, or it dialed us and is gone.
	PeerDown
	// PeerFailed: every lane gave up (reconnect attempts exhausted, or a
	// refusal retrying cannot fix); Reason says why.
	PeerFailed
)

var peerEventNames = [...]string{PeerUp: "up", PeerReconnecting: "reconnecting", PeerDown: "down", PeerFailed: "failed"}

// String returns the lower-case name of the kind.
func (k PeerEventKind) String() string {
	if k > 0 && int(k) < len(peerEventNames) {
		return peerEventNames[k]
	}
	return "unknown"
}

// PeerEvent is a change of a peer's state, from Transport.Events.
type PeerEvent struct {
	NodeID string
	Kind   PeerEventKind
	// Reason is why the peer went down, is reconnecting or failed: the
	// error of the connection lost last, or the lane's failure reason.
	Reason string
	// Time is when the change happened.
	Time time.Time
	// Coalesced counts the changes of this peer that were replaced by
	// this one because the consumer was not reading: the events a peer
	// gets are in order, but a slow consumer sees only the latest state.
	Coalesced int
}

// eventBuffer is how many events wait in the channel before the hub
// starts coalescing them per peer.
const eventBuffer = 64

// eventHub turns lane state changes into per-peer events, without ever
// blocking the goroutine that changed the state (often an event loop):
// changes wait in pending, one per peer, and a goroutine of the
// transport's hands them to the channel.
type eventHub struct {
	out  chan PeerEvent
	wake chan struct{}

	mu      sync.Mutex
	last    map[*peer]PeerEventKind // the kind last queued for each peer
	pending map[*peer]*PeerEvent
	order   []*peer // peers with a pending event, oldest first
}

func newEventHub() *eventHub {
	return &eventHub{out: make(chan PeerEvent, eventBuffer), wake: make(chan struct{}, 1),
		last: make(map[*peer]PeerEventKind), pending: make(map[*peer]*PeerEvent)}
}

// Events returns the channel of peer events: up, reconnecting, down and
// failed, in order for each peer. It is closed by Close. A consumer that
// falls behind by more than a few dozen events gets, for each peer, its
// latest change only (PeerEvent.Coalesced counts what it missed); the
// transport never waits for it.
func (t *Transport) Events() <-chan PeerEvent { return t.hub.out }

// kindOf maps a peer's summarised state to the event it means, given the
// last one reported; 0 means no event.
func kindOf(s State, last PeerEventKind) PeerEventKind {
	switch s {
	case StateActive:
		return PeerUp
	case StateReconnecting:
		return PeerReconnecting
	case StateFailed:
		return PeerFailed
	case StateClosed:
		return PeerDown
	}
	if last == PeerUp { // connecting again after a loss
		return PeerReconnecting
	}
	return 0
}

// changed records that peer p's lanes changed state. Any goroutine, never
// blocks.
func (h *eventHub) changed(p *peer) {
	if h != nil {
		h.report(p, false)
	}
}

// gone records that peer p was removed: its last event (down). What its
// lanes do afterwards, as they close, is not reported.
func (h *eventHub) gone(p *peer) {
	if h != nil {
		h.report(p, true)
	}
}

// report queues the event p's state now means. The state is read under
// mu: read before it, a change that lost the race to a later one could
// be reported after it, and the last event would not be the state.
func (h *eventHub) report(p *peer, removed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reportLocked(p, p.state(), removed)
}

func (h *eventHub) reportLocked(p *peer, s State, removed bool) {
	if p.eventsOver {
		return
	}
	if removed {
		s = StateClosed
	}
	last := h.last[p]
	kind := kindOf(s, last)
	if removed {
		p.eventsOver = true
		delete(h.last, p)
		if last == 0 || last == PeerDown {
			return // never reported, or down already
		}
	} else if kind == 0 || kind == last {
		return
	} else {
		h.last[p] = kind
	}
	ev := PeerEvent{NodeID: p.id, Kind: kind, Reason: p.reason(kind), Time: time.Now()}
	if prev := h.pending[p]; prev != nil {
		ev.Coalesced = prev.Coalesced + 1
		*prev = ev
		return
	}
	h.pending[p] = &ev
	h.order = append(h.order, p)
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// next takes the oldest pending event, if any.
func (h *eventHub) next() (PeerEvent, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.order) == 0 {
		return PeerEvent{}, false
	}
	p := h.order[0]
	h.order[0] = nil
	h.order = h.order[1:]
	ev := *h.pending[p]
	delete(h.pending, p)
	return ev, true
}

// run hands pending events to the channel until done closes, then closes
// it. One goroutine per transport.
func (h *eventHub) run(done <-chan struct{}) {
	defer close(h.out)
	for {
		ev, ok := h.next()
		if !ok {
			select {
			case <-h.wake:
				continue
			case <-done:
				return
			}
		}
		select {
		case h.out <- ev:
		case <-done:
			return
		}
	}
}

// reason says why the peer is in the state of an event of kind k.
func (p *peer) reason(k PeerEventKind) string {
	switch k {
	case PeerUp:
		return ""
	case PeerFailed:
		for _, l := range p.lanes.Members() {
			if r := l.reason(); r != "" {
				return r
			}
		}
	}
	if r := p.lastLoss.Load(); r != nil {
		return *r
	}
	return ""
}
