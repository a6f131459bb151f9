package hashicorpraft

import (
	"time"

	"github.com/hashicorp/raft"
)

// applyOutcomes waits for the futures' errors, in order. A node shut
// down after committing entries its FSM had not applied yet never
// answers their futures (hashicorp/raft issue 498: runFSM returns on
// shutdown with batches still queued), so once stopped is closed a
// future unanswered within grace ends the wait: errs then holds the
// answers of the first len(errs) futures and the rest are unknown. The
// goroutine waiting on such a future stays blocked for the life of the
// process (raft gives no way to stop waiting); it is one of a constant
// number, so TestNoLeaks, which compares counts, is not affected.
func applyOutcomes(futures []raft.ApplyFuture, stopped <-chan struct{}, grace time.Duration) (errs []error) {
	answers := make(chan error, len(futures)) // room for all: the waiter never blocks on a send
	go func() {
		for _, f := range futures {
			answers <- f.Error() // may block for good on a future raft left
		}
	}()
	var expired <-chan time.Time
	for len(errs) < len(futures) {
		select {
		case err := <-answers:
			errs = append(errs, err)
		case <-stopped:
			stopped, expired = nil, time.After(grace)
		case <-expired:
			return errs
		}
	}
	return errs
}
