package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tensorchain/transport/engine"
)

// follower applies the leader's appends in order and acknowledges each;
// it counts the leader's heartbeats. Its fields are read once serve has
// returned.
type follower struct {
	id     string
	t      *engine.Transport
	leader string

	applied int             // the last entry applied
	delays  []time.Duration // of each heartbeat received, from its sending
	err     error           // why serve stopped, if not the transport's close
}

// serve receives until the transport closes. Control messages (the
// heartbeats) come first when both classes wait: they never queue behind
// entries.
func (f *follower) serve(ctx context.Context) {
	var ack []byte
	for {
		msg, err := f.t.Recv(ctx)
		if err != nil {
			if !errors.Is(err, engine.ErrClosed) {
				f.err = err
			}
			return
		}
		if msg.Class == engine.Control {
			err = f.heartbeat(msg.Payload)
		} else {
			ack, err = f.apply(ctx, msg.Payload, ack)
		}
		msg.Release()
		if err != nil {
			f.err = err
			return
		}
	}
}

// heartbeat records how late a heartbeat came.
func (f *follower) heartbeat(p []byte) error {
	sent, err := parseHeartbeat(p)
	if err != nil {
		return err
	}
	f.delays = append(f.delays, time.Since(sent))
	return nil
}

// heartbeatDelays returns the median and the largest delay of the
// heartbeats received (zero when none came).
func (f *follower) heartbeatDelays() (median, largest time.Duration) {
	if len(f.delays) == 0 {
		return 0, 0
	}
	d := slices.Sorted(slices.Values(f.delays))
	return d[len(d)/2], d[len(d)-1]
}

// apply applies an append, which must follow the last entry applied, and
// acknowledges it.
func (f *follower) apply(ctx context.Context, p, ack []byte) ([]byte, error) {
	first, last, err := parseAppend(p)
	if err != nil {
		return ack, err
	}
	if first != f.applied+1 {
		return ack, fmt.Errorf("entries %d..%d after entry %d: out of order", first, last, f.applied)
	}
	f.applied = last
	ack = appendAck(ack, last)
	if err := f.t.Send(ctx, f.leader, ack); err != nil { // over the connections the leader opened
		return ack, fmt.Errorf("ack %d: %w", last, err)
	}
	return ack, nil
}
