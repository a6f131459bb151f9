package engine

import (
	"math"
	"time"
)

// Backoff returns how long to wait before reconnect attempt n (0-based):
// min(InitialBackoff*Multiplier^n, MaxBackoff), moved by jitter*Jitter of
// itself, where jitter is a number in [-1, 1] (use 0 for the midpoint).
func (r ReconnectConfig) Backoff(n int, jitter float64) time.Duration {
	d := float64(r.InitialBackoff) * math.Pow(r.Multiplier, float64(n))
	if d > float64(r.MaxBackoff) || math.IsInf(d, 1) || math.IsNaN(d) {
		d = float64(r.MaxBackoff)
	}
	d += d * r.Jitter * max(-1, min(1, jitter))
	return time.Duration(d)
}
