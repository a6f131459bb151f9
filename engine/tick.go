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
		select {
		case t.dialSem <- struct{}{}:
		default:
			continue // too many dials in flight: try next tick
		}
		delete(t.redial, l)
		l.dialing = true
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer func() { <-t.dialSem }()
			t.afterDial(l, t.dialLane(l))
		}()
	}
	checkIO := now.Sub(t.lastIOCheck) >= min(t.cfg.IOTimeout/4, time.Second)
	var busy []*conn
	if checkIO {
		t.lastIOCheck = now
		for c := range t.conns {
			if l := c.lane.Load(); c.established() && (c.wr.outBuffered.Load() > 0 || (l != nil && l.Queued() > 0)) {
				busy = append(busy, c)
			}
		}
	}
	t.mu.Unlock()
	for _, c := range busy {
		c.ioCheck.Store(true)
		c.forceWake()
	}
	t.wakeWriteBlocked()
	return max(next, time.Millisecond)
}

// wakeWriteBlocked re-polls connections whose outbound buffer was full
// (gnet has no "writable" event) and resumes throttled ones.
func (t *Transport) wakeWriteBlocked() {
	t.mu.Lock()
	var blocked []*conn
	for c := range t.conns {
		if c.wr.blocked.Load() || c.rd.paused() == throttled {
			blocked = append(blocked, c)
		}
	}
	t.mu.Unlock()
	for _, c := range blocked {
		c.forceWake()
	}
}
