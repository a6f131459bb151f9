package engine

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

// Transport carries messages between this node and its peers. Create it
// with New, then Start it; all methods are safe for concurrent use.
type Transport struct {
	cfg         Config
	log         *slog.Logger
	incarnation uint64
	hello       []byte // our encoded hello frame

	tlsCfg     *tlsstate.Config
	creds      *tlsstate.Credentials
	serverTLS  *tls.Config
	hsLimiter  *tlsstate.Limiter
	dialSem    chan struct{}
	compressor compressorPool

	eng       gnet.Engine
	addr      net.Addr
	ready     chan struct{}
	readyOnce sync.Once
	runDone   chan error
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // dial goroutines

	started       atomic.Bool
	closing       atomic.Bool   // Close has begun: new sends fail with ErrClosed
	stopping      chan struct{} // closed when Close begins: blocked sends give up
	sendsInFlight atomic.Int64  // sends past their closing check (send.go)
	quiesced      atomic.Bool   // closing, and no send is in flight: connections may say goodbye
	done          chan struct{} // closed when Close has finished

	mu     sync.Mutex // guards the fields below and peer membership
	peers  atomic.Pointer[map[string]*peer]
	conns  map[*conn]struct{}
	redial map[*lane]struct{}

	ring    *ring
	waiters atomic.Int32
	notify  chan struct{}

	stallMu    sync.Mutex
	stalled    []*conn
	anyStalled atomic.Bool

	lastIOCheck time.Time
	maxOutbound int // cap on gnet's outbound buffer per connection
	connSeq     atomic.Uint64
	stats       counters
}

// New returns a transport for cfg. It validates the configuration but opens
// no socket until Start.
func New(cfg Config) (*Transport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Transport{
		cfg:       cfg,
		log:       cfg.Logger,
		ready:     make(chan struct{}),
		runDone:   make(chan error, 1),
		done:      make(chan struct{}),
		stopping:  make(chan struct{}),
		conns:     make(map[*conn]struct{}),
		redial:    make(map[*lane]struct{}),
		ring:      newRing(cfg.RecvBufferSize),
		notify:    make(chan struct{}, 1),
		hsLimiter: tlsstate.NewLimiter(cfg.HandshakeConcurrency),
		dialSem:   make(chan struct{}, 64),
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	t.log = t.log.With("node", cfg.NodeID)
	var b [8]byte
	_, _ = rand.Read(b[:])
	t.incarnation = binary.BigEndian.Uint64(b[:]) | 1 // never zero
	t.hello = t.helloFrame()
	t.maxOutbound = cfg.ReceiveWindow
	empty := map[string]*peer{}
	t.peers.Store(&empty)
	if err := t.setupTLS(); err != nil {
		return nil, err
	}
	return t, nil
}

// Start opens the listener and the event loops, and returns once they are
// serving (or ctx ends).
func (t *Transport) Start(ctx context.Context) error {
	if t.closing.Load() {
		return fmt.Errorf("start: %w", ErrClosed)
	}
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("start: %w: already started", ErrInvalidConfig)
	}
	if t.cfg.SecurityMode == Development || (t.cfg.SecurityMode == Legacy && t.cfg.TLS == nil) {
		t.log.Warn("SECURITY WARNING: TLS is OFF; peers are neither authenticated nor encrypted. Use only for local testing.",
			"mode", t.cfg.SecurityMode.String())
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	opts := []gnet.Option{
		gnet.WithMulticore(true),
		gnet.WithNumEventLoop(t.cfg.EventLoops),
		gnet.WithLoadBalancing(gnet.LeastConnections), // RoundRobin races with Register
		gnet.WithTicker(true),
		gnet.WithTCPNoDelay(gnet.TCPNoDelay),
		gnet.WithReuseAddr(true),          // a restarted node rebinds its port despite TIME_WAIT
		gnet.WithReadBufferCap(256 << 10), // per event loop, not per connection: a 64 KiB frame arrives whole and is decoded in place
		gnet.WithLogger(gnetLogger{t.log.With("component", "gnet")}),
	}
	if t.cfg.Keepalive {
		opts = append(opts, gnet.WithTCPKeepAlive(t.cfg.KeepaliveInterval))
	}
	go func() { t.runDone <- gnet.Run(&handler{t: t}, "tcp://"+t.cfg.ListenAddr, opts...) }()
	select {
	case <-t.ready:
		return nil
	case err := <-t.runDone:
		t.cancel()
		return fmt.Errorf("start %s on %s: %w", t.cfg.NodeID, t.cfg.ListenAddr, err)
	case <-ctx.Done():
		_ = t.Close()
		return fmt.Errorf("start: %w: %w", ErrTimeout, ctx.Err())
	}
}

// Addr returns the address the transport listens on (with the real port
// when ListenAddr asked for port 0), or nil before Start.
func (t *Transport) Addr() net.Addr {
	select {
	case <-t.ready:
		return t.addr
	default:
		return nil
	}
}

// listenAddr reads the bound address of the engine's listener.
func listenAddr(eng gnet.Engine) (net.Addr, error) {
	fd, err := eng.Dup()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return nil, err
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}, nil
	case *unix.SockaddrInet6:
		return &net.TCPAddr{IP: net.IP(a.Addr[:]), Port: a.Port}, nil
	}
	return nil, fmt.Errorf("unexpected listener address %T", sa)
}

// peer returns the peer with that id, or nil. Lock-free.
func (t *Transport) peer(id string) *peer {
	return (*t.peers.Load())[id]
}

// setPeerLocked adds or (p == nil) removes a peer; t.mu must be held.
func (t *Transport) setPeerLocked(id string, p *peer) {
	cur := *t.peers.Load()
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

func (t *Transport) register(c *conn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *Transport) unregister(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.mu.Unlock()
}

// bind attaches a connection whose hello just arrived to its peer and lane.
func (t *Transport) bind(c *conn, h codec.Hello) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() {
		return fmt.Errorf("%w: transport closing", ErrClosed)
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
			p = newPeer(h.NodeID, t.cfg.RateLimit, t.cfg.InboundRateLimit)
			t.setPeerLocked(p.id, p)
		}
		l = &lane{peer: p}
		p.lanes.Add(l)
		c.lane.Store(l)
	}
	p.incarnation = h.Incarnation
	p.maxMessage.Store(int64(h.MaxMessage))
	// Compression is on only when both hellos advertise it, in both directions.
	c.compressIn = t.cfg.Compression.Enabled && h.Caps&codec.CapLZ4 != 0
	c.compressOut = c.compressIn
	p.compress.Store(c.compressOut)
	c.sendWin.grant(int64(h.Window), 0)
	c.wr.mu.Lock()
	c.wr.directOff = c.tls != nil // TLS records are sealed on the loop only
	c.wr.mu.Unlock()
	c.peer.Store(p)
	c.setPhase(phaseEstablished)
	c.retried = l.attempts
	l.attempts = 0
	l.conn.Store(c)
	l.setState(StateActive)
	t.stats.connsActive.Add(1)
	return nil
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

// retireInboundLaneLocked removes a dead inbound lane, moving its unsent
// messages to another lane of the same peer, or counting them as dropped.
func (t *Transport) retireInboundLaneLocked(l *lane) {
	p := l.peer
	l.setState(StateClosed)
	p.lanes.Remove(func(m *lane) bool { return m == l })
	rest := l.retire()
	if rest.msgs > 0 {
		if other, ok := p.lanes.Pick(); ok {
			other.queued.Add(int64(rest.bytes))
			t.requeue(other, rest, "its last connection closed")
			if c := other.conn.Load(); c != nil {
				c.wake()
			}
		} else {
			msgs, bytes := rest.msgs, rest.bytes
			rest.release()
			t.drop(p, msgs, bytes, "its last connection closed")
		}
	}
	if p.lanes.Len() == 0 && !p.dialed {
		t.setPeerLocked(p.id, nil)
	}
}

// requeue returns unsent frames to the front of lane l; on a lane retired
// meanwhile they are dropped and reported.
func (t *Transport) requeue(l *lane, q frameQueue, why string) {
	if msgs, bytes := l.requeue(q); msgs > 0 {
		t.drop(l.peer, msgs, bytes, why)
	}
}

// drop reports messages that can no longer be delivered.
func (t *Transport) drop(p *peer, msgs, bytes int, why string) {
	if msgs == 0 {
		return
	}
	p.pending.Add(-int64(msgs))
	p.pendBytes.Add(-int64(bytes))
	p.stats.dropped.Add(uint64(msgs))
	t.stats.dropped.Add(uint64(msgs))
	p.signalSpace()
	t.log.Warn("dropping undeliverable messages", "peer", p.id, "messages", msgs, "reason", why)
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
	NodeID      string
	Address     string // dial address; empty for a peer that only connected to us
	State       State
	Connections int // established connections
	Lanes       []State
}

func (p *peer) info() PeerInfo {
	pi := PeerInfo{NodeID: p.id, Address: p.address(), State: p.state()}
	for _, l := range p.lanes.Members() {
		pi.Lanes = append(pi.Lanes, l.getState())
		if l.Healthy() {
			pi.Connections++
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
		t.drop(p, n, b, "disconnected")
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.fail(causeClosed, fmt.Errorf("disconnect %s: %w", nodeID, ErrClosed))
	}
	return nil
}

// Close stops accepting sends, flushes queued messages within CloseTimeout,
// says goodbye to every peer and closes all connections. Messages it could
// not flush are counted as dropped. Afterwards every call returns ErrClosed
// (Recv first returns the messages already received).
func (t *Transport) Close() error {
	if !t.closing.CompareAndSwap(false, true) {
		return fmt.Errorf("close: %w", ErrClosed)
	}
	close(t.stopping)
	if !t.started.Load() || t.cancel == nil {
		close(t.done)
		return nil
	}
	deadline := time.Now().Add(t.cfg.CloseTimeout)
	t.quiesce(deadline)
	t.flushAll(deadline)
	t.mu.Lock()
	for _, p := range *t.peers.Load() {
		for _, l := range p.lanes.Members() {
			n, b := l.drain()
			t.drop(p, n, b, "transport closed before they could be sent")
		}
	}
	t.mu.Unlock()
	t.cancel()
	t.stopEngine()
	<-t.runDone
	t.wg.Wait()
	close(t.done)
	return nil
}

// quiesce waits, until deadline, for sends that passed their closing check
// to queue their frames; after it no frame joins a lane, so a connection
// whose lane is empty may say goodbye. Sends blocked on a full queue have
// been released by closing t.stopping.
func (t *Transport) quiesce(deadline time.Time) {
	for t.sendsInFlight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Microsecond)
	}
	t.quiesced.Store(true)
}

// stopEngine starts gnet's shutdown without waiting for it: Engine.Stop
// begins the shutdown at once but then polls every 500 ms for its end, so
// it is given a context that is already done; Close waits for gnet.Run to
// return instead, which it does as soon as the loops have stopped.
func (t *Transport) stopEngine() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = t.eng.Stop(ctx)
}

// flushAll waits until every queued message is written (or the deadline),
// then lets each connection send its final credit and goodbye.
func (t *Transport) flushAll(deadline time.Time) {
	for time.Now().Before(deadline) && t.pendingTotal() > 0 {
		t.wakeAll()
		time.Sleep(2 * time.Millisecond)
	}
	t.wakeAll() // closing is set: each connection sends credit and goodbye
	// Wait for the peers' answering goodbyes, which close the connections:
	// a peer answers only after reading everything we wrote before ours.
	until := deadline
	if d := time.Now().Add(100 * time.Millisecond); until.Before(d) {
		until = d // always give a goodbye a moment, even with CloseTimeout 0
	}
	for time.Now().Before(until) && t.establishedConns() > 0 {
		time.Sleep(2 * time.Millisecond)
	}
}

func (t *Transport) establishedConns() int {
	n := 0
	for _, c := range t.snapshotConns() {
		if c.established() {
			n++
		}
	}
	return n
}

func (t *Transport) pendingTotal() int64 {
	var n int64
	for _, p := range *t.peers.Load() {
		n += p.pending.Load()
	}
	return n
}

func (t *Transport) snapshotConns() []*conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*conn, 0, len(t.conns))
	for c := range t.conns {
		out = append(out, c)
	}
	return out
}

func (t *Transport) wakeAll() {
	for _, c := range t.snapshotConns() {
		c.forceWake()
	}
}
