package hashicorpraft

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// Clusters of 3 and 5 voters, plaintext and mTLS, elect a leader (with
// pre-votes), replicate, and hand leadership over with TimeoutNow.
func TestElection(t *testing.T) {
	cases := []struct {
		name  string
		nodes int
		tls   bool
	}{
		{"3 nodes plaintext", 3, false},
		{"3 nodes mTLS", 3, true},
		{"5 nodes plaintext", 5, false},
		{"5 nodes mTLS", 5, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, tc.nodes, clusterConfig{tls: tc.tls})
			if got := len(servers(t, c.leader())); got != tc.nodes {
				t.Fatalf("%d servers in the configuration, want %d", got, tc.nodes)
			}
			c.apply(0, 500, 100)
			if s := c.converged(); s.Distinct != 500 {
				t.Fatalf("%d commands applied, want 500", s.Distinct)
			}

			old := c.onLeader("leadership transfer", transferLeadership)
			waitFor(t, 10*time.Second, "a new leader", func() bool { return c.leader() != old })
			if state := old.raft.State(); state == raft.Leader {
				t.Fatalf("%s still leads after the transfer", old.id)
			}
			c.apply(500, 500, 100)
			if s := c.converged(); s.Distinct != 1000 {
				t.Fatalf("%d commands applied, want 1000", s.Distinct)
			}
		})
	}
}
