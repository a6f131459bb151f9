package engine

import (
	"context"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// Doorbells: waking an event loop without allocating.
//
// gnet's Conn.Wake allocates twice (a closure and its task-queue node), and
// the engine wakes a loop whenever another goroutine hands it work: Send
// on an idle connection, a partial direct write, credit due, a tick. That
// was the last allocation per message at 1 MiB (about one wake per two
// messages) and most of the 64 B path's. A doorbell is a Unix socket pair
// per loop: the read end is one of the loop's gnet connections, the write
// end stays with the transport. A waker pushes its connection onto the
// bell's lock-free list and writes one byte, unless a byte is already on
// its way; the loop's callback for the bell drains the bytes and serves
// every listed connection as gnet's Wake would have. The system calls are
// those of gnet's own wake-up (a write by the waker; the loop's read of the
// bell stands for its read of the eventfd), and nothing is allocated.
//
// Every loop gets its bell at Start: the bells are registered one at a
// time, so gnet's least-connections choice puts one on each loop. A loop
// that still has none when a connection opens on it (a connection
// accepted during Start took a bell's place) gets one then. Until a
// loop's bell is open, and after it closes, its wakes use gnet's Wake.

// doorbell wakes one event loop.
type doorbell struct {
	w     *os.File             // the write end: os.File makes a write after Close fail instead of hitting a reused descriptor
	rung  atomic.Bool          // a byte is on its way to the loop
	head  atomic.Pointer[conn] // connections to serve, a Treiber stack through conn.bellNext
	open  atomic.Bool          // the loop has opened the read end: wakes may use it
	sock  gnet.Conn            // the read end, once open: set before open, by the loop
	rings atomic.Uint64        // bytes written (tests)
	one   [1]byte
}

// bellSlot holds a loop's doorbell once the loop has opened it.
type bellSlot struct {
	bell  atomic.Pointer[doorbell]
	asked bool // under bells.mu: a bell was enrolled on this loop for a connection (bellFor)
}

// bells are the transport's doorbells, by loop.
type bells struct {
	mu     sync.Mutex
	byLoop map[gnet.EventLoop]*bellSlot
	all    []*doorbell // every bell made: Close closes their write ends
}

// slot returns el's slot, creating it. Under mu.
func (bs *bells) slot(el gnet.EventLoop) *bellSlot {
	if bs.byLoop == nil {
		bs.byLoop = make(map[gnet.EventLoop]*bellSlot)
	}
	s, ok := bs.byLoop[el]
	if !ok {
		s = &bellSlot{}
		bs.byLoop[el] = s
	}
	return s
}

// installBells registers one bell per loop and waits until each is open,
// or until ctx ends. At Start, before any dial.
func (t *Transport) installBells(ctx context.Context) {
	for range t.cfg.EventLoops {
		opened, err := t.installBell(func(ctx context.Context, nc net.Conn) (<-chan gnet.RegisteredResult, error) {
			return t.eng.Register(gnet.NewNetConnContext(ctx, nc))
		})
		if err != nil {
			t.log.Warn("no doorbell for an event loop: its wakes use gnet's", "err", err)
			return
		}
		select {
		case <-opened:
		case <-ctx.Done():
			return
		}
	}
}

// bellFor returns the doorbell slot of the loop gc lives on, and gives the
// loop a bell if it has none and none is on its way. Loop only (OnOpen).
func (t *Transport) bellFor(gc gnet.Conn) *bellSlot {
	el := gc.EventLoop()
	if el == nil {
		return nil
	}
	t.bells.mu.Lock()
	s := t.bells.slot(el)
	ask := s.bell.Load() == nil && !s.asked
	s.asked = s.asked || ask
	t.bells.mu.Unlock()
	if ask {
		if _, err := t.installBell(el.Enroll); err != nil {
			t.log.Warn("no doorbell for an event loop: its wakes use gnet's", "err", err)
		}
	}
	return s
}

// adoptBell puts an opened bell in its loop's slot, and reports false if
// the loop has one already (the bell is then surplus). Loop only.
func (t *Transport) adoptBell(gc gnet.Conn, b *doorbell) bool {
	t.bells.mu.Lock()
	defer t.bells.mu.Unlock()
	b.sock = gc
	if !t.bells.slot(gc.EventLoop()).bell.CompareAndSwap(nil, b) {
		return false
	}
	b.open.Store(true)
	t.loads.addLoop(gc.EventLoop()) // a loop known to placement has a bell: one per loop
	return true
}

// ring asks the loop to serve c, and reports whether a bell took the
// request (false: use gnet's Wake). Safe from any goroutine.
func (s *bellSlot) ring(c *conn) bool {
	b := s.bell.Load()
	return b != nil && b.ring(c)
}

// installBell creates a bell and hands its read end to a loop with
// enroll. The returned channel is closed once the loop has taken it;
// until then Close keeps the loops running (close.go, waitRegistrations).
func (t *Transport) installBell(enroll func(context.Context, net.Conn) (<-chan gnet.RegisteredResult, error)) (<-chan struct{}, error) {
	if !t.beginRegistration() {
		return nil, ErrClosed
	}
	ch, err := t.enrollBell(enroll)
	if err != nil {
		t.registering.Add(-1)
		return nil, err
	}
	opened := make(chan struct{})
	go func() { // one per bell, until its loop has taken it
		defer close(opened)
		defer t.registering.Add(-1)
		if res := <-ch; res.Err != nil {
			t.log.Warn("doorbell not registered: the loop's wakes use gnet's", "err", res.Err)
		}
	}()
	return opened, nil
}

// enrollBell creates the socket pair and enrolls its read end.
func (t *Transport) enrollBell(enroll func(context.Context, net.Conn) (<-chan gnet.RegisteredResult, error)) (<-chan gnet.RegisteredResult, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("doorbell: socketpair: %w", err)
	}
	b := &doorbell{w: os.NewFile(uintptr(fds[0]), "doorbell"), one: [1]byte{1}}
	rf := os.NewFile(uintptr(fds[1]), "doorbell-read")
	nc, err := net.FileConn(rf) // a dup: rf is no longer needed
	_ = rf.Close()
	if err == nil {
		var ch <-chan gnet.RegisteredResult
		if ch, err = enroll(gnet.NewContext(context.Background(), b), nc); err == nil {
			t.bells.mu.Lock()
			t.bells.all = append(t.bells.all, b)
			t.bells.mu.Unlock()
			return ch, nil // gnet dups nc and closes it
		}
		_ = nc.Close()
	}
	_ = b.w.Close()
	return nil, fmt.Errorf("doorbell: %w", err)
}

// closeBells closes every bell's write end, once the loops have stopped.
func (t *Transport) closeBells() {
	t.bells.mu.Lock()
	defer t.bells.mu.Unlock()
	for _, b := range t.bells.all {
		b.open.Store(false)
		_ = b.w.Close()
	}
}

// ring lists c on the bell and rings it, and reports whether the bell
// took the request. Safe from any goroutine.
func (b *doorbell) ring(c *conn) bool {
	if !b.open.Load() {
		return false
	}
	if c.inBell.CompareAndSwap(false, true) {
		for {
			h := b.head.Load()
			c.bellNext = h
			if b.head.CompareAndSwap(h, c) {
				break
			}
		}
	} // else c is listed and not yet served: the pass to come serves it
	if !b.open.Load() {
		return false // closed after the push, perhaps after its last pass
	}
	if !b.rung.Load() && b.rung.CompareAndSwap(false, true) {
		b.rings.Add(1)
		if _, err := b.w.Write(b.one[:]); err != nil {
			b.rung.Store(false)
			return false // closed: the transport is stopping; c is also woken the old way
		}
	}
	return true
}

// onBellTraffic serves the connections listed on the bell. Loop only.
func (h *eventHandler) onBellTraffic(gc gnet.Conn, b *doorbell) gnet.Action {
	_, _ = gc.Discard(-1)
	b.rung.Store(false) // before taking the list: a ring after the swap writes again
	b.takeListed(func(c *conn) {
		if h.serve(c) == gnet.Close && !c.closed() {
			if s, ok := c.sock.(gnet.Conn); ok {
				_ = s.EventLoop().Close(s)
			}
		}
	})
	return gnet.None
}

// takeListed empties the bell's list and hands each connection to fn,
// after unlisting it: a wake during fn lists it again.
func (b *doorbell) takeListed(fn func(*conn)) {
	for c := b.head.Swap(nil); c != nil; {
		next := c.bellNext
		c.bellNext = nil
		c.inBell.Store(false)
		fn(c)
		c = next
	}
}

// onBellClose hands the connections still listed to gnet's Wake: a bell
// closes only when the loops stop, but no wake is dropped meanwhile.
func (b *doorbell) onBellClose() {
	b.open.Store(false)
	b.takeListed(func(c *conn) {
		if s := c.sock; s != nil && !c.closed() {
			_ = s.Wake(nil)
		}
	})
}
