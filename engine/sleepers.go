package engine

import "sync/atomic"

// sleepers is goroutines waiting for a condition another goroutine makes
// true (a message to take, room in a queue). A sleeper announces itself
// (n), checks the condition once more, and sleeps on wakeup; whoever makes
// the condition true calls wake, which fills the one-slot channel only
// while someone sleeps. A check after the announcement sees every change
// made before the waker looked at n, so no wake-up is lost; each woken
// sleeper passes the wake-up on if the condition still holds.
type sleepers struct {
	n      atomic.Int32
	wakeup chan struct{} // capacity 1
}

func (s *sleepers) init() { s.wakeup = make(chan struct{}, 1) }

// wake wakes one sleeper, if any sleeps, and reports whether it did.
func (s *sleepers) wake() bool {
	if s.n.Load() == 0 {
		return false
	}
	select {
	case s.wakeup <- struct{}{}:
		return true
	default:
		return false
	}
}
