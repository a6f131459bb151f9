package engine

import (
	"sync"

	"github.com/panjf2000/gnet/v2"
)

// Placement: which event loop a dialed connection lives on.
//
// A loop serves its connections one callback at a time, and a loop busy
// with bulk data makes a heartbeat on another of its connections wait for
// the bulk callbacks of every round (BENCHMARKS.md, session 13). So the
// engine places the connections it dials itself (EventLoop.Enroll),
// keeping control lanes and bulk lanes on different loops where the loop
// count allows: a control lane goes to the loop serving the fewest bulk
// connections, a bulk lane to the loop serving the fewest control ones,
// ties broken by the count of the lane's own class, then by all. gnet's
// least-connections balancer cannot do this: it knows no classes, and it
// counts a connection only once its loop opens it, so lanes dialed
// together all chose the same loop (all three of a peer's lanes on one
// loop in 4 of 8 rounds).
//
// The counts cover every connection: a dialed one from the moment its
// loop is chosen (Connect chooses for all of a peer's lanes, control
// first, before any of them dials), an accepted one from OnOpen (of
// unknown class until its hello names the lane), until OnClose. Accepted
// connections are still placed by gnet's balancer, before their class is
// known.

// loopLoad is what one event loop serves, by class.
type loopLoad struct {
	el                     gnet.EventLoop
	bulk, control, unknown int // under loopLoads.mu
}

// total is every connection the loop serves.
func (l *loopLoad) total() int { return l.bulk + l.control + l.unknown }

// count adds d connections of class (unknown for an accepted connection
// whose hello has not come).
func (l *loopLoad) count(class Class, known bool, d int) {
	switch {
	case !known:
		l.unknown += d
	case class == Control:
		l.control += d
	default:
		l.bulk += d
	}
}

// rank orders loops for a lane of class: lower is better.
func (l *loopLoad) rank(class Class) [3]int {
	if class == Control {
		return [3]int{l.bulk, l.control, l.total()}
	}
	return [3]int{l.control, l.bulk, l.total()}
}

// loopLoads are the transport's loops and their loads. A loop is known
// once its doorbell opens (doorbell.go): bells are placed one per loop.
type loopLoads struct {
	mu    sync.Mutex
	loops []*loopLoad // in the order they became known
}

// placement is where a connection is counted: its loop's load, its class,
// and whether the class is known. Under loopLoads.mu.
type placement struct {
	load  *loopLoad
	class Class
	known bool
}

// addLoop makes el known to placement. Loop only (the bell's OnOpen).
func (ls *loopLoads) addLoop(el gnet.EventLoop) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.findLocked(el) == nil {
		ls.loops = append(ls.loops, &loopLoad{el: el})
	}
}

func (ls *loopLoads) findLocked(el gnet.EventLoop) *loopLoad {
	for _, l := range ls.loops {
		if l.el == el {
			return l
		}
	}
	return nil
}

// reserve chooses the loop for a lane of class about to be dialed and
// counts a connection of class there from now on: lanes dialed together
// see each other's choice whatever order their dials finish in. The zero
// placement means no loop is known yet (gnet then chooses).
func (ls *loopLoads) reserve(class Class) placement {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	var best *loopLoad
	for _, l := range ls.loops {
		if best == nil || less(l.rank(class), best.rank(class)) {
			best = l
		}
	}
	if best == nil {
		return placement{}
	}
	best.count(class, true, 1)
	return placement{load: best, class: class, known: true}
}

// release uncounts a reservation no connection took: its dial failed.
func (ls *loopLoads) release(r placement) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if r.load != nil {
		r.load.count(r.class, r.known, -1)
	}
}

// adopt makes reservation r the count of c, a connection just dialed and
// counted nowhere yet (closed then uncounts it), and returns the loop to
// register c on: nil when r is the zero placement.
func (ls *loopLoads) adopt(c *conn, r placement) gnet.EventLoop {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	c.placed = r
	if r.load == nil {
		return nil
	}
	return r.load.el
}

// opened counts c on the loop that opened it, unless it is counted there
// already (a dialed connection on the loop reserved for it). Loop only
// (OnOpen).
func (ls *loopLoads) opened(c *conn, el gnet.EventLoop) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if c.placed.load != nil && c.placed.load.el == el {
		return
	}
	if l := ls.findLocked(el); l != nil {
		ls.moveLocked(c, placement{load: l, class: c.class, known: c.outbound})
	} else {
		ls.moveLocked(c, placement{})
	}
}

// classify counts an accepted connection as its class once bind has set
// it from the hello. Loop only (bind).
func (ls *loopLoads) classify(c *conn) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if c.placed.load != nil {
		ls.moveLocked(c, placement{load: c.placed.load, class: c.class, known: true})
	}
}

// closed stops counting c: it closed, or its registration failed.
func (ls *loopLoads) closed(c *conn) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.moveLocked(c, placement{})
}

// moveLocked uncounts c where it was counted and counts it at to (nowhere
// when to.load is nil).
func (ls *loopLoads) moveLocked(c *conn, to placement) {
	if from := c.placed; from.load != nil {
		from.load.count(from.class, from.known, -1)
	}
	if to.load != nil {
		to.load.count(to.class, to.known, 1)
	}
	c.placed = to
}

// less compares ranks lexicographically.
func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
