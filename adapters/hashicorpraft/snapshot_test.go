package hashicorpraft

import (
	"testing"
	"time"
)

// A follower that falls behind a compacted log is brought back with
// InstallSnapshot: the FSM's 64 MiB blob streams to it and it restores
// from the snapshot.
func TestInstallSnapshot64MiB(t *testing.T) {
	theBlob(42) // made before the cluster runs
	c := newCluster(t, 3, clusterConfig{fileSnaps: true, trailingLogs: 10})
	c.apply(0, 100, 100)
	c.converged()

	f := c.follower(c.leader())
	c.stop(f)
	c.onLeader("apply the blob", func(l *node) error { return l.raft.Apply(command(opBlob, 42), 30*time.Second).Error() })
	c.apply(100, 500, 100)
	c.converged()
	for _, nd := range c.running() { // whichever leads has compacted its log past f
		if err := nd.raft.Snapshot().Error(); err != nil {
			t.Fatalf("snapshot on %s: %v", nd.id, err)
		}
	}
	c.apply(600, 50, 50) // entries after the snapshot, sent once it is installed

	start := time.Now()
	c.restart(f)
	s := c.converged()
	t.Logf("follower restored a %d MiB snapshot and caught up in %v", blobSize>>20, time.Since(start).Round(time.Millisecond))
	got := f.fsm.state()
	_, wantSum := theBlob(42)
	switch {
	case got.Restores < 1:
		t.Fatal("follower restored no snapshot")
	case got.BlobSum != s.BlobSum || s.BlobSum != wantSum:
		t.Fatalf("follower's blob %x differs from the leader's %x", got.BlobSum[:4], s.BlobSum[:4])
	case s.Distinct != 650 || got.Count != s.Count || got.Hash != s.Hash:
		t.Fatalf("follower has %+v, leader %+v", got, s)
	}
	if st := f.trans.Engine().Stats(); st.StreamsOpened == 0 {
		t.Fatalf("no stream reached the follower: %+v", st)
	}
}
