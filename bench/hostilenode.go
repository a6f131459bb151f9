package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/trace"
	"syscall"
	"time"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// The node under attack runs in a process of its own, so that its memory
// and descriptors can be read from /proc without the attackers' and the
// legitimate peer's: the hostile scenario re-runs the tcbench binary (the
// hostile test suite, a tcbench it builds) with hostileEnv set.

const hostileEnv = "TCBENCH_HOSTILE_NODE"

// hostileTraceEnv, when set to a path, makes the node under attack write a
// runtime/trace there (go tool trace), to see where a legitimate peer's
// round trips wait.
const hostileTraceEnv = "TCBENCH_HOSTILE_TRACE"

// targetID is the node id of the node under attack.
const targetID = "target"

// echoPrefix marks the legitimate peer's pings, which the node echoes.
const echoPrefix = "ping"

// hostileSpec configures the node under attack (JSON in hostileEnv).
type hostileSpec struct {
	PKIDir string `json:"pki_dir,omitempty"` // Strict mTLS with target's certificate from here; empty: Development
	Budget int64  `json:"budget"`            // engine.Config.MemoryBudget
	// Broadcast, when not 0, makes the node Broadcast a message of this
	// many bytes every 50 ms (the stuck-peer attack).
	Broadcast int `json:"broadcast,omitempty"`
}

// runHostileNode serves as the node under attack until stdin ends: it
// echoes the pings of legitimate peers, reads everything else as an
// application would (touching every byte), answers "stats" on stdin with
// its Stats as one JSON line, and prints "addr ADDR" once it listens.
func runHostileNode(specJSON string, stdin io.Reader, stdout io.Writer) error {
	var spec hostileSpec
	if err := json.Unmarshal([]byte(specJSON), &spec); err != nil {
		return fmt.Errorf("bad %s: %w", hostileEnv, err)
	}
	raiseFDLimit()
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(spec.Budget + 64<<20) // the GC keeps the heap near what the budget admits
	}
	cfg := engine.NewConfig(targetID, "127.0.0.1:0")
	cfg.MemoryBudget = spec.Budget
	cfg.RateLimit.Enabled = false
	cfg.Logger = quietLogger
	cfg.SecurityMode = engine.Development
	if spec.PKIDir != "" {
		cfg.SecurityMode = engine.Strict
		cfg.TLS = tlsstate.NewSecureConfig(filepath.Join(spec.PKIDir, targetID+".pem"),
			filepath.Join(spec.PKIDir, targetID+".key"), filepath.Join(spec.PKIDir, "ca.pem"))
	}
	if path := os.Getenv(hostileTraceEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	t, err := engine.New(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := t.Start(ctx); err != nil {
		return err
	}
	defer t.Close()
	go echo(ctx, t)
	if spec.Broadcast > 0 {
		go broadcastEvery(ctx, t, spec.Broadcast, 50*time.Millisecond)
	}
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "addr %s\n", t.Addr())
	out.Flush()
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		if sc.Text() == "stats" {
			b, _ := json.Marshal(t.Stats())
			fmt.Fprintf(out, "stats %s\n", b)
			out.Flush()
		}
	}
	return nil
}

// echo returns every legitimate ping to its sender, on its class, and
// reads every other message through.
func echo(ctx context.Context, t *engine.Transport) {
	var sum byte
	for {
		m, err := t.Recv(ctx)
		if err != nil {
			return
		}
		if bytes.HasPrefix(m.Payload, []byte(echoPrefix)) {
			_ = t.TrySendWith(m.From, m.Payload, engine.SendOptions{Class: m.Class})
		} else {
			for _, b := range m.Payload { // what an application does with what it receives
				sum += b
			}
		}
		m.Release()
	}
}

func broadcastEvery(ctx context.Context, t *engine.Transport, size int, every time.Duration) {
	payload := make([]byte, size)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = t.Broadcast(ctx, payload) // full peers are reported, never waited for
		}
	}
}

// hostileNode is the parent's handle on a node under attack.
type hostileNode struct {
	*child
	addr string
}

// startHostileNode runs exe as the node under attack.
func startHostileNode(exe string, spec hostileSpec) (*hostileNode, error) {
	js, _ := json.Marshal(spec)
	ch, err := startChild(exe, hostileEnv+"="+string(js), os.Stderr)
	if err != nil {
		return nil, err
	}
	n := &hostileNode{child: ch}
	line, err := n.Line("addr ")
	if err != nil {
		n.Stop()
		return nil, fmt.Errorf("node under attack: %w", err)
	}
	n.addr = line
	return n, nil
}

// stats asks the node for its Stats; an error means it is not serving.
func (n *hostileNode) stats() (engine.Stats, error) {
	var st engine.Stats
	if _, err := io.WriteString(n.Stdin, "stats\n"); err != nil {
		return st, err
	}
	line, err := n.Line("stats ")
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal([]byte(line), &st)
}

// memory reads the node's resident set now and at its peak, in bytes.
func (n *hostileNode) memory() (rss, peak int64, err error) { return peakMemory(n.Pid()) }

// fds counts the node's open file descriptors.
func (n *hostileNode) fds() (int, error) {
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", n.Pid()))
	return len(ents), err
}

// raiseFDLimit lifts the soft limit on open files to the hard one: the
// attacks hold thousands of connections, on both sides.
func raiseFDLimit() {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
}
