package hashicorpraft

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// clusterConfig varies a test cluster.
type clusterConfig struct {
	tls          bool     // Strict mode: mTLS with node-id verification
	fileSnaps    bool     // snapshots on disk (t.TempDir) rather than in memory
	trailingLogs uint64   // 0: raft's default
	opts         []Option // adapter options of every node
}

// node is one server of a test cluster. Its stores outlive restarts; its
// FSM does not (a restarted process starts empty and catches up).
type node struct {
	id    raft.ServerID
	addr  raft.ServerAddress // fixed by the first start: a restart listens there again
	raft  *raft.Raft         // nil while stopped
	trans *Transport
	fsm   *testFSM
	store *raft.InmemStore // log and stable store
	snaps raft.SnapshotStore
}

// cluster is a raft cluster over the adapter on loopback.
type cluster struct {
	t     *testing.T
	cfg   clusterConfig
	ca    *testCA
	log   *testLog
	nodes []*node
	moves int // times an operation found leadership moved under it
}

// pipelinesOpened counts the pipelines the running nodes' transports have
// opened: whether raft replicated through AppendEntriesPipeline at all.
func (c *cluster) pipelinesOpened() uint64 {
	var n uint64
	for _, nd := range c.running() {
		nd.trans.pipes.mu.Lock()
		n += nd.trans.pipes.nextID // ids are handed out from 1, one per pipeline
		nd.trans.pipes.mu.Unlock()
	}
	return n
}

// checkPipelines fails the test unless raft used the pipeline exactly
// when it was turned on.
func (c *cluster) checkPipelines(pipelined bool) {
	c.t.Helper()
	if n := c.pipelinesOpened(); (n > 0) != pipelined {
		c.t.Fatalf("%d pipelines opened, with pipelining on: %v", n, pipelined)
	}
}

// newCluster starts n bootstrapped voters and waits for a leader.
func newCluster(t *testing.T, n int, cfg clusterConfig) *cluster {
	t.Helper()
	c := &cluster{t: t, cfg: cfg, log: newTestLog(t)}
	if cfg.tls {
		c.ca = newTestCA(t)
	}
	t.Cleanup(c.shutdown)
	var conf raft.Configuration
	for i := range n {
		nd := c.addNode(fmt.Sprintf("node%d", i+1))
		c.startTransport(nd)
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: nd.id, Address: nd.addr})
	}
	for _, nd := range c.nodes {
		c.startRaft(nd, &conf)
	}
	c.leader()
	return c
}

// addNode adds a stopped node with empty stores.
func (c *cluster) addNode(id string) *node {
	nd := &node{id: raft.ServerID(id), store: raft.NewInmemStore()}
	if c.cfg.fileSnaps {
		snaps, err := raft.NewFileSnapshotStore(c.t.TempDir(), 1, c.log)
		if err != nil {
			c.t.Fatal(err)
		}
		nd.snaps = snaps
	} else {
		nd.snaps = raft.NewInmemSnapshotStore()
	}
	c.nodes = append(c.nodes, nd)
	return nd
}

// startTransport starts nd's adapter, on its old address after a restart.
func (c *cluster) startTransport(nd *node) {
	c.t.Helper()
	addr := "127.0.0.1:0"
	if nd.addr != "" {
		addr = string(nd.addr)
	}
	opts := append([]Option{WithLogger(hclogger("adapter-"+string(nd.id), c.log))}, c.cfg.opts...)
	tr, err := New(engineConfig(c.t, string(nd.id), addr, c.ca, c.log), opts...)
	if err != nil {
		c.t.Fatalf("transport for %s: %v", nd.id, err)
	}
	nd.trans, nd.addr = tr, tr.LocalAddr()
}

// raftConfig is fast: elections in a few hundred milliseconds, commits
// every few, snapshots only when a test asks. The lease is as long as
// raft allows (the heartbeat timeout): the whole cluster shares one
// process, and on a loaded 2-core machine under the race detector a
// 100 ms lease is missed for want of CPU.
func (c *cluster) raftConfig(id raft.ServerID) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.HeartbeatTimeout = 200 * time.Millisecond
	conf.ElectionTimeout = 200 * time.Millisecond
	conf.LeaderLeaseTimeout = 200 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.MaxAppendEntries = 256
	conf.SnapshotInterval = time.Hour
	conf.SnapshotThreshold = 1 << 40
	if c.cfg.trailingLogs > 0 {
		conf.TrailingLogs = c.cfg.trailingLogs
	}
	conf.Logger = hclogger("raft-"+string(id), c.log)
	return conf
}

// startRaft starts raft on nd with a fresh FSM, bootstrapping it first
// with conf when given.
func (c *cluster) startRaft(nd *node, conf *raft.Configuration) {
	c.t.Helper()
	rc := c.raftConfig(nd.id)
	if conf != nil {
		if err := raft.BootstrapCluster(rc, nd.store, nd.store, nd.snaps, nd.trans, *conf); err != nil {
			c.t.Fatalf("bootstrap %s: %v", nd.id, err)
		}
	}
	nd.fsm = newTestFSM()
	r, err := raft.NewRaft(rc, nd.fsm, nd.store, nd.store, nd.snaps, nd.trans)
	if err != nil {
		c.t.Fatalf("raft for %s: %v", nd.id, err)
	}
	nd.raft = r
}

// stop shuts nd down as a crash would leave it: raft stopped, its
// transport closed (raft's Shutdown closes it), its stores kept.
func (c *cluster) stop(nd *node) {
	c.t.Helper()
	if nd.raft != nil {
		if err := nd.raft.Shutdown().Error(); err != nil {
			c.t.Errorf("shutdown %s: %v", nd.id, err)
		}
		nd.raft = nil
	}
	if nd.trans != nil {
		_ = nd.trans.Close() // already closed by Shutdown: idempotent
		nd.trans = nil
	}
}

// restart starts a stopped node again, on its address, with its stores.
func (c *cluster) restart(nd *node) {
	c.t.Helper()
	c.startTransport(nd)
	c.startRaft(nd, nil)
}

func (c *cluster) shutdown() {
	for _, nd := range c.nodes {
		c.stop(nd)
	}
}

// running lists the nodes that are up.
func (c *cluster) running() []*node {
	var out []*node
	for _, nd := range c.nodes {
		if nd.raft != nil && nd.raft.State() != raft.Shutdown {
			out = append(out, nd)
		}
	}
	return out
}

// leader waits for a running node to lead.
func (c *cluster) leader() *node {
	c.t.Helper()
	var l *node
	waitFor(c.t, 10*time.Second, "a leader", func() bool {
		for _, nd := range c.running() {
			if nd.raft.State() == raft.Leader {
				l = nd
				return true
			}
		}
		return false
	})
	return l
}

// onLeader runs op on the leader until it succeeds, again on whichever
// node leads next each time leadership moves under it (the test fails on
// any other error, or after 30 s). It returns the node op succeeded on.
func (c *cluster) onLeader(what string, op func(l *node) error) *node {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		l := c.leader()
		err := op(l)
		if err == nil {
			return l
		}
		if !leadershipMoved(err) || time.Now().After(deadline) {
			c.t.Fatalf("%s on %s: %v", what, l.id, err)
		}
		c.moves++
		c.t.Logf("%s: leadership moved from %s (%v): again on the leader", what, l.id, err)
		time.Sleep(10 * time.Millisecond) // the next leader may be l again, re-elected
	}
}

// transferLeadership asks l to hand leadership over, again while raft
// cannot reach the chosen server (the follower restarted just before may
// still be reconnecting) or the transfer outlasts ElectionTimeout (catching
// that follower up first takes longer under -race on two cores). raft
// reports both only as text. Once leadership has moved, raft answers
// ErrNotLeader, which the caller handles.
func transferLeadership(l *node) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := l.raft.LeadershipTransfer().Error()
		if err == nil || !transferRetryable(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// transferRetryable reports whether a leadership transfer failed for a
// reason that passes: an unreachable target or a transfer that timed out.
func transferRetryable(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "failed to make TimeoutNow RPC") || strings.Contains(msg, "leadership transfer timeout")
}

// leadershipMoved reports whether err says the node stopped leading.
func leadershipMoved(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress)
}

// apply commits opAdd commands with ids [from, from+n), batch at a time
// in flight, through the leader. Commands whose leader lost leadership
// before they committed are applied again through the next one, as a
// client would: they may then be in the log twice, which the FSM's
// distinct count sees through.
func (c *cluster) apply(from, n, batch uint64) {
	c.t.Helper()
	futures := make([]raft.ApplyFuture, 0, batch)
	var pending []uint64
	for next, end := from, from+n; next < end; {
		pending = pending[:0]
		for ; next < end && uint64(len(pending)) < batch; next++ {
			pending = append(pending, next)
		}
		c.onLeader("apply", func(l *node) error {
			futures = futures[:0]
			for _, id := range pending {
				futures = append(futures, l.raft.Apply(command(opAdd, id), 10*time.Second))
			}
			var failed []uint64
			var firstErr error
			for i, f := range futures {
				if err := f.Error(); err != nil {
					if !leadershipMoved(err) {
						return err
					}
					failed, firstErr = append(failed, pending[i]), cmp.Or(firstErr, err)
				}
			}
			pending = append(pending[:0], failed...)
			return firstErr
		})
	}
}

// converged waits until every running member's FSM has what the
// leader's has once a barrier shows it applied all it committed, and
// returns that.
func (c *cluster) converged() fsmState {
	c.t.Helper()
	l := c.onLeader("barrier", func(l *node) error { return l.raft.Barrier(10 * time.Second).Error() })
	want := l.fsm.state()
	members := servers(c.t, l)
	for _, nd := range c.running() {
		if _, ok := members[nd.id]; !ok {
			continue
		}
		waitFor(c.t, 30*time.Second, fmt.Sprintf("%s to apply what %s has (%+v)", nd.id, l.id, want), func() bool {
			got := nd.fsm.state()
			return got.Count == want.Count && got.Hash == want.Hash && got.BlobSum == want.BlobSum
		})
	}
	return want
}

// follower returns a running node that is not l.
func (c *cluster) follower(l *node) *node {
	for _, nd := range c.running() {
		if nd != l {
			return nd
		}
	}
	c.t.Fatal("no follower")
	return nil
}

// servers returns the IDs in l's latest configuration.
func servers(t *testing.T, l *node) map[raft.ServerID]raft.ServerSuffrage {
	t.Helper()
	f := l.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		t.Fatalf("configuration: %v", err)
	}
	out := make(map[raft.ServerID]raft.ServerSuffrage)
	for _, s := range f.Configuration().Servers {
		out[s.ID] = s.Suffrage
	}
	return out
}

// isShutdown reports whether err says the transport or raft shut down.
func isShutdown(err error) bool {
	return errors.Is(err, raft.ErrRaftShutdown) || errors.Is(err, raft.ErrTransportShutdown)
}

// waitFor is waitFor that, on a timeout, first logs what every running
// node's raft and engine report: enough to tell a stalled connection from
// a stalled raft after a failure seen once in CI.
func (c *cluster) waitFor(timeout time.Duration, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			c.report()
			c.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// report logs each running node's raft state and indexes, its engine's
// counters of trouble, and the state of its lanes to each peer.
func (c *cluster) report() {
	c.t.Helper()
	for _, nd := range c.running() {
		s := nd.raft.Stats()
		c.t.Logf("%s: raft %s term %s last log %s commit %s applied %s", nd.id, s["state"], s["term"], s["last_log_index"], s["commit_index"], s["applied_index"])
		st := nd.trans.Engine().Stats()
		c.t.Logf("%s: engine sent %d received %d, waiting for Recv %d, requests pending %d failed %d, recv stalls %d, io timeouts %d, dropped %d, unconfirmed %d, expired %d, protocol errors %d",
			nd.id, st.MessagesSent, st.MessagesReceived, st.RecvQueueDepth, st.RequestsPending, st.RequestsFailed, st.RecvStalls, st.IOTimeouts, st.MessagesDropped, st.MessagesUnconfirmed, st.MessagesExpired, st.ProtocolErrors)
		for _, p := range st.Peers {
			c.t.Logf("%s: peer %s %s conns %d sent %d received %d queued %d (%d B) rtt %v", nd.id, p.NodeID, p.State, p.Connections, p.MessagesSent, p.MessagesReceived, p.QueueDepth, p.QueuedBytes, p.RTT)
		}
		for _, p := range nd.trans.Engine().Peers() {
			c.t.Logf("%s: peer %s lanes %v, heard %v ago", nd.id, p.NodeID, p.Lanes, time.Since(p.LastHeard).Round(time.Millisecond))
		}
	}
}
