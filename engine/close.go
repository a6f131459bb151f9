package engine

import (
	"context"
	"fmt"
	"time"
)

// Close stops accepting sends, flushes queued messages within CloseTimeout,
// says goodbye to every peer and closes all connections. Messages it could
// not flush are counted as dropped. Afterwards every call returns ErrClosed
// (Recv first returns the messages already received).
func (t *Transport) Close() error {
	running, ok := t.beginClose()
	if !ok {
		return fmt.Errorf("close: %w", ErrClosed)
	}
	close(t.stopping)
	t.failRequests(nil, 0, fmt.Errorf("%w: the transport is closing", ErrClosed))
	t.stats.streamsFailed.Add(uint64(t.streams.failPeer(nil, ErrClosed)))
	if !running {
		close(t.done)
		return nil
	}
	deadline := time.Now().Add(t.cfg.CloseTimeout)
	t.flushAll(deadline)
	t.mu.Lock()
	for _, p := range *t.peers.Load() {
		for _, l := range p.lanes.Members() {
			l.setState(StateClosed)
			n, b := l.drain()
			t.drop(l, n, b, "transport closed before they could be sent")
		}
	}
	t.mu.Unlock()
	t.cancel()
	t.waitRegistrations(time.Now().Add(registrationWait))
	t.stopLoops()
	t.closeBells()
	t.wg.Wait()
	close(t.done)
	return nil
}

// beginClose marks the transport closing (false if it already was) and
// reports whether Start has launched gnet, which Close must then stop.
// Under lifeMu, so a Start's set-up is either wholly before it or sees
// closing.
func (t *Transport) beginClose() (running, ok bool) {
	t.lifeMu.Lock()
	defer t.lifeMu.Unlock()
	if !t.closing.CompareAndSwap(false, true) {
		return false, false
	}
	return t.started.Load() && t.cancel != nil, true
}

// registrationWait bounds how long Close waits for dialed connections
// that gnet is still registering (registerDialed): a loop takes one in
// microseconds, so only a stuck loop makes Close give up on them.
const registrationWait = 2 * time.Second

// beginRegistration counts a connection (or doorbell) on its way into a
// loop, unless Close has begun: it reports false then, counting nothing.
// Otherwise the caller ends the count (t.registering.Add(-1)) once a loop
// has taken it or the registration failed.
func (t *Transport) beginRegistration() bool {
	t.registering.Add(1)
	if t.closing.Load() { // after the count: Close either sees it or this sees closing
		t.registering.Add(-1)
		return false
	}
	return true
}

// waitRegistrations waits until no dialed connection is on its way into a
// loop, or until the deadline.
func (t *Transport) waitRegistrations(deadline time.Time) {
	for t.registering.Load() > 0 {
		if time.Now().After(deadline) {
			t.log.Warn("closing with connections still being registered", "count", t.registering.Load())
			return
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// stopLoops stops gnet and returns once gnet.Run has returned.
//
// gnet accepts on a main reactor and hands each socket to an event loop as
// a queued task, and Engine.Stop stops the event loops before that reactor:
// a socket accepted in between is queued to a loop that has exited, and is
// never closed. So the listening socket is shut down first (accept then
// fails, and the kernel resets what waits in its backlog); the reactor
// exits on that failure after handing over what it had accepted, and its
// exit stops the loops, whose queues then hold those sockets ahead of the
// order to stop. Engine.Stop remains the fallback.
func (t *Transport) stopLoops() {
	select { // gnet can be stopped only once it has booted (or failed to)
	case <-t.ready:
	case <-t.runDone:
	}
	if t.listener.shutdown() {
		select {
		case <-t.runDone:
			return
		case <-time.After(acceptorExitWait):
			t.log.Warn("the acceptor did not stop with its listener; stopping the event loops")
		}
	}
	t.stopEngine()
	<-t.runDone
}

// acceptorExitWait bounds how long Close waits for gnet's acceptor to stop
// the engine once its listener is shut down: it takes microseconds.
const acceptorExitWait = time.Second

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
		n += p.queuedMessages()
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
