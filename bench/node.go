package bench

import (
	"context"
	"errors"
	"fmt"
)

// node is one cluster member as a scenario drives it: the engine or the
// baseline behind one interface, so every scenario is written once.
type node interface {
	// addr is the listen address.
	addr() string
	// connect dials peer id at addr and returns once a connection is up.
	connect(ctx context.Context, id, addr string) error
	// send queues a message, waiting for room until ctx ends.
	send(ctx context.Context, to string, payload []byte) error
	// sendBatch queues payloads in order as one call, waiting for room
	// until ctx ends.
	sendBatch(ctx context.Context, to string, payloads [][]byte) error
	// trySend queues a message or fails at once when the queue is full.
	trySend(to string, payload []byte) error
	// sendControl and trySendControl are send and trySend for control
	// traffic (heartbeats): the engine's control class, which has its own
	// connection, queue and inbound ring; the baseline has one connection
	// per peer pair and queues control messages with everything else.
	sendControl(ctx context.Context, to string, payload []byte) error
	trySendControl(to string, payload []byte) error
	// recv waits for the next inbound message and drops it: a node
	// started with nodeSpec.pull hands messages to no one else.
	recv(ctx context.Context) error
	// connCount is the number of established connections.
	connCount() int
	// bytesQueued reports the payload bytes accepted by send so far and
	// the frame bytes they became (after compression).
	bytesQueued() (payload, wire uint64)
	// close shuts the node down.
	close()
}

// nodeSpec describes a node to start.
type nodeSpec struct {
	id    string
	opts  Options
	pki   *pki // nil without TLS
	loops int  // engine event loops; 0 means opts.EventLoops
	// deliver receives every inbound message; payload is valid only during
	// the call. nil discards.
	deliver func(from string, payload []byte)
	// pull: the caller takes inbound messages itself with node.recv, as a
	// user of the engine's Recv does, instead of through deliver on a
	// goroutine of the node's (ignored with -deliver handler, where
	// deliver runs on the reading loop or goroutine).
	pull bool
	// batch > 1 takes inbound messages batch at a time (RecvBatch, or
	// the baseline's reader handing over what it has buffered).
	batch int
}

// impl is an implementation under test.
type impl struct {
	name  string
	start func(nodeSpec) (node, error)
}

var (
	engineImpl   = impl{name: "engine", start: startEngineNode}
	baselineImpl = impl{name: "baseline", start: startBaselineNode}
)

// errQueueFull is the baseline's full-queue error.
var errQueueFull = errors.New("queue full")

// startPair starts a sender and a receiver and connects the first to the
// second.
func startPair(ctx context.Context, im impl, o Options, p *pki, deliver func(string, []byte)) (a, b node, err error) {
	if b, err = im.start(nodeSpec{id: "recv", opts: o, pki: p, deliver: deliver, batch: o.batch()}); err != nil {
		return nil, nil, err
	}
	if a, err = im.start(nodeSpec{id: "send", opts: o, pki: p}); err != nil {
		b.close()
		return nil, nil, err
	}
	if err = a.connect(ctx, "recv", b.addr()); err != nil {
		a.close()
		b.close()
		return nil, nil, fmt.Errorf("%s connect: %w", im.name, err)
	}
	return a, b, nil
}
