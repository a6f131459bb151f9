package engine

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tensorchain/transport/budget"
	"github.com/tensorchain/transport/tlsstate"
)

// Transport carries messages between this node and its peers. Create it
// with New, then Start it; all methods are safe for concurrent use.
type Transport struct {
	cfg         Config
	log         *slog.Logger
	incarnation uint64
	hello       []byte // the hello frame a listener answers with

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
	runDone   chan struct{} // closed when gnet.Run has returned, runErr set
	runErr    error
	listener  listenerDup // set at OnBoot (listener.go)
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup // dial goroutines
	// registering counts dialed connections handed to gnet and not yet
	// opened by a loop: Close keeps the loops running until it is 0
	// (dial.go, registerDialed).
	registering atomic.Int32
	bells       bells     // one per event loop (doorbell.go)
	loads       loopLoads // what each loop serves, for placing dialed connections (placement.go)

	// lifeMu orders Start's set-up (up to gnet.Run's launch) and Close's
	// first step: Close either finds gnet launched, with cancel set, and
	// stops it, or finds nothing started and Start then sees closing.
	lifeMu   sync.Mutex
	started  atomic.Bool
	closing  atomic.Bool   // Close has begun: new sends fail with ErrClosed
	stopping chan struct{} // closed when Close begins: blocked sends give up
	done     chan struct{} // closed when Close has finished

	mu     sync.Mutex // guards the fields below and peer membership
	peers  atomic.Pointer[map[string]*peer]
	conns  map[*conn]struct{}
	redial map[*lane]struct{}

	recvAny   sleepers             // Recv callers
	recvClass [numClasses]sleepers // RecvClass callers, by class, each kind of receiver on its own

	inboxes [numClasses]readyList // peers' inboxes with messages for Recv, by class
	mem     *budget.Pool          // Config.MemoryBudget (memory.go)
	adm     admission             // under mu (admission.go)
	hub     *eventHub             // peer events (peerevents.go)
	rings   *budget.Account       // inbox rings' charges (inbox.go); no reserve
	pending pendingTable          // requests awaiting replies (request.go)
	streams streamTable           // open streams, both ends (stream.go)

	lastIOCheck time.Time
	lastPing    time.Time // the ticker's: when it last asked for Pings (rtt.go)
	epoch       time.Time // constant: Pings carry the time since
	maxOutbound int       // cap on gnet's outbound buffer per connection
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
		runDone:   make(chan struct{}),
		done:      make(chan struct{}),
		stopping:  make(chan struct{}),
		conns:     make(map[*conn]struct{}),
		redial:    make(map[*lane]struct{}),
		hsLimiter: tlsstate.NewLimiter(cfg.HandshakeConcurrency),
		dialSem:   make(chan struct{}, 64),
		streams:   newStreamTable(),
		epoch:     time.Now(),
	}
	t.listener.fd = -1 // until OnBoot
	t.recvAny.init()
	for c := range t.recvClass {
		t.recvClass[c].init()
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	t.log = t.log.With("node", cfg.NodeID)
	var b [8]byte
	_, _ = rand.Read(b[:])
	t.incarnation = binary.BigEndian.Uint64(b[:]) | 1 // never zero
	t.hello = t.helloFrame(Bulk, 0)
	t.maxOutbound = cfg.ReceiveWindow
	t.mem = budget.NewPool(cfg.MemoryBudget, cfg.sharedMemory())
	t.adm.perAddr = make(map[string]int)
	t.rings, _ = t.mem.Open(0)
	t.hub = newEventHub()
	go t.hub.run(t.done) // until Close
	empty := map[string]*peer{}
	t.peers.Store(&empty)
	if err := t.setupTLS(); err != nil {
		return nil, err
	}
	return t, nil
}

// Start opens the listener and the event loops, and returns once they are
// serving (or ctx ends). A transport runs once: after its event loops have
// stopped (Close, or a Start that failed in gnet), Start returns ErrClosed.
func (t *Transport) Start(ctx context.Context) error {
	if err := t.launch(); err != nil {
		return err
	}
	select {
	case <-t.ready:
		t.installBells(ctx)
		return nil
	case <-t.runDone:
		t.cancel()
		t.started.Store(false) // gnet.Run returned: Close has nothing to stop
		return fmt.Errorf("start %s on %s: %w", t.cfg.NodeID, t.cfg.ListenAddr, t.runErr)
	case <-ctx.Done():
		_ = t.Close() // it waits until gnet has booted, to stop it
		return fmt.Errorf("start: %w", ctxError(ctx))
	}
}

// launch checks that the transport may start and starts gnet.Run on its
// own goroutine, under lifeMu: a Close that begins meanwhile waits, then
// stops what was launched.
func (t *Transport) launch() error {
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if t.closing.Load() {
		return fmt.Errorf("start: %w", ErrClosed)
	}
	select {
	case <-t.runDone:
		return fmt.Errorf("start: %w: gnet stopped (%v); a transport runs once", ErrClosed, t.runErr)
	default:
	}
	if !t.started.CompareAndSwap(false, true) {
		return fmt.Errorf("start: %w: already started", ErrInvalidConfig)
	}
	if err := probeListen(t.cfg.ListenAddr); err != nil {
		t.started.Store(false) // nothing runs: Close has nothing to stop
		return fmt.Errorf("start %s on %s: %w", t.cfg.NodeID, t.cfg.ListenAddr, err)
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
		gnet.WithLogger(gnetLogger{l: t.log.With("component", "gnet"), closing: &t.closing}),
	}
	if t.cfg.Keepalive {
		opts = append(opts, gnet.WithTCPKeepAlive(t.cfg.KeepaliveInterval))
	}
	go func() {
		t.runErr = gnet.Run(&eventHandler{t: t}, "tcp://"+t.cfg.ListenAddr, opts...)
		t.listener.close() // gnet has closed its own: the port is free
		close(t.runDone)
	}()
	return nil
}

// probeListen binds addr once and lets it go, so that a port in use is
// reported as such ("address already in use", syscall.EADDRINUSE in the
// chain): gnet reports it as "setsockopt: bad file descriptor". A port 0
// address needs no probe.
func probeListen(addr string) error {
	if _, port, err := net.SplitHostPort(addr); err == nil && port == "0" {
		return nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return ln.Close()
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

func (t *Transport) register(c *conn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *Transport) unregister(c *conn) {
	t.mu.Lock()
	delete(t.conns, c)
	t.releaseLocked(c)
	t.mu.Unlock()
}
