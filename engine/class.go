package engine

import (
	"context"
	"time"

	"github.com/tensorchain/transport/codec"
)

// Class is a message's delivery class. Each class has connections,
// queues, flow-control windows and inboxes of its own, so control
// traffic never waits behind bulk data anywhere on its way: not in the
// sender's queue, not in a socket buffer, not in the receiver's ring.
type Class uint8

const (
	// Bulk is the default class: log entries, snapshots, anything large.
	// Messages on one stream (SendOptions.Stream) arrive in order; streams
	// are spread over the peer's PoolSize bulk connections.
	Bulk Class = Class(codec.ClassBulk)
	// Control is for heartbeats, votes, acks and small RPCs. A peer has one
	// control connection; its messages arrive in the order sent, are
	// received before queued bulk messages (Recv takes them first), and are
	// not subject to the outbound rate limit (a refused heartbeat is an
	// election).
	Control Class = Class(codec.ClassControl)

	numClasses = 2
)

var classNames = [numClasses]string{"bulk", "control"}

// String returns "bulk" or "control".
func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// SendOptions say how SendWith delivers one message. The zero value is
// what Send does: bulk class, stream 0, no deadline, wait for a connection.
type SendOptions struct {
	// Class selects the control or bulk connections.
	Class Class
	// Stream names an ordered bulk stream: messages with the same Stream
	// arrive in the order of the sends that returned nil, whatever
	// PoolSize and whoever dialed; different streams may travel on
	// different connections and overtake each other. Ignored for Control,
	// which is one ordered stream.
	Stream uint32
	// Deadline, when not zero, drops the message if it has not been
	// written to the socket by then: it is counted in
	// Stats.MessagesExpired and never delivered late (a heartbeat queued
	// for a peer that was down is worthless once it is back).
	Deadline time.Time
	// FailFast makes the send return ErrUnreachable at once when the
	// connection the message would take is not established, instead of
	// queueing it for the reconnect.
	FailFast bool
}

// SendWith is Send with options: the class, the ordered stream, a
// deadline and fail-fast. It blocks only while the peer's queue is full,
// until ctx ends.
func (t *Transport) SendWith(ctx context.Context, to string, payload []byte, o SendOptions) error {
	return t.send(ctx, to, payload, o)
}

// TrySendWith is SendWith that never blocks: a full queue returns
// ErrQueueFull.
func (t *Transport) TrySendWith(to string, payload []byte, o SendOptions) error {
	return t.send(nil, to, payload, o)
}
