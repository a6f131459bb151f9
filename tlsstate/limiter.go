package tlsstate

import (
	"container/list"
	"context"
	"fmt"
	"sync"
)

// Limiter bounds how many TLS handshakes work at once: it is the CPU of
// handshakes it rations, not their waiting. A transport shares one Limiter
// among all its connections.
//
// A handshake holds a slot only while it has input to work on. When it
// must wait for the peer's next flight it gives its slot up, and takes one
// back, ahead of handshakes not yet started, once that input has been fed.
// So a flood of peers that connect and then stall (before the ClientHello,
// or after it) holds no slot: a legitimate handshake waits only for the
// ones that are computing.
//
// A handshake started while every slot is taken waits in a FIFO queue
// without a goroutine; each handshake gets its goroutine when it first gets
// a slot, and keeps it until it ends (blocked, without a slot, while it
// waits for input). A queued handshake whose deadline passes, whose context
// ends or whose Session is closed leaves the queue and has its done
// callback called (with ErrHandshake wrapping the cause) from a
// short-lived goroutine started by context.AfterFunc.
type Limiter struct {
	mu       sync.Mutex
	n        int
	inFlight int       // handshakes holding a slot
	queue    list.List // of *hsJob not started yet, oldest first
	resuming list.List // of *hsJob whose input arrived, waiting for a slot back
	parked   int       // handshakes waiting for input, without a slot
}

// NewLimiter returns a Limiter allowing n concurrent handshakes; n < 1 is
// treated as 1 (as is the zero Limiter).
func NewLimiter(n int) *Limiter {
	return &Limiter{n: max(n, 1)}
}

// Cap returns the number of handshakes allowed to work at once.
func (l *Limiter) Cap() int { return max(l.n, 1) }

// InFlight returns how many handshakes hold a slot now. It never exceeds
// Cap.
func (l *Limiter) InFlight() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlight
}

// Waiting returns how many started handshakes wait for a slot: not yet
// started, or with input and waiting to get their slot back.
func (l *Limiter) Waiting() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len() + l.resuming.Len()
}

// Parked returns how many handshakes wait for the peer's input, holding
// no slot.
func (l *Limiter) Parked() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.parked
}

// jobState is where an hsJob is, guarded by Limiter.mu.
type jobState int

const (
	jobQueued   jobState = iota // in queue, not started
	jobRunning                  // holds a slot
	jobParked                   // waits for input, no slot
	jobResuming                 // in resuming, waits for a slot back
	jobDone                     // ended, or expired while queued
)

// hsJob is one started handshake.
type hsJob struct {
	s      *Session
	lim    *Limiter
	ctx    context.Context
	cancel context.CancelFunc
	done   func(error)

	// Guarded by the Limiter's mu.
	state jobState
	elem  *list.Element
	stop  func() bool   // stops the expiry registered while queued
	grant chan struct{} // a slot handed back to a resuming job
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
	j.lim = l
	if l == nil {
		j.state = jobRunning
		go l.work(j)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	j.state = jobQueued
	j.elem = l.queue.PushBack(j)
	// Registered under mu: if ctx is already done, expire runs in its own
	// goroutine and waits for mu, so it always sees a consistent state.
	j.stop = context.AfterFunc(j.ctx, func() { l.expire(j) })
	l.grantLocked()
}

// grantLocked hands free slots out: to handshakes whose input arrived
// first (they are closest to done), then to new ones.
func (l *Limiter) grantLocked() {
	for l.inFlight < max(l.n, 1) { // the zero Limiter allows one
		if e := l.resuming.Front(); e != nil {
			j := l.resuming.Remove(e).(*hsJob)
			j.state, j.elem = jobRunning, nil
			l.inFlight++
			close(j.grant)
			continue
		}
		e := l.queue.Front()
		if e == nil {
			return
		}
		j := l.queue.Remove(e).(*hsJob)
		j.state, j.elem = jobRunning, nil
		l.inFlight++
		// If the expiry already started, it will find the job running and
		// do nothing; HandshakeContext then fails at once on the done context.
		j.stop()
		go l.work(j)
	}
}

// work runs one handshake in its own goroutine.
func (l *Limiter) work(j *hsJob) {
	err := j.s.handshake(j.ctx)
	l.end(j)
	j.finish(err)
}

// end gives up whatever slot the finished job holds.
func (l *Limiter) end(j *hsJob) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch j.state {
	case jobRunning:
		l.inFlight--
	case jobParked:
		l.parked--
	case jobResuming:
		l.resuming.Remove(j.elem)
	}
	j.state, j.elem = jobDone, nil
	l.grantLocked()
}

// park gives the slot of a running job up while it waits for input.
func (l *Limiter) park(j *hsJob) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if j.state != jobRunning {
		return
	}
	j.state = jobParked
	l.inFlight--
	l.parked++
	l.grantLocked()
}

// resume takes a slot back for a parked job whose input arrived, waiting
// for one if none is free. It fails only when the job's context ends.
func (l *Limiter) resume(j *hsJob) error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if j.state != jobParked {
		l.mu.Unlock()
		return nil
	}
	j.state = jobResuming
	l.parked--
	j.grant = make(chan struct{})
	j.elem = l.resuming.PushBack(j)
	l.grantLocked()
	grant := j.grant
	l.mu.Unlock()
	select {
	case <-grant:
		return nil
	case <-j.ctx.Done():
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if j.state != jobResuming {
		return nil // granted in the meantime: the handshake fails on its context anyway
	}
	l.resuming.Remove(j.elem)
	j.state, j.elem = jobParked, nil
	l.parked++
	return context.Cause(j.ctx)
}

// expire removes a queued job whose context ended and reports why.
func (l *Limiter) expire(j *hsJob) {
	l.mu.Lock()
	if j.state != jobQueued {
		l.mu.Unlock()
		return
	}
	l.queue.Remove(j.elem)
	j.state, j.elem = jobDone, nil
	l.mu.Unlock()
	cause := context.Cause(j.ctx)
	if j.s.closing.Load() {
		cause = ErrClosed
	}
	j.finish(j.s.fail(fmt.Errorf("%w (%s, waiting for a handshake slot): %w", ErrHandshake, j.s.role, cause)))
}
