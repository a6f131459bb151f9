package bench

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/tensorchain/transport/engine"
)

// quietLogger drops everything below errors (the Development-mode warning
// included): the harness prints its own table.
var quietLogger = slog.New(slog.DiscardHandler)

// engineNode is a node backed by an engine.Transport.
type engineNode struct {
	t      *engine.Transport
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// engineConfig is the engine configuration for a spec: loopback, no rate
// limit, compression as asked, Strict mTLS or Development plaintext.
func engineConfig(s nodeSpec) (engine.Config, error) {
	cfg := engine.NewConfig(s.id, "127.0.0.1:0")
	cfg.PoolSize = s.opts.PoolSize
	cfg.EventLoops = s.opts.EventLoops
	if s.loops > 0 {
		cfg.EventLoops = s.loops
	}
	cfg.RateLimit.Enabled = false
	cfg.Compression.Enabled = s.opts.LZ4
	cfg.Reconnect.Enabled = false
	cfg.CloseTimeout = 2 * time.Second
	cfg.Logger = quietLogger
	// Every connection of a run comes from 127.0.0.1, and conns holds
	// thousands at once: the per-address and total limits must admit them.
	cfg.MaxInboundConnections = max(cfg.MaxInboundConnections, 2*s.opts.Conns+64)
	cfg.MaxConnectionsPerAddress = cfg.MaxInboundConnections
	// Each established connection reserves ConnMemoryReserve of the budget
	// (accounting, not allocation): 512 MiB admits about 2,000 of them, and
	// scale holds 10,000. The budget grows with what the run holds.
	cfg.MemoryBudget = max(cfg.MemoryBudget, 2*int64(cfg.MaxInboundConnections)*int64(cfg.ConnMemoryReserve))
	if s.pki == nil {
		cfg.SecurityMode = engine.Development
		return cfg, nil
	}
	tc, err := s.pki.engineTLS(s.id)
	if tc != nil {
		tc.RecordLayer = s.opts.TLSRecords
	}
	cfg.TLS = tc
	return cfg, err
}

func startEngineNode(s nodeSpec) (node, error) {
	cfg, err := engineConfig(s)
	if err != nil {
		return nil, err
	}
	if s.deliver != nil && s.opts.Deliver == "handler" {
		cfg.Handler = s.deliver
	}
	t, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	startCtx, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	if err := t.Start(startCtx); err != nil {
		cancel()
		return nil, err
	}
	n := &engineNode{t: t, cancel: cancel}
	if s.deliver != nil && cfg.Handler == nil && !s.pull {
		n.wg.Add(1)
		if s.batch > 1 {
			go n.consumeBatches(ctx, s.deliver, s.batch)
		} else {
			go n.consume(ctx, s.deliver)
		}
	}
	return n, nil
}

// consume drains the Recv ring into deliver until the node closes.
func (n *engineNode) consume(ctx context.Context, deliver func(string, []byte)) {
	defer n.wg.Done()
	for {
		m, err := n.t.Recv(ctx)
		if err != nil {
			return
		}
		deliver(m.From, m.Payload)
		m.Release()
	}
}

// consumeBatches is consume with RecvBatch, batch messages at a time.
func (n *engineNode) consumeBatches(ctx context.Context, deliver func(string, []byte), batch int) {
	defer n.wg.Done()
	msgs := make([]engine.Message, batch)
	for {
		k, err := n.t.RecvBatch(ctx, msgs)
		if err != nil {
			return
		}
		for i := range msgs[:k] {
			deliver(msgs[i].From, msgs[i].Payload)
			msgs[i].Release()
		}
	}
}

func (n *engineNode) recv(ctx context.Context) error {
	m, err := n.t.Recv(ctx)
	m.Release()
	return err
}

func (n *engineNode) addr() string { return n.t.Addr().String() }

func (n *engineNode) connect(ctx context.Context, id, addr string) error {
	return n.t.Connect(ctx, engine.PeerConfig{NodeID: id, Address: addr})
}

func (n *engineNode) send(ctx context.Context, to string, p []byte) error {
	return n.t.Send(ctx, to, p)
}

func (n *engineNode) trySend(to string, p []byte) error { return n.t.TrySend(to, p) }

func (n *engineNode) sendBatch(ctx context.Context, to string, payloads [][]byte) error {
	_, err := n.t.SendBatch(ctx, to, payloads, engine.SendOptions{})
	return err
}

// controlClass sends on the peer's control connection.
var controlClass = engine.SendOptions{Class: engine.Control}

func (n *engineNode) sendControl(ctx context.Context, to string, p []byte) error {
	return n.t.SendWith(ctx, to, p, controlClass)
}

func (n *engineNode) trySendControl(to string, p []byte) error {
	return n.t.TrySendWith(to, p, controlClass)
}

func (n *engineNode) connCount() int { return n.t.Stats().ConnectionCount }

func (n *engineNode) bytesQueued() (uint64, uint64) {
	st := n.t.Stats()
	return st.PayloadBytesQueued, st.WireBytesQueued
}

func (n *engineNode) close() {
	_ = n.t.Close()
	n.cancel()
	n.wg.Wait()
}
