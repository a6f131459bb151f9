package engine

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/pool"
)

// State is the lifecycle state of a connection slot or a peer.
type State int32

// Connection states. A lane moves Connecting -> Handshaking -> Active, and
// on loss to Reconnecting -> Connecting, or Failed after MaxAttempts.
const (
	StateConnecting   State = iota // dialing TCP
	StateHandshaking               // TLS and hello exchange in progress
	StateActive                    // established: messages flow
	StateReconnecting              // lost; waiting for the next dial after backoff
	StateFailed                    // gave up after MaxAttempts (or reconnect disabled)
	StateClosed                    // disconnected or transport closed
)

var stateNames = [...]string{"connecting", "handshaking", "active", "reconnecting", "failed", "closed"}

// String returns the lower-case name of the state.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// peer is everything the transport knows about one remote node.
type peer struct {
	id        string
	addr      atomic.Pointer[string] // outbound dial address; nil for a peer known only by inbound connections
	lanes     pool.Pool[*lane]
	limiter   *bucket.Bucket // outbound: Send fails with ErrRateLimited when empty
	inLimiter *bucket.Bucket // inbound: delivery pauses when empty (nil when disabled)

	queues [numClasses]sendQueue // per class: messages queued on its lanes, not yet written
	inbox  [numClasses]inbox     // per class: messages received, waiting for Recv

	maxMessage atomic.Int64 // the largest payload the peer accepts (from its hello)
	compress   atomic.Bool  // the peer's last hello advertised LZ4 and we enabled it
	noTags     atomic.Bool  // the peer's last hello did not advertise tagged frames (requests, streams)

	removed     atomic.Bool  // Disconnect was called
	dialed      atomic.Bool  // Connect was called: our sends take our own lanes; keep the peer when inbound lanes die
	unreachable atomic.Bool  // a dial failed since the last established outbound connection (logged once)
	hold        atomic.Bool  // our lanes write nothing yet: the peer's connections still carry earlier sends (handover.go)
	holdSince   atomic.Int64 // UnixNano when hold was set
	stats       peerCounters

	hub        *eventHub              // constant: where state changes are reported (peerevents.go)
	lastLoss   atomic.Pointer[string] // why its last established connection closed
	lastHeard  atomic.Int64           // UnixNano of the last callback that read bytes from it
	rtt        rttHistogram           // round trips of our Pings (rtt.go)
	eventsOver bool                   // under eventHub.mu: gone was reported

	// guarded by Transport.mu
	incarnation uint64 // from the peer's last hello
}

func newPeer(id string, out, in RateLimitConfig, hub *eventHub) *peer {
	p := &peer{id: id, limiter: bucket.New(out, nil), hub: hub}
	for i := range p.queues {
		p.queues[i] = newSendQueue()
	}
	if in.Enabled {
		p.inLimiter = bucket.New(in, nil)
	}
	return p
}

// releaseInboxes gives back the budget charge of the peer's inbox rings
// (the peer is gone; what they still hold drains as usual).
func (p *peer) releaseInboxes() {
	for i := range p.inbox {
		p.inbox[i].release()
	}
}

// address returns the dial address, or "" for an inbound-only peer.
func (p *peer) address() string {
	if a := p.addr.Load(); a != nil {
		return *a
	}
	return ""
}

// pick returns the lane a message of class on stream takes (pool.Pick).
func (p *peer) pick(class Class, stream uint32) (*lane, bool) {
	return p.lanes.Pick(uint8(class), stream, p.dialed.Load())
}

// hasActiveConn reports whether any lane has an established connection.
func (p *peer) hasActiveConn() bool {
	for _, l := range p.lanes.Members() {
		if l.Healthy() {
			return true
		}
	}
	return false
}

// queuedMessages and queuedBytes sum the queues of every class.
func (p *peer) queuedMessages() int64 {
	return p.queues[Bulk].pending.Load() + p.queues[Control].pending.Load()
}

func (p *peer) queuedBytes() int64 {
	return p.queues[Bulk].pendBytes.Load() + p.queues[Control].pendBytes.Load()
}

// state summarises the peer's lanes: Active if any is, else the most hopeful.
func (p *peer) state() State {
	best := StateClosed
	members := p.lanes.Members()
	if len(members) == 0 {
		return StateClosed
	}
	rank := map[State]int{StateActive: 0, StateHandshaking: 1, StateConnecting: 2, StateReconnecting: 3, StateFailed: 4, StateClosed: 5}
	for _, l := range members {
		if s := l.getState(); rank[s] < rank[best] {
			best = s
		}
	}
	return best
}

// lane is an ordered outbound queue served by at most one connection at a
// time. Outbound lanes outlive their connections: while one reconnects its
// queue keeps filling (up to the peer's limits) and drains on the next
// connection. Inbound lanes live and die with their connection.
type lane struct {
	peer     *peer // constant
	outbound bool  // constant
	class    Class // constant
	index    int   // constant: the lane's index within its class (the dialer's, for inbound lanes)

	mu      sync.Mutex
	q       frameQueue // encoded frames waiting for the event loop (under mu)
	retired bool       // the queue was emptied for good; nothing may join it (under mu)
	sealed  bool       // closing: the connection said goodbye; nothing may join it (under mu)

	queued     atomic.Int64 // bytes queued here and not yet written, for selection
	conn       atomic.Pointer[conn]
	st         atomic.Int32
	failReason atomic.Pointer[string] // why the lane is Failed

	// reconnect bookkeeping, guarded by Transport.mu
	attempts int
	refusals int // dials in a row refused for a permanent cause (dial.go, maxRefusals)
	nextDial time.Time
	dialing  bool
	awaited  time.Time // inbound: since when the lane has waited for the peer to (re)connect it
}

// reason says why the lane is Failed ("" if it is not).
func (l *lane) reason() string {
	if r := l.failReason.Load(); r != nil {
		return *r
	}
	return ""
}

// Queued is the number of bytes queued here and not yet written.
func (l *lane) Queued() int64 { return l.queued.Load() }

// Healthy reports whether the lane has an established connection.
func (l *lane) Healthy() bool { return l.conn.Load() != nil }

// Class and Outbound describe the lane to the pool.
func (l *lane) Class() uint8   { return uint8(l.class) }
func (l *lane) Outbound() bool { return l.outbound }

// awaitingPeer reports whether this is an inbound lane that waits for the
// peer to connect it (membership.go, awaitPeerLocked).
func (l *lane) awaitingPeer() bool {
	return !l.outbound && l.conn.Load() == nil && l.getState() == StateConnecting
}

// Usable reports whether messages may queue here: established, an
// outbound lane waiting to reconnect, or an inbound lane waiting for the
// peer to connect it (membership.go, awaitPeerLocked).
func (l *lane) Usable() bool {
	s := l.getState()
	return s != StateFailed && s != StateClosed
}

func (l *lane) getState() State { return State(l.st.Load()) }

// setState changes the lane's state and reports what it means for its
// peer (Events).
func (l *lane) setState(s State) {
	if State(l.st.Swap(int32(s))) != s {
		l.peer.hub.changed(l.peer)
	}
}

// appendResult says whether appendFrame queued the frame.
type appendResult int

const (
	appended    appendResult = iota
	laneRetired              // the lane is gone: pick another
	laneSealed               // the transport is closing and the lane said goodbye
)

// appendFrame queues one encoded frame (with a deadline, UnixNano, or 0)
// and returns the connection to wake.
func (l *lane) appendFrame(header, payload []byte, deadline int64) (*conn, appendResult) {
	l.mu.Lock()
	if res := l.refusalLocked(); res != appended {
		l.mu.Unlock()
		return nil, res
	}
	l.q.push(header, payload, deadline)
	l.mu.Unlock()
	l.queued.Add(int64(len(header) + len(payload)))
	return l.conn.Load(), appended
}

// outFrame is one encoded frame on its way into a lane: its header and
// its body, which the lane copies.
type outFrame struct{ hdr, body []byte }

// appendFrames is appendFrame for a batch's frames, in order and under
// one lock, each with the deadline.
func (l *lane) appendFrames(frames []outFrame, deadline int64) (*conn, appendResult) {
	l.mu.Lock()
	if res := l.refusalLocked(); res != appended {
		l.mu.Unlock()
		return nil, res
	}
	var bytes int
	for _, f := range frames {
		l.q.push(f.hdr, f.body, deadline)
		bytes += len(f.hdr) + len(f.body)
	}
	l.mu.Unlock()
	l.queued.Add(int64(bytes))
	return l.conn.Load(), appended
}

// refusalLocked says why the lane takes no frame now (laneRetired,
// laneSealed), or appended when it does. Under l.mu.
func (l *lane) refusalLocked() appendResult {
	switch {
	case l.retired || (!l.outbound && l.peer.dialed.Load()): // (a send that picked before our Connect: see handover.go)
		return laneRetired
	case l.sealed:
		return laneSealed
	}
	return appended
}

// expireQueued drops the expired frames at the front of the queue (see
// frameQueue.dropExpired) and books them: for a lane whose connection is
// down, so that heartbeats queued for a dead peer give their room back
// without waiting for the reconnect. Any goroutine.
func (l *lane) expireQueued(now int64, s *counters) {
	l.mu.Lock()
	msgs, bytes := l.q.dropExpired(now)
	l.mu.Unlock()
	if msgs > 0 {
		l.expired(msgs, bytes, s)
	}
}

// unqueue books msgs frames of bytes as gone from the lane: written, or
// expired, and reports whether that woke a Send waiting for room. Any
// goroutine.
func (l *lane) unqueue(msgs, bytes int) bool {
	l.queued.Add(-int64(bytes))
	return l.peer.queues[l.class].release(msgs, bytes)
}

// expired books frames dropped unwritten because their deadline passed,
// in the lane and in the stats s and the peer's.
func (l *lane) expired(msgs, bytes int, s *counters) {
	l.unqueue(msgs, bytes)
	s.expired.Add(uint64(msgs))
	l.peer.stats.expired.Add(uint64(msgs))
}

// sealIfEmpty seals the lane if nothing is queued, and reports whether it
// did: once sealed no frame joins it (appendFrame returns laneSealed).
func (l *lane) sealIfEmpty() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.q.msgs > 0 {
		return false
	}
	l.sealed = true
	return true
}

// take moves the queued frames to the loop's cursor (which must be empty).
func (l *lane) take(into *frameQueue) {
	l.mu.Lock()
	*into, l.q = l.q, frameQueue{segs: into.segs[:0]}
	l.mu.Unlock()
}

// requeue puts frames that a lost connection never wrote back in front of
// the queue, preserving order. On a retired or sealed lane nothing is queued: the
// frames are released and their count returned, for the caller to report
// as dropped.
func (l *lane) requeue(front frameQueue) (droppedMsgs, droppedBytes int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.retired || l.sealed {
		droppedMsgs, droppedBytes = front.msgs, front.bytes
		front.release()
		l.queued.Add(-int64(droppedBytes))
		return droppedMsgs, droppedBytes
	}
	l.q.prepend(&front)
	return 0, 0
}

// retireInto retires the lane and moves what it held to the front of
// other's queue, both under their locks, so that a Send refused here
// (laneRetired), which picks other, appends behind the moved frames. With
// other nil, retired or sealed, the frames are released instead and their
// count returned for the caller to report.
func (l *lane) retireInto(other *lane) (msgs, bytes int, moved bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rest := l.q
	l.q = frameQueue{}
	l.retired = true
	l.queued.Add(-int64(rest.bytes))
	if rest.msgs == 0 {
		return 0, 0, false
	}
	if other != nil && other != l {
		other.mu.Lock() // two lane locks only here, always dying lane first, under Transport.mu
		if !other.retired && !other.sealed {
			other.q.prepend(&rest)
			other.queued.Add(int64(rest.bytes))
			other.mu.Unlock()
			return rest.msgs, rest.bytes, true
		}
		other.mu.Unlock()
	}
	msgs, bytes = rest.msgs, rest.bytes
	rest.release()
	return msgs, bytes, false
}

// drain retires the lane for good (later appends are refused, later
// requeues dropped) and drops what it held, returning the number of
// messages and bytes dropped.
func (l *lane) drain() (msgs int, bytes int) {
	msgs, bytes, _ = l.retireInto(nil)
	return msgs, bytes
}
