package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/internal/childproc"
)

// transportFactory makes one node's raft transport listening on loopback.
type transportFactory struct {
	name    string
	make    func(id raft.ServerID) (raft.Transport, error)
	connect func(all []raft.Transport) // nil: the transports dial each other
}

// countingFSM applies commands by counting them: the benchmark measures
// the transport and raft, not a state machine.
type countingFSM struct{ applied atomic.Uint64 }

func (f *countingFSM) Apply(*raft.Log) any { f.applied.Add(1); return nil }

func (f *countingFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }

func (f *countingFSM) Restore(rc io.ReadCloser) error { return rc.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (nopSnapshot) Release()                             {}

// cluster is a running raft cluster of in-memory nodes.
type cluster struct {
	rafts    []*raft.Raft
	trans    []*timedTransport
	closer   []func()
	children []*childproc.Child // followers in processes of their own (-procs)
}

// startCluster starts n nodes over transports from f and waits for a
// leader. With procs, only the first node runs in this process and the
// others in processes of their own (procs.go); it is the leader.
func startCluster(f transportFactory, n int, procs bool) (*cluster, error) {
	c := &cluster{}
	var servers []raft.Server
	local := n
	if procs {
		local = 1
	}
	for i := range n {
		id := raft.ServerID(fmt.Sprintf("n%d", i+1))
		if i >= local {
			ch, addr, err := startFollower(f.name, id)
			if err != nil {
				c.shutdown()
				return nil, err
			}
			c.children = append(c.children, ch)
			servers = append(servers, raft.Server{ID: id, Address: addr})
			continue
		}
		tr, err := f.make(id)
		if err != nil {
			c.shutdown()
			return nil, err
		}
		tt := &timedTransport{Transport: tr}
		c.trans = append(c.trans, tt)
		servers = append(servers, raft.Server{ID: id, Address: tr.LocalAddr()})
	}
	if f.connect != nil {
		all := make([]raft.Transport, len(c.trans))
		for i, tt := range c.trans {
			all[i] = tt.Transport
		}
		f.connect(all)
	}
	for i, tt := range c.trans {
		store := raft.NewInmemStore()
		r, err := raft.NewRaft(nodeConfig(servers[i].ID), &countingFSM{}, store, store, raft.NewInmemSnapshotStore(), tt)
		if err != nil {
			c.shutdown()
			return nil, err
		}
		c.rafts = append(c.rafts, r)
	}
	if err := c.rafts[0].BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		c.shutdown()
		return nil, err
	}
	if _, err := c.leader(10 * time.Second); err != nil {
		c.shutdown()
		return nil, err
	}
	return c, nil
}

// leader waits for a leader and returns it.
func (c *cluster) leader(within time.Duration) (*raft.Raft, error) {
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, r := range c.rafts {
			if r.State() == raft.Leader {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("no leader within %v", within)
}

// leaderTransport is the timed transport of the leader r.
func (c *cluster) leaderTransport(r *raft.Raft) *timedTransport {
	for i, x := range c.rafts {
		if x == r {
			return c.trans[i]
		}
	}
	return nil
}

func (c *cluster) shutdown() {
	for _, r := range c.rafts {
		_ = r.Shutdown().Error()
	}
	for _, ch := range c.children {
		ch.Stop()
	}
	for _, t := range c.trans {
		if wc, ok := t.Transport.(raft.WithClose); ok {
			_ = wc.Close()
		}
	}
}

// timedTransport records the round trips of the heartbeats its node sends
// (AppendEntries without entries, as raft's heartbeat loop sends them)
// while recording is on.
type timedTransport struct {
	raft.Transport
	mu        sync.Mutex
	recording bool
	samples   []time.Duration
}

func (t *timedTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if len(args.Entries) > 0 {
		return t.Transport.AppendEntries(id, target, args, resp)
	}
	start := time.Now()
	err := t.Transport.AppendEntries(id, target, args, resp)
	if d := time.Since(start); err == nil {
		t.mu.Lock()
		if t.recording {
			t.samples = append(t.samples, d)
		}
		t.mu.Unlock()
	}
	return err
}

// record turns sample collection on or off; off returns what was taken.
func (t *timedTransport) record(on bool) []time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.recording = on
	s := t.samples
	if !on {
		t.samples = nil
	}
	return s
}

// RequestPreVote keeps pre-vote on when the wrapped transport has it.
func (t *timedTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	pv, ok := t.Transport.(raft.WithPreVote)
	if !ok {
		return fmt.Errorf("%T has no pre-vote", t.Transport)
	}
	return pv.RequestPreVote(id, target, args, resp)
}
