// Command cluster runs a three-node cluster on loopback, in Strict mode
// (mutual TLS with certificates made at start-up): a leader replicates a
// log of a bounded number of entries to two followers on the bulk class,
// on one ordered stream, while it sends heartbeats on the control class,
// which never wait behind the entries and are dropped rather than
// delivered late. The followers apply the entries in order and acknowledge
// them; the leader commits an entry once a majority (itself and one
// follower) holds it. It prints a summary and exits 0.
//
//	go run ./examples/cluster
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/examples/internal/devpki"
	"github.com/tensorchain/transport/tlsstate"
)

// The cluster and its workload.
const (
	leaderID          = "n1"
	entries           = 1000                  // the log replicated
	entrySize         = 1 << 10               // bytes per entry
	batch             = 100                   // entries per append, at most one append per heartbeat interval
	heartbeatInterval = 10 * time.Millisecond // a leader's heartbeat period
	// heartbeatTTL is how long a heartbeat is worth sending: a later one
	// supersedes it, and a follower reached that late would have started
	// an election anyway.
	heartbeatTTL = 5 * heartbeatInterval
)

// followerIDs are the followers' node ids.
var followerIDs = []string{"n2", "n3"}

// main runs the cluster within 30 seconds.
func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err := run(ctx, os.Stdout)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

// run starts the three nodes, replicates the log, closes the nodes and
// prints the summary.
func run(ctx context.Context, out io.Writer) (err error) {
	certs, err := os.MkdirTemp("", "cluster-certs-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(certs)
	if err := devpki.Write(certs, append([]string{leaderID}, followerIDs...)...); err != nil {
		return err
	}

	var (
		nodes     []*engine.Transport
		followers []*follower
		wg        sync.WaitGroup // the followers' receive loops
	)
	// stop closes every node, which ends the followers' loops (their Recv
	// returns ErrClosed), and waits for them. It runs once replication is
	// done, or on the way out of an error.
	stop := func() error {
		var errs error
		for _, t := range nodes {
			errs = errors.Join(errs, t.Close())
		}
		nodes = nil
		wg.Wait()
		return errs
	}
	defer func() { err = errors.Join(err, stop()) }()

	var peers []engine.PeerConfig
	for _, id := range followerIDs {
		t, err := startNode(ctx, id, certs)
		if err != nil {
			return err
		}
		nodes = append(nodes, t)
		f := &follower{id: id, t: t, leader: leaderID}
		followers = append(followers, f)
		wg.Go(func() { f.serve(ctx) })
		peers = append(peers, engine.PeerConfig{NodeID: id, Address: t.Addr().String()})
	}
	lt, err := startNode(ctx, leaderID, certs)
	if err != nil {
		return err
	}
	nodes = append(nodes, lt)
	fmt.Fprintf(out, "leader %s, followers %s and %s: strict mode, mutual TLS\n", leaderID, followerIDs[0], followerIDs[1])

	l := newLeader(lt, followerIDs)
	began := time.Now()
	if err := l.replicate(ctx, peers); err != nil {
		return fmt.Errorf("leader: %w", err)
	}
	elapsed := time.Since(began)
	stats := lt.Stats()
	if err := stop(); err != nil {
		return err
	}
	for _, f := range followers {
		if f.err != nil {
			return fmt.Errorf("follower %s: %w", f.id, f.err)
		}
	}
	summarize(out, l, stats, followers, elapsed)
	return nil
}

// startNode starts node id in Strict mode, quietly (warnings only).
func startNode(ctx context.Context, id, certs string) (*engine.Transport, error) {
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.TLS = tlsstate.NewSecureConfig(
		filepath.Join(certs, id+".pem"), filepath.Join(certs, id+".key"), filepath.Join(certs, "ca.pem"))
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// The default outbound limit (bursts of 100, 50 messages a second per
	// peer) is below a leader's steady rate: a heartbeat and an append per
	// interval. Allow twice that rate, so that the limit still stops a
	// runaway sender.
	perSecond := float64(time.Second / heartbeatInterval)
	cfg.RateLimit = engine.RateLimitConfig{Enabled: true, BucketSize: 100, RefillRate: 4 * perSecond}
	t, err := engine.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", id, err)
	}
	if err := t.Start(ctx); err != nil {
		return nil, fmt.Errorf("node %s: %w", id, err)
	}
	return t, nil
}

// summarize prints what each node did; stats are the leader's.
func summarize(out io.Writer, l *leader, stats engine.Stats, followers []*follower, elapsed time.Duration) {
	for _, f := range followers {
		median, largest := f.heartbeatDelays()
		fmt.Fprintf(out, "%s: applied entries 1..%d in order; %d heartbeats, received %v after their sending (median; at most %v)\n",
			f.id, f.applied, len(f.delays), median.Round(time.Microsecond), largest.Round(time.Microsecond))
	}
	fmt.Fprintf(out, "%s: committed %d entries (%d KiB to each follower) in %v; %d heartbeats sent to each follower, %d expired unsent\n",
		leaderID, l.commit, entries*entrySize>>10, elapsed.Round(time.Millisecond), l.heartbeats, stats.MessagesExpired)
}
