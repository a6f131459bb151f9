package engine

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestKeepaliveOnEverySocket reads the socket options of established
// connections, inbound and outbound.
func TestKeepaliveOnEverySocket(t *testing.T) {
	acfg := devConfig("a")
	acfg.KeepaliveInterval = 7 * time.Second
	bcfg := devConfig("b")
	bcfg.KeepaliveInterval = 7 * time.Second
	a := startTransport(t, acfg)
	b := startTransport(t, bcfg)
	connect(t, a, b)
	waitFor(t, 2*time.Second, func() bool { return b.Stats().ConnectionCount == acfg.PoolSize+1 }) // + the control connection
	check := func(tr *Transport, outbound bool) {
		n := 0
		for _, c := range tr.snapshotConns() {
			if c.outbound != outbound || !c.established() {
				continue
			}
			n++
			fd := c.sock.Fd()
			on, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE)
			if err != nil || on != 1 {
				t.Errorf("%s conn %d (outbound=%v): SO_KEEPALIVE = %d, %v", tr.cfg.NodeID, c.id, outbound, on, err)
			}
			idle, _ := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE)
			if idle != 7 {
				t.Errorf("%s conn %d (outbound=%v): TCP_KEEPIDLE = %d s, want 7", tr.cfg.NodeID, c.id, outbound, idle)
			}
		}
		if want := acfg.PoolSize + 1; n != want { // + the control connection
			t.Fatalf("%s: %d established connections with outbound=%v, want %d", tr.cfg.NodeID, n, outbound, want)
		}
	}
	check(a, true)
	check(b, false)
}
