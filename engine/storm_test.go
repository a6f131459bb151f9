package engine

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestFullMeshRestartStormLedger keeps eight goroutines sending small
// messages to a peer that is connected both ways (each node dialed the
// other, pool 2: the sender holds two outbound and two inbound lanes to it)
// while the peer's process is killed with SIGKILL and restarted, again and
// again. Every message a Send returned nil for must afterwards be accounted
// for: reported received by some incarnation of the peer, or counted by the
// sender as unconfirmed or dropped. None may arrive twice, and once the
// mesh is back the sender's queue must drain to empty.
//
// Regression: enqueue picked a lane and appended to it without re-checking,
// while retireInboundLaneLocked detached that (dead inbound) lane and moved
// its queue elsewhere. A frame appended in between stayed on the detached
// lane forever: never written, never counted dropped, the queue depth stuck
// above zero with every lane active and idle, and Close waiting out its
// whole CloseTimeout.
func TestFullMeshRestartStormLedger(t *testing.T) {
	const (
		restarts = 30
		senders  = 8
		size     = 64
	)
	ln := blackholeFreePort(t)
	var mu sync.Mutex
	seen := map[uint64]int{} // sequence number -> times reported received
	record := func(n uint64) { mu.Lock(); seen[n]++; mu.Unlock() }
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }

	acfg := devConfig("a")
	acfg.PoolSize = 2
	acfg.Reconnect.InitialBackoff = 20 * time.Millisecond
	acfg.Reconnect.MaxBackoff = 200 * time.Millisecond
	a := startTransport(t, acfg)
	startPeer := func() (*exec.Cmd, <-chan struct{}) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childPeerEnv+"=a@"+a.Addr().String())
		return startChildProc(t, cmd, ln, record)
	}
	child, eof := startPeer() // it dials a before it reports ready
	defer func() {
		if child != nil {
			_ = child.Process.Kill()
			<-eof
			_ = child.Wait()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := a.Connect(ctx, PeerConfig{NodeID: "child", Address: ln}); err != nil {
		t.Fatal(err)
	}
	// meshUp: two outbound and two inbound connections established.
	meshUp := func() bool {
		ps := a.Peers()
		return len(ps) == 1 && ps[0].Connections >= 4
	}
	waitMesh := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); !meshUp(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the full mesh did not come up: peers %+v", what, a.Peers())
			}
		}
	}
	waitMesh("start")

	var next atomic.Uint64
	var stop atomic.Bool
	accepted := make([][]uint64, senders)
	sendErrs := make([]int, senders)
	var lastErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, size)
			for !stop.Load() {
				seq := next.Add(1)
				binary.BigEndian.PutUint64(p, seq)
				if err := a.Send(ctx, "child", p); err != nil {
					sendErrs[g]++
					lastErr.Store(&err)
					time.Sleep(time.Millisecond)
					continue
				}
				accepted[g] = append(accepted[g], seq)
			}
		}()
	}
	defer func() { stop.Store(true); cancel(); wg.Wait() }()
	stopSenders := func() {
		stop.Store(true)
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cancel() // a Send blocked on a full queue that never drains
			<-done
		}
	}

	start := time.Now()
	for i := range restarts {
		// Let the current incarnation take traffic on all four lanes.
		base := received()
		for deadline := time.Now().Add(15 * time.Second); received() < base+300 || !meshUp(); time.Sleep(2 * time.Millisecond) {
			if time.Now().After(deadline) {
				stopSenders()
				t.Fatalf("restart %d: the mesh did not come back or no traffic reached the peer (received %d, was %d): peers %+v stats %+v",
					i, received(), base, a.Peers(), a.Stats())
			}
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-eof // everything the dead incarnation reported has been read
		_ = child.Wait()
		child, eof = startPeer()
	}
	waitMesh("after the storm")
	stopSenders()
	stormTook := time.Since(start)

	total, errs := 0, 0
	for g := range senders {
		total += len(accepted[g])
		errs += sendErrs[g]
	}
	if total == 0 {
		t.Fatal("no Send succeeded")
	}
	// With the mesh up and the senders stopped, the queue must drain.
	queueDepth := func() int64 {
		for _, ps := range a.Stats().Peers {
			if ps.NodeID == "child" {
				return ps.QueueDepth
			}
		}
		return -1
	}
	for deadline := time.Now().Add(5 * time.Second); queueDepth() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			st := a.Stats()
			t.Fatalf("%d sends accepted over %d restarts (%v), yet %d messages stay queued for the peer with the mesh up "+
				"and idle (lanes %v): never written, never counted dropped (dropped %d, unconfirmed %d)",
				total, restarts, stormTook.Round(time.Millisecond), queueDepth(), a.Peers()[0].Lanes,
				st.MessagesDropped, st.MessagesUnconfirmed)
		}
	}
	// Everything is written: let the last incarnation report it.
	unaccounted := func() int {
		st := a.Stats()
		mu.Lock()
		defer mu.Unlock()
		lost := 0
		for _, acc := range accepted {
			for _, seq := range acc {
				if seen[seq] == 0 {
					lost++
				}
			}
		}
		return lost - int(st.MessagesUnconfirmed+st.MessagesDropped)
	}
	for deadline := time.Now().Add(10 * time.Second); unaccounted() > 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	closeStart := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	closeTook := time.Since(closeStart)
	_ = child.Process.Signal(syscall.SIGTERM)
	<-eof
	_ = child.Wait()
	child = nil

	st := a.Stats()
	mu.Lock()
	defer mu.Unlock()
	lost, dups := 0, 0
	for _, acc := range accepted {
		for _, seq := range acc {
			if seen[seq] == 0 {
				lost++
			}
		}
	}
	for _, c := range seen {
		if c > 1 {
			dups++
		}
	}
	var errText string
	if err := lastErr.Load(); err != nil {
		errText = fmt.Sprintf(" (last: %v)", *err)
	}
	t.Logf("%d restarts in %v: %d sends accepted, %d failed%s; %d reported received, %d lost in flight; "+
		"sender counted %d unconfirmed, %d dropped, %d reconnect attempts; Close took %v",
		restarts, stormTook.Round(time.Millisecond), total, errs, errText, len(seen), lost,
		st.MessagesUnconfirmed, st.MessagesDropped, st.ReconnectAttempts, closeTook.Round(time.Millisecond))
	if dups > 0 {
		// The transport never resends a written frame: a duplicate is a bug.
		t.Errorf("%d messages reported received more than once", dups)
	}
	if uint64(lost) > st.MessagesUnconfirmed+st.MessagesDropped {
		t.Errorf("%d accepted messages never arrived, but the sender counted only %d unconfirmed and %d dropped",
			lost, st.MessagesUnconfirmed, st.MessagesDropped)
	}
	if closeTook >= 3*time.Second {
		t.Errorf("Close took %v with nothing queued and the peer healthy", closeTook.Round(time.Millisecond))
	}
}
