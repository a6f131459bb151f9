package prometheus

import (
	"maps"
	"testing"
	"time"

	"github.com/tensorchain/transport/engine"
)

func TestConstHistogram(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name        string
		h           engine.LatencyHistogram
		wantCount   uint64
		wantSum     float64
		wantBuckets map[float64]uint64
	}{{
		name:        "zero value",
		wantBuckets: map[float64]uint64{},
	}, {
		name:        "no samples",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{ms, 2 * ms}, Counts: []uint64{0, 0, 0}},
		wantBuckets: map[float64]uint64{0.001: 0, 0.002: 0},
	}, {
		name:        "cumulative, overflow only in the count",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{ms, 2 * ms}, Counts: []uint64{1, 2, 4}, Count: 7, Sum: 30 * ms},
		wantCount:   7,
		wantSum:     0.03,
		wantBuckets: map[float64]uint64{0.001: 1, 0.002: 3},
	}, {
		name:        "microsecond bounds",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{16 * time.Microsecond, 32 * time.Microsecond}, Counts: []uint64{5, 0, 0}, Count: 5, Sum: 50 * time.Microsecond},
		wantCount:   5,
		wantSum:     50e-6,
		wantBuckets: map[float64]uint64{16e-6: 5, 32e-6: 5},
	}, {
		name:        "torn snapshot: a sample in the count, not yet in a bucket",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{ms}, Counts: []uint64{2, 0}, Count: 3, Sum: 3 * ms},
		wantCount:   3,
		wantSum:     0.003,
		wantBuckets: map[float64]uint64{0.001: 2},
	}, {
		name:        "torn snapshot: a sample in a bucket, not yet in the count",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{ms}, Counts: []uint64{3, 0}, Count: 2, Sum: 2 * ms},
		wantCount:   3, // never below a bucket
		wantSum:     0.002,
		wantBuckets: map[float64]uint64{0.001: 3},
	}, {
		name:        "fewer counts than buckets",
		h:           engine.LatencyHistogram{Bounds: []time.Duration{ms, 2 * ms}, Counts: []uint64{1}, Count: 1, Sum: ms},
		wantCount:   1,
		wantSum:     0.001,
		wantBuckets: map[float64]uint64{0.001: 1, 0.002: 1},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			count, sum, buckets := constHistogram(tc.h)
			if count != tc.wantCount || sum != tc.wantSum || !maps.Equal(buckets, tc.wantBuckets) {
				t.Errorf("constHistogram = %d, %v, %v; want %d, %v, %v", count, sum, buckets, tc.wantCount, tc.wantSum, tc.wantBuckets)
			}
		})
	}
}
