package bucket

import (
	"math"
	"sync/atomic"
	"time"
)

// Clock returns monotonic time elapsed since an arbitrary origin.
type Clock func() time.Duration

var processStart = time.Now()

// MonotonicClock is the default Clock: time since the process started,
// read from the monotonic clock.
func MonotonicClock() time.Duration { return time.Since(processStart) }

// milli is the number of milli-tokens in a token: the bucket's resolution.
const milli = 1000

// Bucket is a lock-free token bucket. The zero value is not usable; call New.
//
// Time is measured in milli-tokens of refill: at clock time t the clock has
// refilled floor(t * rate) milli-tokens since its origin. The whole state is
// one number, full: the refill count at which the bucket is (or was) full.
// The level at refill count u is capacity - (full - u), capped at capacity;
// taking n tokens adds n to full. Everything is integer arithmetic on an
// absolute reference, so nothing accumulates rounding error.
type Bucket struct {
	enabled  bool
	capacity int64 // milli-tokens
	rate     int64 // milli-tokens per second
	clock    Clock
	full     atomic.Int64
}

// New returns a full bucket for cfg; a nil clock means MonotonicClock. A
// disabled (or invalid) configuration gives a bucket that always allows.
func New(cfg Config, clock Clock) *Bucket {
	if clock == nil {
		clock = MonotonicClock
	}
	b := &Bucket{clock: clock}
	if cfg.Enabled && cfg.Validate() == nil {
		b.enabled = true
		b.capacity = int64(cfg.BucketSize) * milli
		b.rate = max(int64(math.Round(cfg.RefillRate*milli)), 1)
	}
	b.full.Store(b.refilled())
	return b
}

// refilled is the number of milli-tokens the clock has refilled so far.
func (b *Bucket) refilled() int64 {
	hi, lo := mul64(max(int64(b.clock()), 0), b.rate)
	q, _ := div128(hi, lo, int64(time.Second))
	return q
}

// Allow takes one token if there is one.
func (b *Bucket) Allow() bool { return b.AllowN(1) }

// AllowN takes n tokens if there are at least n.
func (b *Bucket) AllowN(n int) bool {
	if !b.enabled || n <= 0 {
		return true
	}
	cost := int64(n) * milli
	for {
		now := b.refilled()
		full := b.full.Load()
		next := max(full, now) + cost // a full bucket (full <= now) stores no more
		if next-now > b.capacity {
			return false
		}
		if b.full.CompareAndSwap(full, next) {
			return true
		}
	}
}

// Refund gives back n tokens taken and not used, up to a full bucket.
func (b *Bucket) Refund(n int) {
	if !b.enabled || n <= 0 {
		return
	}
	cost := int64(n) * milli
	for {
		now := b.refilled()
		full := b.full.Load()
		if full <= now || b.full.CompareAndSwap(full, max(full-cost, now)) {
			return
		}
	}
}

// Enabled reports whether the bucket limits at all (a disabled bucket
// always allows).
func (b *Bucket) Enabled() bool { return b.enabled }

// Tokens returns the current number of tokens (for stats and tests);
// +Inf for a disabled bucket.
func (b *Bucket) Tokens() float64 {
	if !b.enabled {
		return math.Inf(1)
	}
	deficit := max(b.full.Load()-b.refilled(), 0)
	return float64(b.capacity-deficit) / milli
}
