package main

import (
	"cmp"
	"fmt"
	"time"

	"github.com/tensorchain/transport/codec"
)

// rule checks one numeric setting and, when it refuses the value, says what
// is wanted. The same rules apply to flags and to the configuration file;
// engine.Config.Validate checks what is left (relations between settings).
type rule[T cmp.Ordered] func(T) error

// between accepts lo <= v <= hi.
func between[T cmp.Ordered](lo, hi T) rule[T] {
	return func(v T) error {
		if !(v >= lo && v <= hi) {
			return fmt.Errorf("must be between %v and %v", lo, hi)
		}
		return nil
	}
}

// atLeast accepts v >= lo.
func atLeast[T cmp.Ordered](lo T) rule[T] {
	return func(v T) error {
		if !(v >= lo) {
			return fmt.Errorf("must be >= %v", lo)
		}
		return nil
	}
}

// above accepts v > lo.
func above[T cmp.Ordered](lo T) rule[T] {
	return func(v T) error {
		if !(v > lo) {
			return fmt.Errorf("must be > %v", lo)
		}
		return nil
	}
}

// aboveAtMost accepts lo < v <= hi.
func aboveAtMost[T cmp.Ordered](lo, hi T) rule[T] {
	return func(v T) error {
		if !(v > lo && v <= hi) {
			return fmt.Errorf("must be > %v and <= %v", lo, hi)
		}
		return nil
	}
}

// atLeastBelow accepts lo <= v < hi.
func atLeastBelow[T cmp.Ordered](lo, hi T) rule[T] {
	return func(v T) error {
		if !(v >= lo && v < hi) {
			return fmt.Errorf("must be >= %v and < %v", lo, hi)
		}
		return nil
	}
}

// intRules are the integer settings' rules, by TOML key.
var intRules = map[string]rule[int]{
	"pool_size":                      between(1, 64),
	"max_message_size":               between(1, 1<<30),
	"max_pending_messages":           atLeast(1),
	"max_pending_bytes":              atLeast(1),
	"recv_buffer_size":               atLeast(1),
	"recv_buffer_bytes":              atLeast(0),
	"receive_window":                 between(64<<10, 1<<30),
	"conn_memory_reserve":            atLeast(64 << 10), // <= memory_budget: engine.Config.Validate
	"event_loops":                    atLeast(1),
	"handshake_concurrency":          atLeast(1),
	"max_inbound_connections":        atLeast(1),
	"max_connections_per_address":    atLeast(1),
	"max_connections_per_peer":       atLeast(1),
	"stream_window":                  between(codec.StreamInitialWindow, 1<<30),
	"max_streams_per_peer":           atLeast(1),
	"rate_limit.bucket_size":         between(1, 1<<30),
	"inbound_rate_limit.bucket_size": between(1, 1<<30),
	"compression.min_size":           atLeast(0),
	"reconnect.max_attempts":         atLeast(0),
}

// int64Rules are the 64-bit integer settings' rules, by TOML key.
var int64Rules = map[string]rule[int64]{
	"memory_budget": atLeast(int64(4 << 20)),
}

// durationRules are the duration settings' rules, by TOML key.
var durationRules = map[string]rule[time.Duration]{
	"connect_timeout":           above(time.Duration(0)),
	"io_timeout":                above(time.Duration(0)),
	"frame_timeout":             above(time.Duration(0)),
	"handshake_idle_timeout":    above(time.Duration(0)),
	"keepalive_interval":        atLeast(time.Second),
	"close_timeout":             atLeast(time.Duration(0)),
	"stats_interval":            atLeast(time.Duration(0)),
	"reconnect.initial_backoff": above(time.Duration(0)),
	"reconnect.max_backoff":     above(time.Duration(0)),
}

// floatRules are the floating-point settings' rules, by TOML key.
var floatRules = map[string]rule[float64]{
	"rate_limit.refill_rate":         aboveAtMost(0, 1e6),
	"inbound_rate_limit.refill_rate": aboveAtMost(0, 1e6),
	"reconnect.multiplier":           atLeast(1.0),
	"reconnect.jitter":               atLeastBelow(0.0, 1.0),
}

// checkFor returns the rule of key in rules as a plain check function, or
// nil when the key has none.
func checkFor[T cmp.Ordered](rules map[string]rule[T], key string) func(T) error {
	if r, ok := rules[key]; ok {
		return r
	}
	return nil
}
