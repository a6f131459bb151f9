package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tensorchain/transport/config"
	"github.com/tensorchain/transport/engine"
)

// Exit statuses.
const (
	exitOK      = 0 // stopped by a signal (ctx), after a graceful close
	exitFailure = 1 // the transport could not start (e.g. the port is taken)
	exitUsage   = 2 // bad flags, bad configuration, unusable certificates
)

// run is the whole program: it parses args, sets the Go memory limit from
// memory_budget (applyMemoryLimit), starts the transport and serves
// until ctx ends (main cancels it on SIGINT or SIGTERM), then closes the
// transport, flushing queued messages. Received messages go to stdout,
// lines of stdin are broadcast, logs and stats go to stderr. It returns the
// exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	settings, err := config.ParseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stderr)
		return exitOK
	}
	if err != nil {
		report(stderr, err)
		fmt.Fprintln(stderr, "tcnode: run 'tcnode -h' for usage")
		return exitUsage
	}
	errw := &lockedWriter{w: stderr}
	log := slog.New(slog.NewTextHandler(errw, &slog.HandlerOptions{Level: settings.LogLevel}))
	cfg := settings.Engine
	cfg.Logger = log
	applyMemoryLimit(cfg.MemoryBudget, os.Getenv, log)
	t, err := engine.New(cfg)
	if err != nil {
		report(stderr, err)
		return exitUsage
	}
	if err := t.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return exitOK
		}
		report(stderr, err)
		return exitFailure
	}
	n := &node{t: t, log: log.With("node", cfg.NodeID), peers: settings.Peers,
		statsInterval: settings.StatsInterval, maxLine: cfg.MaxMessageSize}
	n.log.Info("tcnode listening", "addr", t.Addr().String(),
		"security_mode", cfg.SecurityMode.String(), "peers", len(n.peers))
	n.serve(ctx, stdin, stdout, errw)
	return exitOK
}

// report prints err on stderr, one "tcnode: " line per line of its text.
func report(stderr io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		fmt.Fprintf(stderr, "tcnode: %s\n", line)
	}
}

// node is a running tcnode.
type node struct {
	t             *engine.Transport
	log           *slog.Logger
	peers         []engine.PeerConfig // connected to at start
	statsInterval time.Duration       // 0: no stats
	maxLine       int                 // the longest line of stdin sent
}

// serve connects to the peers and runs the receive, stdin and stats loops
// until ctx ends, then closes the transport and waits for the loops (except
// the stdin reader, which may be blocked in a read nobody can interrupt; it
// stops at its next line).
func (n *node) serve(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) {
	var wg sync.WaitGroup
	connected := n.connectAll(ctx, &wg)
	wg.Go(func() { n.printMessages(stdout) })
	wg.Go(func() { n.printStats(ctx, stderr) })
	go func() {
		<-connected
		n.broadcastLines(ctx, stdin)
	}()
	<-ctx.Done()
	n.log.Info("tcnode shutting down: closing the transport (flushing queued messages)")
	_ = n.t.Close()
	wg.Wait()
	n.log.Info("tcnode stopped")
}

// connectAll connects to every peer concurrently and returns a channel
// closed when every first attempt has ended. A peer that cannot be reached
// yet is logged; the engine keeps redialing it in the background and queues
// what is sent to it meanwhile.
func (n *node) connectAll(ctx context.Context, wg *sync.WaitGroup) <-chan struct{} {
	var attempts sync.WaitGroup
	for _, p := range n.peers {
		attempts.Go(func() { n.connect(ctx, p) })
	}
	done := make(chan struct{})
	wg.Go(func() {
		attempts.Wait()
		close(done)
	})
	return done
}

// connect makes the first connection attempt to one peer.
func (n *node) connect(ctx context.Context, p engine.PeerConfig) {
	err := n.t.Connect(ctx, p)
	switch {
	case err == nil:
		n.log.Info("connected", "peer", p.NodeID, "addr", p.Address)
	case errors.Is(err, engine.ErrInvalidConfig):
		n.log.Error("cannot connect: bad peer", "peer", p.NodeID, "addr", p.Address, "err", err)
	case ctx.Err() == nil:
		n.log.Warn("peer not reachable yet; retrying in the background", "peer", p.NodeID, "addr", p.Address, "err", err)
	}
}

// printMessages writes every received message to stdout, one line each,
// until the transport is closed and drained.
func (n *node) printMessages(stdout io.Writer) {
	var line []byte
	for {
		msg, err := n.t.Recv(context.Background())
		if err != nil {
			if !errors.Is(err, engine.ErrClosed) {
				n.log.Error("recv", "err", err)
			}
			return
		}
		line = appendMessage(line[:0], msg.From, msg.Payload)
		msg.Release()
		if _, err := stdout.Write(line); err != nil {
			n.log.Error("stdout", "err", err)
		}
	}
}

// broadcastLines sends each line of stdin to every peer. At the end of
// stdin the node keeps running (only a signal stops it).
func (n *node) broadcastLines(ctx context.Context, stdin io.Reader) {
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 64<<10), n.maxLine+1)
	for sc.Scan() {
		if ctx.Err() != nil {
			return
		}
		if len(n.t.Peers()) == 0 {
			n.log.Warn("no peers: line not sent")
			continue
		}
		if err := n.t.Broadcast(ctx, sc.Bytes()); err != nil {
			if ctx.Err() != nil || errors.Is(err, engine.ErrClosed) {
				return
			}
			n.log.Warn("broadcast: line not sent to every peer", "err", err)
		}
	}
	if err := sc.Err(); err != nil {
		n.log.Error("stdin: stopped reading", "err", err)
		return
	}
	n.log.Info("stdin closed; still running until SIGINT or SIGTERM")
}
