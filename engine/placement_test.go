package engine

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/panjf2000/gnet/v2"
)

// fakeLoop stands for an event loop in placement's bookkeeping.
type fakeLoop struct{ id int }

func (*fakeLoop) Register(context.Context, net.Addr) (<-chan gnet.RegisteredResult, error) {
	return nil, nil
}
func (*fakeLoop) Enroll(context.Context, net.Conn) (<-chan gnet.RegisteredResult, error) {
	return nil, nil
}
func (*fakeLoop) Execute(context.Context, gnet.Runnable) error { return nil }
func (*fakeLoop) Schedule(context.Context, gnet.Runnable, time.Duration) error {
	return nil
}
func (*fakeLoop) Close(gnet.Conn) error { return nil }

// place reserves c's loop by its class and adopts the reservation, as a
// lane dialed on its own does.
func place(ls *loopLoads, c *conn) gnet.EventLoop { return ls.adopt(c, ls.reserve(c.class)) }

func TestPlacementKeepsControlApart(t *testing.T) {
	C, B := Control, Bulk
	tests := []struct {
		name  string
		loops int
		dials []Class // in order
		want  []int   // the loop each lands on
	}{
		{"one peer, two loops", 2, []Class{C, B, B}, []int{0, 1, 1}},
		{"two peers, two loops", 2, []Class{C, B, B, C, B, B}, []int{0, 1, 1, 0, 1, 1}},
		{"bulk first, two loops", 2, []Class{B, B, C}, []int{0, 1, 0}}, // nothing left: the control lane shares the least
		{"one peer, three loops", 3, []Class{C, B, B}, []int{0, 1, 2}},
		{"two peers, three loops", 3, []Class{C, B, B, C, B, B}, []int{0, 1, 2, 0, 1, 2}},
		{"one loop", 1, []Class{C, B, B}, []int{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ls loopLoads
			loops := map[gnet.EventLoop]int{}
			for i := range tt.loops {
				el := &fakeLoop{id: i}
				loops[el] = i
				ls.addLoop(el)
			}
			conns := make([]*conn, len(tt.dials))
			for i, class := range tt.dials {
				conns[i] = &conn{outbound: true, class: class}
				if got := loops[place(&ls, conns[i])]; got != tt.want[i] {
					t.Errorf("dial %d (%v): loop %d, want %d", i, class, got, tt.want[i])
				}
			}
			for _, c := range conns {
				ls.closed(c)
			}
			assertNoLoad(t, &ls)
		})
	}
}

func TestPlacementCountsAcceptedConnections(t *testing.T) {
	var ls loopLoads
	el0, el1 := &fakeLoop{0}, &fakeLoop{1}
	ls.addLoop(el0)
	ls.addLoop(el1)
	in := &conn{} // accepted on loop 0, class unknown until its hello
	ls.opened(in, el0)
	if l := ls.loops[0]; l.unknown != 1 || l.total() != 1 {
		t.Fatalf("after open: %+v, want one unknown", *l)
	}
	in.class = Bulk // bind sets it from the hello
	ls.classify(in)
	if l := ls.loops[0]; l.bulk != 1 || l.unknown != 0 {
		t.Fatalf("after hello: %+v, want one bulk", *l)
	}
	// A control lane now avoids the loop serving the accepted bulk connection.
	out := &conn{outbound: true, class: Control}
	if el := place(&ls, out); el != el1 {
		t.Fatalf("control placed on loop %d, want 1", el.(*fakeLoop).id)
	}
	ls.opened(out, el1) // its loop opens it: counted once
	if l := ls.loops[1]; l.control != 1 || l.total() != 1 {
		t.Fatalf("after the dialed open: %+v, want one control", *l)
	}
	ls.closed(in)
	ls.closed(out)
	ls.closed(out) // OnClose after a failed registration's uncount: idempotent
	assertNoLoad(t, &ls)
}

// Connect reserves every lane's loop, control first, before any dial: the
// control lane keeps a loop of its own even when the bulk lanes' dials
// finish first (placing at registration put it beside a bulk lane then,
// the "bulk first" row above), and a failed dial's reservation is
// released.
func TestConnectReservesLoopsBeforeDialing(t *testing.T) {
	tr := &Transport{}
	loops := map[gnet.EventLoop]int{}
	for i := range 2 {
		el := &fakeLoop{id: i}
		loops[el] = i
		tr.loads.addLoop(el)
	}
	for _, pool := range []int{1, 2, 3} {
		var lanes []*lane // as addOutboundLanes makes them: bulk lanes, then control
		for i := range pool {
			lanes = append(lanes, &lane{class: Bulk, index: i})
		}
		lanes = append(lanes, &lane{class: Control})
		reserved := tr.reserveLanes(lanes)
		conns := make([]*conn, len(lanes))
		for i := range lanes { // the bulk dials finish first
			conns[i] = &conn{outbound: true, class: lanes[i].class}
			el := tr.loads.adopt(conns[i], reserved[i])
			if want := map[Class]int{Control: 0, Bulk: 1}[lanes[i].class]; loops[el] != want {
				t.Errorf("pool %d: %v lane %d on loop %d, want %d", pool, lanes[i].class, lanes[i].index, loops[el], want)
			}
		}
		for i, c := range conns {
			if i == 0 {
				tr.loads.closed(c) // its registration failed
				continue
			}
			tr.loads.opened(c, c.placed.load.el) // its loop opens it: counted once
		}
		tr.loads.release(tr.loads.reserve(Bulk)) // a dial that failed before any connection
		if l := tr.loads.loops[1]; l.bulk != pool-1 || l.total() != pool-1 {
			t.Errorf("pool %d: loop 1 counts %+v, want %d bulk", pool, *l, pool-1)
		}
		for _, c := range conns {
			tr.loads.closed(c)
		}
		assertNoLoad(t, &tr.loads)
	}
}

func assertNoLoad(t *testing.T, ls *loopLoads) {
	t.Helper()
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for i, l := range ls.loops {
		if l.total() != 0 {
			t.Errorf("loop %d still counts %+v after every connection closed", i, *l)
		}
	}
}

// laneLoop is the loop serving lane l's connection.
func laneLoop(t *testing.T, l *lane) gnet.EventLoop {
	t.Helper()
	c := l.conn.Load()
	if c == nil {
		t.Fatalf("%v lane %d has no connection", l.class, l.index)
	}
	return c.sock.(gnet.Conn).EventLoop()
}

// A peer's control lane must not share an event loop with its bulk lanes:
// a loop busy with bulk data makes a heartbeat wait for its bulk callbacks.
// gnet's own balancer put all three lanes on one loop about half the time.
func TestConnectPlacesControlLaneApart(t *testing.T) {
	for round := range 5 {
		a := startTransport(t, devConfig("a"))
		b := startTransport(t, devConfig("b"))
		connect(t, a, b)
		var control gnet.EventLoop
		var bulk []gnet.EventLoop
		for _, l := range a.peer("b").lanes.Members() {
			if !l.outbound {
				continue
			}
			if l.class == Control {
				control = laneLoop(t, l)
			} else {
				bulk = append(bulk, laneLoop(t, l))
			}
		}
		if len(bulk) != a.cfg.PoolSize || control == nil {
			t.Fatalf("round %d: %d bulk lanes and control %v, want %d and one", round, len(bulk), control, a.cfg.PoolSize)
		}
		for i, el := range bulk {
			if el == control {
				t.Errorf("round %d: bulk lane %d shares the control lane's loop", round, i)
			}
		}
		// The listener counts what it accepted by class once the hellos came.
		waitFor(t, 5*time.Second, func() bool {
			c, bk, unknown := loadTotals(b)
			return c == 1 && bk == a.cfg.PoolSize && unknown == 0
		})
		_ = a.Close()
		waitFor(t, 5*time.Second, func() bool {
			c, bk, unknown := loadTotals(b)
			return c+bk+unknown == 0
		})
		_ = b.Close()
	}
}

// loadTotals sums tr's loop loads.
func loadTotals(tr *Transport) (control, bulk, unknown int) {
	tr.loads.mu.Lock()
	defer tr.loads.mu.Unlock()
	for _, l := range tr.loads.loops {
		control, bulk, unknown = control+l.control, bulk+l.bulk, unknown+l.unknown
	}
	return control, bulk, unknown
}
