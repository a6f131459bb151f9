package hashicorpraft

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// After Shutdown and Close, a cluster leaves no goroutine and no file
// descriptor behind: not the adapter's, not raft's, not the engine's.
func TestNoLeaks(t *testing.T) {
	exercise := func(t *testing.T, opts []Option, pipelined bool) {
		c := newCluster(t, 3, clusterConfig{tls: true, opts: opts})
		c.apply(0, 2000, 500)
		c.checkPipelines(pipelined)
		f := c.follower(c.leader())
		c.stop(f)
		c.apply(2000, 200, 100)
		c.restart(f)
		c.converged()
		c.onLeader("leadership transfer", transferLeadership) // TimeoutNow, elections
		c.apply(2200, 200, 100)
		c.converged()
		c.shutdown()
	}
	// A first round starts what lives for the process (the runtime's, the
	// test framework's, the engine's pools): only what a second round
	// leaves counts, and it must leave nothing.
	both := func(t *testing.T) {
		for _, tc := range replicationModes {
			t.Run(tc.name, func(t *testing.T) { exercise(t, tc.opts, tc.pipelined) })
		}
	}
	t.Run("warm-up", both)
	goroutines, fds := steady(t)
	t.Run("measured", both)
	settle(t, goroutines, fds)
	t.Logf("%d goroutines and %d open fds before and after", goroutines, fds)
}

// steady returns the goroutine and open-fd counts once they have held
// still for half a second (what a shutdown leaves exits in the meantime).
func steady(t *testing.T) (goroutines, fds int) {
	t.Helper()
	still := 0
	for deadline := time.Now().Add(10 * time.Second); still < 10 && time.Now().Before(deadline); still++ {
		g, _ := liveGoroutines()
		f := openFDs(t)
		if g != goroutines || f != fds {
			goroutines, fds, still = g, f, 0
		}
		time.Sleep(50 * time.Millisecond)
	}
	return goroutines, fds
}

// settle waits for the goroutine and open-fd counts to fall back to the
// given ones; it fails the test, with the goroutines' stacks, if they do
// not within 10 s.
func settle(t *testing.T, goroutines, fds int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g, stacks := liveGoroutines()
		f := openFDs(t)
		if g <= goroutines && f <= fds {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines (was %d) and %d open fds (was %d) after shutdown:\nfds: %s\n%s", g, goroutines, f, fds, describeFDs(), stacks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// liveGoroutines counts the goroutines and returns their stacks, leaving
// out gnet's process-wide worker pool (panjf2000/ants), whose idle workers
// outlive every transport until they expire on the pool's own schedule;
// a worker still registering a connection with a loop is no idle one.
func liveGoroutines() (int, string) {
	buf := make([]byte, 4<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var n int
	var kept []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "github.com/panjf2000/ants/") && !strings.Contains(g, "gnet/v2.(*eventloop).enroll") {
			continue
		}
		n++
		kept = append(kept, g)
	}
	return n, strings.Join(kept, "\n\n")
}

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open fds: %v", err)
	}
	return len(ents)
}

// describeFDs names this process's open file descriptors and what each
// refers to (a socket's inode, a pipe, a file), for a failure message.
func describeFDs() string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			target = err.Error()
		}
		out = append(out, e.Name()+" -> "+target+socketLine(target))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// socketLine finds a socket's line in /proc/net/{tcp,tcp6,unix} (its
// addresses, state and queues), or returns "" for anything else.
func socketLine(target string) string {
	inode, ok := strings.CutPrefix(target, "socket:[")
	if !ok {
		return ""
	}
	inode = strings.TrimSuffix(inode, "]")
	for _, table := range []string{"tcp", "tcp6", "unix"} {
		b, err := os.ReadFile("/proc/net/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if slices.Contains(strings.Fields(line), inode) {
				return " (" + table + ": " + strings.Join(strings.Fields(line), " ") + ")"
			}
		}
	}
	return ""
}
