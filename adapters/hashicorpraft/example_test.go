package hashicorpraft_test

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/adapters/hashicorpraft"
	"github.com/tensorchain/transport/engine"
)

// A single-node raft cluster over the engine: it bootstraps, becomes
// leader and applies a command. A real cluster gives every node its own
// engine config (Strict mode, its certificate) and bootstraps them with
// every server's ID and LocalAddr. Plaintext (Development) is for local
// testing only.
func Example() {
	// README:begin
	// Instead of raft.NewTCPTransport(bind, advertise, 3, 10*time.Second, os.Stderr):
	cfg := engine.NewConfig("node1", "127.0.0.1:0") // the engine's node id is the raft ServerID
	cfg.SecurityMode = engine.Development           // production: Strict, cfg.TLS = tlsstate.NewSecureConfig(cert, key, ca)
	cfg.RateLimit.Enabled = false                   // raft paces itself
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	trans, err := hashicorpraft.New(cfg, hashicorpraft.WithLogger(hclog.NewNullLogger()))
	if err != nil {
		log.Fatal(err)
	}
	// ... then raft.NewRaft(conf, fsm, logs, stable, snaps, trans); r.Shutdown() closes trans.
	// README:end

	conf := raft.DefaultConfig()
	conf.LocalID = "node1"
	conf.Logger = hclog.NewNullLogger()
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	bootstrap := raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: trans.LocalAddr()}}}
	if err := raft.BootstrapCluster(conf, store, store, snaps, trans, bootstrap); err != nil {
		log.Fatal(err)
	}
	fsm := &lastCommand{}
	r, err := raft.NewRaft(conf, fsm, store, store, snaps, trans)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = r.Shutdown().Error() }() // closes the transport too

	select { // a single voter elects itself
	case <-r.LeaderCh():
	case <-time.After(10 * time.Second):
		log.Fatal("no leader")
	}
	fmt.Println("leader:", r.State() == raft.Leader)
	if err := r.Apply([]byte("hello, raft"), time.Second).Error(); err != nil {
		log.Fatal(err)
	}
	fmt.Println("applied:", fsm.get())
	// Output:
	// leader: true
	// applied: hello, raft
}

// lastCommand is an FSM that remembers the last command applied.
type lastCommand struct {
	mu   sync.Mutex
	last string
}

func (f *lastCommand) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = string(l.Data)
	return nil
}

func (f *lastCommand) get() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *lastCommand) Snapshot() (raft.FSMSnapshot, error) { return nil, fmt.Errorf("not supported") }

func (f *lastCommand) Restore(io.ReadCloser) error { return fmt.Errorf("not supported") }
