package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/internal/childproc"
)

// The -procs mode: the leader in this process, each follower in a process
// of its own, as a cluster is deployed. A follower child is this program
// run with -follower: it makes its node over the named transport, prints
// its address, serves until its stdin closes, and exits. Followers never
// campaign (their election timeouts are long), so the parent's node, which
// bootstraps the cluster, is the leader.

// followerFlag marks a child: its value is "transport,id".
const followerFlag = "-follower"

// followerTimeout: a follower's heartbeat and election timeouts. Far above
// the leader's heartbeat interval, so it never campaigns.
const followerTimeout = 5 * time.Second

// runFollower is a child's whole life.
func runFollower(spec string, stdout, stderr io.Writer) int {
	name, id, ok := strings.Cut(spec, ",")
	var f *transportFactory
	for _, x := range factories(true, 0) { // a follower never leads here: the pipeline setting is the leader's
		if x.name == name {
			f = &x
		}
	}
	if !ok || f == nil {
		fmt.Fprintf(stderr, "raftbench: -follower %q: want transport,id\n", spec)
		return 2
	}
	tr, err := f.make(raft.ServerID(id))
	if err != nil {
		fmt.Fprintln(stderr, "raftbench: follower:", err)
		return 1
	}
	conf := nodeConfig(raft.ServerID(id))
	conf.HeartbeatTimeout, conf.ElectionTimeout = followerTimeout, followerTimeout
	store := raft.NewInmemStore()
	r, err := raft.NewRaft(conf, &countingFSM{}, store, store, raft.NewInmemSnapshotStore(), tr)
	if err != nil {
		fmt.Fprintln(stderr, "raftbench: follower:", err)
		return 1
	}
	fmt.Fprintln(stdout, tr.LocalAddr())
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it, or dies
	_ = r.Shutdown().Error()
	if wc, ok := tr.(raft.WithClose); ok {
		_ = wc.Close()
	}
	return 0
}

// startFollower starts a follower child over transport name and returns
// it with its node's address.
func startFollower(name string, id raft.ServerID) (*childproc.Child, raft.ServerAddress, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(exe, followerFlag, name+","+string(id))
	cmd.Stderr = os.Stderr
	c, err := childproc.Start(cmd)
	if err != nil {
		return nil, "", err
	}
	addr, err := c.Line("")
	if err != nil {
		c.Stop()
		return nil, "", fmt.Errorf("follower %s: no address: %w", id, err)
	}
	return c, raft.ServerAddress(strings.TrimSpace(addr)), nil
}

// nodeConfig is every node's raft configuration.
func nodeConfig(id raft.ServerID) *raft.Config {
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.Logger = hclog.New(&hclog.LoggerOptions{Level: hclog.Off, Output: io.Discard})
	conf.HeartbeatTimeout = 200 * time.Millisecond
	conf.ElectionTimeout = 200 * time.Millisecond
	conf.LeaderLeaseTimeout = 100 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.SnapshotThreshold = 1 << 40 // no snapshots during a measurement
	return conf
}
