package tlsstate

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// Limiter bounds how many TLS handshakes run at once, and so how many
// handshake goroutines exist. A transport shares one Limiter among all its
// connections.
//
// A handshake started while every slot is taken waits in a FIFO queue
// without a goroutine of its own: a goroutine that finishes a handshake takes
// the next queued one (or exits when the queue is empty). So a flood of
// connections costs at most n goroutines plus, per queued connection, one
// queue entry and a context registration. A queued handshake whose deadline
// passes, whose context ends or whose Session is closed leaves the queue and
// has its done callback called (with ErrHandshake wrapping the cause) from a
// short-lived goroutine started by context.AfterFunc.
type Limiter struct {
	mu       sync.Mutex
	n        int
	inFlight int
	queue    list.List // of *hsJob, oldest first
}

// NewLimiter returns a Limiter allowing n concurrent handshakes; n < 1 is
// treated as 1 (as is the zero Limiter).
func NewLimiter(n int) *Limiter {
	return &Limiter{n: max(n, 1)}
}

// Cap returns the number of handshakes allowed at once.
func (l *Limiter) Cap() int { return max(l.n, 1) }

// InFlight returns how many handshakes are running now (each with its
// goroutine). It never exceeds Cap.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// Waiting returns how many started handshakes are queued for a slot.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len()
}

// jobState is where an hsJob is, guarded by Limiter.mu.
type jobState int

const (
	jobQueued jobState = iota
	jobRunning
	jobExpired
)

// hsJob is one started handshake.
type hsJob struct {
	s      *Session
	ctx    context.Context
	cancel context.CancelFunc
	done   func(error)

	// Guarded by the Limiter's mu.
	state jobState
	elem  *list.Element
	stop  func() bool // stops the expiry registered while queued
}

// finish releases the job's context and reports the result, exactly once
// per job (the Limiter's state machine guarantees that).
func (j *hsJob) finish(err error) {
	j.cancel()
	if j.done != nil {
		j.done(err)
	}
}

// start runs j now if a slot is free, or queues it. A nil Limiter runs every
// handshake at once.
func (l *Limiter) start(j *hsJob) {
	if l == nil {
		j.state = jobRunning
		go l.work(j)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight < max(l.n, 1) { // the zero Limiter allows one
		l.inFlight++
		j.state = jobRunning
		go l.work(j)
		return
	}
	j.state = jobQueued
	j.elem = l.queue.PushBack(j)
	// Registered under mu: if ctx is already done, expire runs in its own
	// goroutine and waits for mu, so it always sees a consistent state.
	j.stop = context.AfterFunc(j.ctx, func() { l.expire(j) })
}

// work runs handshakes, j first, then queued ones, until the queue is empty.
// It is the only goroutine a handshake ever has.
func (l *Limiter) work(j *hsJob) {
	for j != nil {
		err := j.s.handshake(j.ctx)
		next := l.next()
		j.finish(err)
		j = next
	}
}

// next hands the caller's slot to the oldest queued job, or releases the slot.
func (l *Limiter) next() *hsJob {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	e := l.queue.Front()
	if e == nil {
		l.inFlight--
		l.mu.Unlock()
		return nil
	}
	j := l.queue.Remove(e).(*hsJob)
	j.state, j.elem = jobRunning, nil
	stop := j.stop
	l.mu.Unlock()
	// If the expiry already started, it will find the job running and do
	// nothing; HandshakeContext then fails at once on the done context.
	stop()
	return j
}

// expire removes a queued job whose context ended and reports why.
func (l *Limiter) expire(j *hsJob) {
	l.mu.Lock()
	if j.state != jobQueued {
		l.mu.Unlock()
		return
	}
	l.queue.Remove(j.elem)
	j.state, j.elem = jobExpired, nil
	l.mu.Unlock()
	cause := context.Cause(j.ctx)
	if j.s.closing.Load() {
		cause = ErrClosed
	}
	j.finish(j.s.fail(fmt.Errorf("%w (%s, waiting for a handshake slot): %w", ErrHandshake, j.s.role, cause)))
}
