package hashicorpraft

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// AddVoter brings a fourth server in, which catches up and votes;
// RemoveServer takes one out, which then gets no more entries.
func TestMembershipChanges(t *testing.T) {
	c := newCluster(t, 3, clusterConfig{})
	c.apply(0, 300, 100)

	n4 := c.addNode("node4")
	c.startTransport(n4)
	c.startRaft(n4, nil) // not bootstrapped: it waits to be added
	c.onLeader("add voter", func(l *node) error { return l.raft.AddVoter(n4.id, n4.addr, 0, 10*time.Second).Error() })
	if got := servers(t, c.leader()); len(got) != 4 || got[n4.id] != raft.Voter {
		t.Fatalf("configuration after AddVoter: %v", got)
	}
	c.apply(300, 300, 100)
	if s := c.converged(); n4.fsm.state().Distinct != 600 || s.Distinct != 600 {
		t.Fatalf("new voter applied %d of %d", n4.fsm.state().Distinct, s.Distinct)
	}

	var gone *node // one of the founders, not leading
	for _, nd := range c.running() {
		if nd != n4 && nd.raft.State() != raft.Leader {
			gone = nd
		}
	}
	c.onLeader("remove server", func(l *node) error { return l.raft.RemoveServer(gone.id, 0, 10*time.Second).Error() })
	if got := servers(t, c.leader()); len(got) != 3 || contains(got, gone.id) {
		t.Fatalf("configuration after RemoveServer(%s): %v", gone.id, got)
	}
	before := gone.fsm.state().Count // raft stops replicating to it (it is not told: ShutdownOnRemove is for a leader)
	for _, nd := range c.running() {
		if nd == gone {
			continue
		}
		if err := nd.trans.Disconnect(gone.id); err != nil && !errors.Is(err, engine.ErrPeerNotFound) {
			t.Fatalf("disconnect the removed server: %v", err)
		}
	}
	c.apply(600, 300, 100)
	s := c.converged()
	if s.Distinct != 900 {
		t.Fatalf("%d commands applied, want 900", s.Distinct)
	}
	c.stop(gone)
	if got := gone.fsm.state().Count; got != before || got >= s.Count {
		t.Fatalf("removed server applied %d commands (%d at removal, cluster %d)", got, before, s.Count)
	}
}

func contains(m map[raft.ServerID]raft.ServerSuffrage, id raft.ServerID) bool {
	_, ok := m[id]
	return ok
}
