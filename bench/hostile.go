package bench

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/engine"
)

// The hostile scenario: for each attack class, a fresh node under attack
// (its own process), a legitimate peer pinging it before and during the
// attack, and a fresh legitimate connection opened mid-attack. It reports
// the legitimate round trips (p50, p99, how many took over a second),
// the fresh connection's set-up time, the node's peak resident memory
// against its budget, and its descriptors once the attack is over.

// hostileRSSSlack is the memory the node under attack may hold beyond its
// budget: the Go runtime, gnet's read buffers, TLS state, inbox rings and
// structures of up to MaxInboundConnections connections.
const hostileRSSSlack = 96 << 20

// pingTimeout is how long a legitimate round trip may take before it
// counts as lost.
const pingTimeout = time.Second

// hostileConfig is how one attack is run.
type hostileConfig struct {
	exe    string        // the binary that runs the node under attack
	pki    *pki          // Strict mode when set, Development otherwise
	budget int64         // the node's MemoryBudget
	window time.Duration // how long the legitimate peer pings, before and during the attack
	warm   time.Duration // how long the attack runs before the measurement
}

// hostile runs every attack against its own node.
func hostile(o Options, p *pki) ([]Result, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raiseFDLimit()
	hc := hostileConfig{exe: exe, pki: p, budget: o.HostileBudget, window: max(o.Duration, time.Second), warm: 500 * time.Millisecond}
	var out []Result
	for _, a := range attacks {
		if len(o.Attacks) > 0 && !slices.Contains(o.Attacks, a.name) {
			continue
		}
		r, err := runAttack(a, hc)
		if err != nil {
			return out, fmt.Errorf("%s: %w", a.name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// runAttack measures one attack against a fresh node.
func runAttack(a attack, hc hostileConfig) (Result, error) {
	r := Result{Scenario: ScenarioHostile, Case: a.name, Impl: engineImpl.name, BudgetBytes: hc.budget}
	spec := hostileSpec{Budget: hc.budget, Broadcast: a.broadcast}
	if hc.pki != nil {
		if _, err := hc.pki.issue(targetID); err != nil {
			return r, err
		}
		spec.PKIDir = hc.pki.dir
	}
	node, err := startHostileNode(hc.exe, spec)
	if err != nil {
		return r, err
	}
	defer node.Stop()
	at, err := newAttackTarget(node.addr, hc.pki)
	if err != nil {
		return r, err
	}
	legit, err := startLegit("legit", node.addr, hc.pki)
	if err != nil {
		return r, err
	}
	defer legit.Close()
	before, lostBefore := pingFor(legit, hc.window)
	fdsBefore, err := node.fds()
	if err != nil {
		return r, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	attackDone := make(chan error, 1)
	go func() { attackDone <- a.run(ctx, at) }()
	time.Sleep(hc.warm)
	fresh := make(chan freshResult, 1)
	go func() {
		time.Sleep(hc.window / 2)
		fresh <- connectFresh(node.addr, hc.pki)
	}()
	during, lostDuring := pingFor(legit, hc.window)
	f := <-fresh
	st, statsErr := node.stats()
	_, peak, memErr := node.memory()
	cancel()
	<-attackDone
	if statsErr != nil {
		return r, fmt.Errorf("the node under attack stopped serving: %w", statsErr)
	}
	if memErr != nil {
		return r, memErr
	}
	if f.err != nil {
		return r, fmt.Errorf("fresh legitimate connection during the attack: %w", f.err)
	}
	slices.Sort(before)
	slices.Sort(during)
	r.BaseP50, r.BaseP99 = percentile(before, 0.50), percentile(before, 0.99)
	r.P50, r.P99, r.P999 = percentile(during, 0.50), percentile(during, 0.99), percentile(during, 0.999)
	r.Messages = uint64(len(during))
	r.LostRoundTrips = lostBefore + lostDuring
	r.FreshConnect = f.took
	r.PeakRSSBytes = peak
	r.Defences = defences(st)
	r.FDsLeft = waitFDs(node, fdsBefore, 10*time.Second) - fdsBefore
	return r, nil
}

// newAttackTarget prepares the attackers' identities and first messages.
func newAttackTarget(addr string, p *pki) (*attackTarget, error) {
	at := &attackTarget{addr: addr, maxMessage: engine.NewConfig("x", addr).MaxMessageSize}
	at.hello = codec.AppendHello(nil, codec.Hello{Version: codec.ProtocolVersion, MaxMessage: 1 << 20, Window: 1 << 20, Incarnation: 1, NodeID: attackerID(0)})
	if p == nil {
		return at, nil
	}
	for i := range attackIDs {
		tc, err := p.baselineTLS(attackerID(i))
		if err != nil {
			return nil, err
		}
		tc.ServerName = targetID
		at.tls = append(at.tls, tc)
	}
	ch, err := clientHelloOf(at.tls[0])
	if err != nil {
		return nil, err
	}
	at.hello = ch
	return at, nil
}

// clientHelloOf is the first flight of a TLS client with tc.
func clientHelloOf(tc *tls.Config) ([]byte, error) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() { _ = tls.Client(a, tc).Handshake() }()
	buf := make([]byte, 16<<10)
	_ = b.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := b.Read(buf)
	return buf[:n], err
}

// legitConfig is a well-behaved peer's configuration.
func legitConfig(id string, p *pki) (engine.Config, error) {
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.RateLimit.Enabled = false
	cfg.Logger = quietLogger
	cfg.SecurityMode = engine.Development
	if p != nil {
		cfg.SecurityMode = engine.Strict
		tc, err := p.engineTLS(id)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = tc
	}
	return cfg, nil
}

// startLegit starts a legitimate peer connected to the node at addr.
func startLegit(id, addr string, p *pki) (*engine.Transport, error) {
	cfg, err := legitConfig(id, p)
	if err != nil {
		return nil, err
	}
	t, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.Start(ctx); err != nil {
		return nil, err
	}
	if err := t.Connect(ctx, engine.PeerConfig{NodeID: targetID, Address: addr}); err != nil {
		_ = t.Close()
		return nil, err
	}
	return t, nil
}

type freshResult struct {
	took time.Duration
	err  error
}

// connectFresh times a new legitimate peer's Connect.
func connectFresh(addr string, p *pki) freshResult {
	cfg, err := legitConfig(fmt.Sprintf("fresh-%d", time.Now().UnixNano()), p)
	if err != nil {
		return freshResult{err: err}
	}
	t, err := engine.New(cfg)
	if err != nil {
		return freshResult{err: err}
	}
	defer t.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ConnectTimeout)
	defer cancel()
	if err := t.Start(ctx); err != nil {
		return freshResult{err: err}
	}
	start := time.Now()
	err = t.Connect(ctx, engine.PeerConfig{NodeID: targetID, Address: addr})
	return freshResult{took: time.Since(start), err: err}
}

// pingFor sends a ping every 10 ms for d and waits for each echo, for at
// most pingTimeout: it returns the round trips and how many were lost.
func pingFor(t *engine.Transport, d time.Duration) (rtts []time.Duration, lost int) {
	var p [64]byte
	copy(p[:], echoPrefix)
	end := time.Now().Add(d)
	for seq := uint64(1); time.Now().Before(end); seq++ {
		binary.BigEndian.PutUint64(p[len(echoPrefix):], seq)
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		if rtt, ok := ping(ctx, t, p[:], seq); ok {
			rtts = append(rtts, rtt)
		} else {
			lost++
		}
		cancel()
		time.Sleep(max(0, 10*time.Millisecond-time.Since(start)))
	}
	return rtts, lost
}

// ping sends one ping and waits for its own echo (late echoes of earlier
// pings and the node's broadcasts are skipped).
func ping(ctx context.Context, t *engine.Transport, p []byte, seq uint64) (time.Duration, bool) {
	start := time.Now()
	if err := t.Send(ctx, targetID, p); err != nil {
		return 0, false
	}
	for {
		m, err := t.Recv(ctx)
		if err != nil {
			return 0, false
		}
		ok := len(m.Payload) == len(p) && string(m.Payload[:len(echoPrefix)]) == echoPrefix &&
			binary.BigEndian.Uint64(m.Payload[len(echoPrefix):]) == seq
		m.Release()
		if ok {
			return time.Since(start), true
		}
	}
}

// waitFDs waits until the node's descriptors are back to base (or d
// passes) and returns the count.
func waitFDs(n *hostileNode, base int, d time.Duration) int {
	end := time.Now().Add(d)
	for {
		got, err := n.fds()
		if err != nil || got <= base || time.Now().After(end) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// defences summarises what the node refused or cut during the attack.
func defences(st engine.Stats) string {
	var parts []string
	add := func(name string, n uint64) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", name, n))
		}
	}
	keys := make([]string, 0, len(st.ConnectionsRefused))
	for k := range st.ConnectionsRefused {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add("refused:"+k, st.ConnectionsRefused[k])
	}
	add("memory_cuts", st.MemoryCuts)
	add("memory_stalls", st.MemoryStalls)
	add("protocol_errors", st.ProtocolErrors)
	add("idle_timeouts", st.HandshakeIdleTimeouts)
	add("evicted", st.HandshakesEvicted)
	add("handshake_timeouts", st.HandshakeFailures["timeout"])
	add("duplicate_ids", st.HandshakeFailures["duplicate_node_id"])
	add("recv_stalls", st.RecvStalls)
	add("queue_full", st.QueueFull)
	return strings.Join(parts, " ")
}
