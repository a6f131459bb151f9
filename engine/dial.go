package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/panjf2000/gnet/v2"

	"github.com/tensorchain/transport/codec"
)

// Connect opens PoolSize connections to a peer and returns once each has
// finished its handshake or failed: nil if at least one is up. Connections
// that fail keep retrying in the background with backoff (when
// Reconnect.Enabled), and messages sent meanwhile wait in the queue.
// Connecting to a peer already connected at the same address is a no-op.
func (t *Transport) Connect(ctx context.Context, pc PeerConfig) error {
	if err := t.checkOpen("connect " + pc.NodeID); err != nil {
		return err
	}
	if err := codec.ValidateNodeID(pc.NodeID); err != nil {
		return fmt.Errorf("connect: %w: %v", ErrInvalidConfig, err)
	}
	if pc.NodeID == t.cfg.NodeID {
		return fmt.Errorf("connect %s: %w: a node cannot connect to itself", pc.NodeID, ErrInvalidConfig)
	}
	if _, _, err := net.SplitHostPort(pc.Address); err != nil {
		return fmt.Errorf("connect %s: %w: address %q: %v", pc.NodeID, ErrInvalidConfig, pc.Address, err)
	}
	lanes, err := t.addOutboundLanes(pc)
	if err != nil || len(lanes) == 0 {
		return err
	}
	results := make(chan error, len(lanes))
	// Every lane's loop is chosen now, the control lane's first, however
	// long each dial then takes (placement.go). The control lane is also
	// dialed first, the bulk lanes once its loop has opened it (or its
	// dial failed, or controlFirstWait passed): the listener's gnet
	// balancer, which counts a connection once opened, then sees it, and
	// the bulk lanes, dialed together, land together there.
	reserved := t.reserveLanes(lanes)
	controlPlaced := make(chan struct{})
	placed := sync.OnceFunc(func() { close(controlPlaced) })
	for i, l := range lanes {
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			onPlaced := func() {}
			if l.class == Control {
				onPlaced = placed
				defer placed()
			} else {
				waitPlaced(controlPlaced, min(t.cfg.ConnectTimeout, controlFirstWait))
			}
			err := t.dialLane(l, reserved[i], onPlaced)
			t.afterDial(l, err)
			results <- err
		}()
	}
	var firstErr error
	up := 0
	for range lanes {
		select {
		case err := <-results:
			if err == nil {
				up++
			} else if firstErr == nil {
				firstErr = err
			}
		case <-ctx.Done():
			return fmt.Errorf("connect %s: %w", pc.NodeID, ctxError(ctx))
		}
	}
	if up > 0 {
		return nil
	}
	return firstErr
}

// reserveLanes reserves a loop for each of lanes (placement.go), the
// control lane's first, and returns the reservations in lanes' order.
func (t *Transport) reserveLanes(lanes []*lane) []placement {
	reserved := make([]placement, len(lanes))
	for _, first := range []bool{true, false} {
		for i, l := range lanes {
			if (l.class == Control) == first {
				reserved[i] = t.loads.reserve(l.class)
			}
		}
	}
	return reserved
}

// checkOpen fails when the transport is not running.
func (t *Transport) checkOpen(op string) error {
	if t.closing.Load() {
		return fmt.Errorf("%s: %w", op, ErrClosed)
	}
	if !t.started.Load() {
		return fmt.Errorf("%s: %w", op, ErrNotStarted)
	}
	return nil
}

// addOutboundLanes registers the peer and its outbound lanes; it returns
// no lanes when the peer is already dialed at that address.
func (t *Transport) addOutboundLanes(pc PeerConfig) ([]*lane, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peer(pc.NodeID)
	if p != nil && p.dialed.Load() {
		if a := p.address(); a != pc.Address {
			return nil, fmt.Errorf("connect %s: %w: already connected at %s", pc.NodeID, ErrInvalidConfig, a)
		}
		return nil, nil
	}
	if p == nil {
		p = newPeer(pc.NodeID, t.cfg.RateLimit, t.cfg.InboundRateLimit, t.hub)
		t.setPeerLocked(p.id, p)
	}
	addr := pc.Address
	p.addr.Store(&addr)
	lanes := make([]*lane, 0, t.cfg.PoolSize+1)
	for i := range t.cfg.PoolSize {
		lanes = append(lanes, &lane{peer: p, outbound: true, class: Bulk, index: i, dialing: true})
	}
	lanes = append(lanes, &lane{peer: p, outbound: true, class: Control, index: 0, dialing: true})
	if p.lanes.Len() > 0 { // it dialed us first and may carry our messages: see handover.go
		p.holdSince.Store(time.Now().UnixNano())
		p.hold.Store(true) // before dialed: a send that still took its connections is waited for
	}
	for _, l := range lanes {
		l.setState(StateConnecting)
		p.lanes.Add(l)
	}
	p.dialed.Store(true) // after the lanes exist: Pick then finds them
	t.adoptAwaitingLocked(p, lanes[len(lanes)-1])
	return lanes, nil
}

// controlFirstWait bounds how long Connect's bulk lanes wait for the
// control lane's loop to open it: long enough for a loopback or LAN
// connect, short enough not to add to a failing Connect.
const controlFirstWait = 100 * time.Millisecond

// waitPlaced waits until placed is closed or d has passed.
func waitPlaced(placed <-chan struct{}, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-placed:
	case <-timer.C:
	}
}

// dialLane makes one connection for an outbound lane on the loop
// reserved for it and waits for its handshake; onPlaced runs once a loop
// has opened the connection or the attempt failed before that. The
// goroutine running it lives only for the dial.
func (t *Transport) dialLane(l *lane, reserved placement, onPlaced func()) error {
	p := l.peer
	addr := p.address()
	l.setState(StateConnecting)
	deadline := time.Now().Add(t.cfg.ConnectTimeout)
	ctx, cancel := context.WithDeadline(t.ctx, deadline)
	defer cancel()
	d := net.Dialer{KeepAliveConfig: net.KeepAliveConfig{
		Enable: t.cfg.Keepalive, Idle: t.cfg.KeepaliveInterval, Interval: t.cfg.KeepaliveInterval, Count: 3,
	}}
	if !t.cfg.Keepalive {
		d.KeepAlive = -1
	}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		t.loads.release(reserved)
		if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
			return fmt.Errorf("connect %s (%s): %w after %v: %v", p.id, addr, ErrTimeout, t.cfg.ConnectTimeout, err)
		}
		return fmt.Errorf("connect %s (%s): %w: %v", p.id, addr, ErrUnreachable, err)
	}
	c := t.newConn(true, l, p.id, nc.RemoteAddr().String())
	c.hs.deadline = time.AfterFunc(time.Until(deadline), func() {
		c.fail(causeTimeout, fmt.Errorf("handshake with %s (%s): %w after %v", p.id, addr, ErrTimeout, t.cfg.ConnectTimeout))
		c.finishReady(c.failErr())
	})
	l.setState(StateHandshaking)
	err = t.registerDialed(ctx, nc, c, reserved)
	onPlaced()
	if err != nil {
		c.hs.deadline.Stop()
		return fmt.Errorf("connect %s (%s): %w", p.id, addr, err)
	}
	<-c.hs.ready
	return c.hs.readyErr
}

// registerDialed hands a dialed connection to the loop reserved for it
// (placement.go) and waits until that loop has opened it. gnet
// registers it from a worker goroutine, which dups the socket and then
// waits for the loop: if the loops stopped first, that worker would wait
// forever holding both descriptors. So a registration
// is counted from before Close can see it until a loop has taken it, and
// Close stops the loops only once none is under way (waitRegistrations).
func (t *Transport) registerDialed(ctx context.Context, nc net.Conn, c *conn, reserved placement) error {
	el := t.loads.adopt(c, reserved)
	if !t.beginRegistration() {
		t.loads.closed(c)
		_ = nc.Close()
		return ErrClosed
	}
	defer t.registering.Add(-1)
	ctx = gnet.NewContext(gnet.NewNetConnContext(ctx, nc), c)
	var ch <-chan gnet.RegisteredResult
	var err error
	if el != nil {
		ch, err = el.Enroll(ctx, nc)
	} else {
		ch, err = t.eng.Register(ctx)
	}
	if err != nil {
		t.loads.closed(c)
		_ = nc.Close()
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	if res := <-ch; res.Err != nil { // the loops run until this returns
		t.loads.closed(c)
		return fmt.Errorf("%w: %v", ErrUnreachable, res.Err)
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// afterDial books the outcome of a dial: on failure the lane is scheduled
// for another attempt (or fails for good after MaxAttempts).
func (t *Transport) afterDial(l *lane, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	l.dialing = false
	if err == nil {
		return
	}
	t.stats.dialFailures.Add(1)
	if t.closing.Load() || l.peer.removed.Load() {
		l.setState(StateClosed)
		return
	}
	if l.conn.Load() != nil {
		return
	}
	if l.refusals++; !isRefusal(err) {
		l.refusals = 0
	}
	if l.refusals >= maxRefusals {
		t.failLaneLocked(l, err)
		return
	}
	// Once per peer per outage at Info: every lane redials, with backoff,
	// and a line per lane per attempt would drown the log.
	level := slog.LevelDebug
	if !l.peer.unreachable.Swap(true) {
		level = slog.LevelInfo
	}
	t.log.Log(context.Background(), level, "dial failed", "peer", l.peer.id, "class", l.class.String(), "lane", l.index, "attempt", l.attempts, "err", err)
	t.scheduleRedialLocked(l)
}

// maxRefusals is how many dials in a row refused for a permanent cause
// (isRefusal: a certificate or node id refused, a protocol version not
// spoken) make a lane Failed: retrying a configuration error forever
// would only hide it.
const maxRefusals = 3

// failLaneLocked makes an outbound lane Failed for good, with the
// reason, dropping its queue (counted).
func (t *Transport) failLaneLocked(l *lane, reason error) {
	l.setState(StateFailed)
	why := reason.Error()
	l.failReason.Store(&why)
	delete(t.redial, l)
	n, b := l.drain()
	t.drop(l, n, b, "connection failed and will not be retried")
	t.log.Warn("connection failed for good", "peer", l.peer.id, "class", l.class.String(), "lane", l.index,
		"attempts", l.attempts, "refusals", l.refusals, "err", reason)
}

// scheduleRedialLocked queues the lane's next dial after its backoff, or
// marks it Failed (dropping its queue, counted) after MaxAttempts.
func (t *Transport) scheduleRedialLocked(l *lane) {
	rc := t.cfg.Reconnect
	p := l.peer
	switch {
	case !rc.Enabled:
		t.failLaneLocked(l, fmt.Errorf("%w: connection lost and reconnect is disabled", ErrPeerFailed))
		return
	case rc.MaxAttempts > 0 && l.attempts >= rc.MaxAttempts:
		t.failLaneLocked(l, fmt.Errorf("%w: gave up after %d attempts (reconnect.max_attempts)", ErrPeerFailed, l.attempts))
		return
	}
	d := rc.Backoff(l.attempts, rand.Float64()*2-1)
	l.attempts++
	l.nextDial = time.Now().Add(d)
	l.setState(StateReconnecting)
	t.redial[l] = struct{}{}
	t.stats.reconnects.Add(1)
	p.stats.reconnects.Add(1)
}
