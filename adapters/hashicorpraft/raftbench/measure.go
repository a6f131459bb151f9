package main

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// applyResult is one Apply measurement.
type applyResult struct {
	Transport   string        `json:"transport"`
	Size        int           `json:"size"`
	Appliers    int           `json:"appliers"`
	Applies     uint64        `json:"applies"`
	Seconds     float64       `json:"seconds"`
	AppliesPerS float64       `json:"applies_per_sec"`
	P50         time.Duration `json:"p50_ns"`
	P99         time.Duration `json:"p99_ns"`
	Errors      uint64        `json:"errors"`
	// CPUPerApply is this process's CPU time (user and system) during the
	// measurement over the commits: every node's share when all run
	// here, the leader's alone with -procs. Failed Applies' CPU counts too.
	CPUPerApply time.Duration `json:"cpu_per_apply_ns"`
}

// measureApply runs appliers goroutines calling Apply on the leader with
// size-byte commands for d, and times each commit.
func measureApply(r *raft.Raft, name string, size, appliers int, d time.Duration) applyResult {
	cmd := make([]byte, size)
	var wg sync.WaitGroup
	var applies, errs atomic.Uint64
	lat := make([][]time.Duration, appliers)
	runtime.GC() // the previous measurement's garbage is not charged to this one
	stop := time.Now().Add(d)
	cpu0 := processCPU()
	start := time.Now()
	for g := range appliers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				t0 := time.Now()
				if err := r.Apply(cmd, 10*time.Second).Error(); err != nil {
					errs.Add(1)
					continue
				}
				lat[g] = append(lat[g], time.Since(t0))
				applies.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	cpu := processCPU() - cpu0
	all := slices.Concat(lat...)
	slices.Sort(all)
	return applyResult{Transport: name, Size: size, Appliers: appliers, Applies: applies.Load(), Seconds: el.Seconds(),
		AppliesPerS: float64(applies.Load()) / el.Seconds(), P50: quantile(all, 0.5), P99: quantile(all, 0.99), Errors: errs.Load(),
		CPUPerApply: cpu / time.Duration(max(applies.Load(), 1))}
}

// heartbeatResult is the leader's heartbeat round trips to its followers
// while a stream of large commands is applied.
type heartbeatResult struct {
	Transport string        `json:"transport"`
	LoadSize  int           `json:"load_size"`
	Samples   int           `json:"samples"`
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	LoadMBps  float64       `json:"load_mb_per_sec"`
}

// measureHeartbeats applies loadSize-byte commands from 4 goroutines for
// d and records the leader's heartbeats meanwhile.
func measureHeartbeats(c *cluster, r *raft.Raft, name string, loadSize int, d time.Duration) heartbeatResult {
	tt := c.leaderTransport(r)
	tt.record(true)
	load := measureApply(r, name, loadSize, 4, d)
	s := tt.record(false)
	slices.Sort(s)
	return heartbeatResult{Transport: name, LoadSize: loadSize, Samples: len(s), P50: quantile(s, 0.5), P99: quantile(s, 0.99),
		LoadMBps: load.AppliesPerS * float64(loadSize) / 1e6}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// quantile is the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
