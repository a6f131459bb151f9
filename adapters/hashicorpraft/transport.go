package hashicorpraft

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// Transport is a raft.Transport over an engine.Transport. It also
// implements raft.WithPreVote and raft.WithClose. Create it with New; all
// methods are safe for concurrent use.
type Transport struct {
	eng   *engine.Transport
	opts  options
	log   hclog.Logger
	local raft.ServerAddress

	consumeCh chan raft.RPC
	heartbeat atomic.Pointer[func(raft.RPC)]

	peers peerSet
	pipes pipelineSet

	inbound  chan *call                  // bulk receive -> dispatch
	queued   atomic.Int32                // calls in inbound or in dispatch's hands (enqueue)
	control  chan *call                  // control receive -> its own dispatch (handOver)
	answers  [numAnswerQueues]chan *call // dispatch -> respond, by class
	ctx      context.Context             // cancelled by Close
	cancel   context.CancelFunc
	shutdown chan struct{} // closed by Close
	closed   atomic.Bool
	once     sync.Once
	closeErr error
	wg       sync.WaitGroup // the receive, dispatch and respond goroutines, two of each kind
}

// queueDepth bounds each queue between the transport's goroutines, in
// RPCs: what was received and waits for raft to take it, and what raft
// took and whose answer is awaited, per class. A full queue stops the
// receiving goroutine of its class, and the engine's flow control then
// holds the senders back.
const queueDepth = 256

// Answer queues: control-class RPCs are answered by a goroutine of their
// own, so a vote's answer never waits behind a blocked bulk reply.
const (
	answerBulk = iota
	answerControl
	numAnswerQueues
)

// startTimeout bounds how long New waits for the engine to listen.
const startTimeout = 10 * time.Second

// New creates an engine transport for cfg, starts it and returns the raft
// transport over it; Close (which raft calls on Shutdown) closes both.
// cfg.NodeID must be the node's raft ServerID, and its peers must know it
// by the address LocalAddr returns. cfg must not set Handler or
// MessageHandler: the adapter receives with RecvClass.
func New(cfg engine.Config, opts ...Option) (*Transport, error) {
	if cfg.Handler != nil || cfg.MessageHandler != nil {
		return nil, fmt.Errorf("hashicorpraft: %w: the engine config sets Handler or MessageHandler; the adapter needs Recv", ErrInvalidOption)
	}
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("hashicorpraft: %w", err)
	}
	if o.logger == nil {
		o.logger = hclog.New(&hclog.LoggerOptions{Name: "raft-engine", Level: hclog.DefaultLevel})
	}
	if o.advertise == "" && !advertisable(cfg.ListenAddr) {
		return nil, fmt.Errorf("hashicorpraft: %w: peers cannot dial the listen address %q: set WithAdvertise", ErrInvalidOption, cfg.ListenAddr)
	}
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("hashicorpraft: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := eng.Start(ctx); err != nil {
		_ = eng.Close()
		return nil, fmt.Errorf("hashicorpraft: %w", err)
	}
	return newTransport(eng, o), nil
}

// advertisable reports whether peers can dial addr: not a wildcard host.
func advertisable(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true // the engine reports it
	}
	ip := net.ParseIP(host)
	return host != "" && (ip == nil || !ip.IsUnspecified())
}

// newTransport wraps a started engine and starts the goroutines.
func newTransport(eng *engine.Transport, o options) *Transport {
	t := &Transport{
		eng:       eng,
		opts:      o,
		log:       o.logger,
		local:     o.advertise,
		consumeCh: make(chan raft.RPC),
		inbound:   make(chan *call, queueDepth),
		control:   make(chan *call, queueDepth),
		shutdown:  make(chan struct{}),
	}
	if t.local == "" {
		t.local = raft.ServerAddress(eng.Addr().String())
	}
	for i := range t.answers {
		t.answers[i] = make(chan *call, queueDepth)
	}
	t.peers.init()
	t.pipes.init()
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.wg.Add(4 + numAnswerQueues)
	go t.receive(engine.Control)
	go t.receive(engine.Bulk)
	go t.dispatch(t.inbound, &t.queued)
	go t.dispatch(t.control, nil)
	for i := range t.answers {
		go t.respond(t.answers[i])
	}
	return t
}

// Engine returns the engine transport underneath, for its Stats, Peers and
// Events. Its messages belong to the adapter: do not Recv from it.
func (t *Transport) Engine() *engine.Transport { return t.eng }

// Consumer returns the channel of RPCs received for raft. Implements
// raft.Transport.
func (t *Transport) Consumer() <-chan raft.RPC { return t.consumeCh }

// LocalAddr returns the address peers reach this node at: the engine's
// listen address, or the one given WithAdvertise. Implements
// raft.Transport.
func (t *Transport) LocalAddr() raft.ServerAddress { return t.local }

// EncodePeer returns the address's bytes, as NetworkTransport does.
// Implements raft.Transport.
func (t *Transport) EncodePeer(_ raft.ServerID, addr raft.ServerAddress) []byte {
	return []byte(addr)
}

// DecodePeer is the inverse of EncodePeer. Implements raft.Transport.
func (t *Transport) DecodePeer(buf []byte) raft.ServerAddress { return raft.ServerAddress(buf) }

// SetHeartbeatHandler sets raft's fast path for heartbeats: the receiving
// goroutine calls it directly instead of queueing the heartbeat on the
// consumer channel, so a follower busy on disk still answers its leader.
// Implements raft.Transport.
func (t *Transport) SetHeartbeatHandler(cb func(rpc raft.RPC)) {
	if cb == nil {
		t.heartbeat.Store(nil)
		return
	}
	t.heartbeat.Store(&cb)
}

// Disconnect closes the engine's connections to a server and forgets it,
// with what was still queued for it: after raft.RemoveServer, say, so the
// engine stops redialing a server that left. A later RPC to it connects
// again.
func (t *Transport) Disconnect(id raft.ServerID) error {
	t.peers.forget(id)
	if err := t.eng.Disconnect(string(id)); err != nil {
		return fmt.Errorf("hashicorpraft: disconnect %s: %w", id, err)
	}
	return nil
}

// Close stops the transport: RPCs in flight fail with an error wrapping
// raft.ErrTransportShutdown, open pipelines close, the goroutines exit
// and the engine closes (flushing what it has queued, within its
// CloseTimeout). It is idempotent; raft calls it on Shutdown. Implements
// raft.WithClose.
func (t *Transport) Close() error {
	t.once.Do(func() {
		t.closed.Store(true)
		close(t.shutdown)
		t.cancel()
		t.pipes.closeAll()
		t.wg.Wait()
		t.drainQueues()
		if err := t.eng.Close(); err != nil {
			t.closeErr = fmt.Errorf("hashicorpraft: close: %w", err)
		}
	})
	return t.closeErr
}

// isClosed reports whether Close has begun.
func (t *Transport) isClosed() bool { return t.closed.Load() }

// drainQueues gives up the RPCs no goroutine will answer any more, once
// they have all exited.
func (t *Transport) drainQueues() {
	for _, q := range append([]chan *call{t.inbound}, t.answers[:]...) {
		for {
			select {
			case c := <-q:
				c.abandon()
				continue
			default:
			}
			break
		}
	}
}

// Interface checks.
var (
	_ raft.Transport   = (*Transport)(nil)
	_ raft.WithPreVote = (*Transport)(nil)
	_ raft.WithClose   = (*Transport)(nil)
)
