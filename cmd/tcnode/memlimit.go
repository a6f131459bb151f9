package main

import (
	"log/slog"
	"math"
	"runtime/debug"
)

// memoryLimitHeadroom is what the Go memory limit allows beyond
// memory_budget: the node's own heap, goroutine stacks and runtime overhead.
const memoryLimitHeadroom = 128 << 20

// memoryLimit returns the Go memory limit for a memory budget:
// budget + memoryLimitHeadroom, saturating at math.MaxInt64 (no limit).
func memoryLimit(budget int64) int64 {
	if budget > math.MaxInt64-memoryLimitHeadroom {
		return math.MaxInt64
	}
	return budget + memoryLimitHeadroom
}

// applyMemoryLimit makes the memory budget hold for the whole process: unless
// GOMEMLIMIT is set (getenv returns it non-empty, as the runtime reads it),
// it sets the Go memory limit to memoryLimit(budget). Either way it logs the
// limit in force once, at Info, and returns it.
func applyMemoryLimit(budget int64, getenv func(string) string, log *slog.Logger) int64 {
	if env := getenv("GOMEMLIMIT"); env != "" {
		limit := debug.SetMemoryLimit(-1) // -1 reads the limit without changing it
		log.Info("go memory limit from GOMEMLIMIT", "limit_bytes", limit, "gomemlimit", env, "memory_budget", budget)
		return limit
	}
	limit := memoryLimit(budget)
	// The GC works to keep the heap under budget + headroom, so the budget bounds the process, not only the engine.
	debug.SetMemoryLimit(limit)
	log.Info("go memory limit set", "limit_bytes", limit, "memory_budget", budget, "headroom_bytes", memoryLimitHeadroom)
	return limit
}
