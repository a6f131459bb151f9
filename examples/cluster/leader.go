package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tensorchain/transport/engine"
)

// leader replicates the log to the followers and commits what a majority
// holds.
type leader struct {
	t         *engine.Transport
	followers []string

	match      map[string]int // the last entry each follower acknowledged
	sent       int            // the last entry sent to every follower
	commit     int            // the last entry a majority holds
	heartbeats int            // heartbeats sent to each follower
}

// newLeader returns the leader of the followers, on transport t.
func newLeader(t *engine.Transport, followers []string) *leader {
	return &leader{t: t, followers: followers, match: make(map[string]int, len(followers))}
}

// replicate connects to the followers, then, every heartbeat interval,
// sends each a heartbeat and, once the last batch is committed, the next
// batch of entries, until every entry is committed.
func (l *leader) replicate(ctx context.Context, peers []engine.PeerConfig) error {
	for _, p := range peers {
		if err := l.t.Connect(ctx, p); err != nil {
			return err
		}
	}
	acks := make(chan ack, 2*len(l.followers)) // one per append per follower, in flight
	recvDone := make(chan error, 1)
	recvCtx, stopRecv := context.WithCancel(ctx)
	defer func() {
		stopRecv()
		<-recvDone
	}()
	go func() { recvDone <- l.receiveAcks(recvCtx, acks) }()

	tick := time.NewTicker(heartbeatInterval)
	defer tick.Stop()
	var buf []byte
	for l.commit < entries {
		buf = l.sendHeartbeats(ctx, buf) // first at once: the followers learn who leads
		var err error
		if buf, err = l.sendBatch(ctx, buf); err != nil {
			return err
		}
		if err := l.await(ctx, tick.C, acks, recvDone); err != nil {
			return err
		}
	}
	return nil
}

// sendHeartbeats sends every follower a heartbeat on the control class. A
// heartbeat not on the wire within heartbeatTTL is dropped
// (Stats.MessagesExpired), and FailFast refuses one at once when the
// control connection is down: a stale heartbeat is worth nothing.
func (l *leader) sendHeartbeats(ctx context.Context, buf []byte) []byte {
	now := time.Now()
	buf = appendHeartbeat(buf, l.commit, now)
	o := engine.SendOptions{Class: engine.Control, Deadline: now.Add(heartbeatTTL), FailFast: true}
	for _, f := range l.followers {
		_ = l.t.SendWith(ctx, f, buf, o) // a missed heartbeat is not an error: the next one comes
	}
	l.heartbeats++
	return buf
}

// sendBatch sends every follower an append of the next batch of entries
// on the bulk class, on the log's ordered stream, if the previous one is
// committed.
func (l *leader) sendBatch(ctx context.Context, buf []byte) ([]byte, error) {
	if l.sent == entries || l.sent > l.commit {
		return buf, nil
	}
	count := min(batch, entries-l.sent)
	buf = appendAppend(buf, l.sent+1, count)
	o := engine.SendOptions{Class: engine.Bulk, Stream: entryStream}
	for _, f := range l.followers {
		if err := l.t.SendWith(ctx, f, buf, o); err != nil { // blocks only while f's queue is full
			return buf, fmt.Errorf("entries %d..%d to %s: %w", l.sent+1, l.sent+count, f, err)
		}
	}
	l.sent += count
	return buf, nil
}

// await takes acknowledgements until the next tick.
func (l *leader) await(ctx context.Context, tick <-chan time.Time, acks <-chan ack, recvDone <-chan error) error {
	for {
		select {
		case a := <-acks:
			l.acknowledged(a)
		case <-tick:
			return nil
		case err := <-recvDone:
			return fmt.Errorf("receive: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// acknowledged records an acknowledgement and advances the commit index to
// the highest entry a majority holds: the leader, and enough followers.
func (l *leader) acknowledged(a ack) {
	l.match[a.from] = max(l.match[a.from], a.index)
	held := make([]int, 0, len(l.followers))
	for _, f := range l.followers {
		held = append(held, l.match[f])
	}
	slices.Sort(held)
	// With the leader, a majority of n+1 nodes is (n+1)/2+1 nodes: the
	// leader and the (n+1)/2 followers that hold the most.
	l.commit = max(l.commit, held[len(held)-(len(l.followers)+1)/2])
}

// ack is a follower's acknowledgement.
type ack struct {
	from  string
	index int
}

// receiveAcks passes the followers' acknowledgements on until ctx ends.
func (l *leader) receiveAcks(ctx context.Context, acks chan<- ack) error {
	for {
		msg, err := l.t.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, engine.ErrClosed) {
				return nil
			}
			return err
		}
		index, err := parseAck(msg.Payload)
		from := msg.From
		msg.Release()
		if err != nil {
			return err
		}
		select {
		case acks <- ack{from: from, index: index}:
		case <-ctx.Done():
			return nil
		}
	}
}
