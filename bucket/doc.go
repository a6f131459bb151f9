// Package bucket is a token-bucket rate limiter: a burst of BucketSize
// tokens refilled at RefillRate tokens per second.
//
// Refill is computed from elapsed monotonic time on every call, so there is
// no timer and no goroutine. The state is one atomic word updated by
// compare-and-swap, so the hot path takes no lock. Tokens are kept in
// integer micro-tokens against an absolute time reference, so a million
// tiny refills accumulate exactly, with no drift.
//
// The clock is injected (Clock), so tests drive time by hand.
package bucket
