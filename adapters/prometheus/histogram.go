package prometheus

import "github.com/tensorchain/transport/engine"

// constHistogram converts h to the arguments of
// prometheus.NewConstHistogram: the sample count (the +Inf bucket), the
// sum in seconds, and the cumulative count of each finite bucket by its
// upper bound in seconds.
//
// h's Counts are per bucket, with one more than Bounds for the overflow.
// The engine takes its snapshot without a lock, so a ping recorded while
// it ran may be in Count and not in Counts, or the other way round;
// taking the larger of Count and the buckets' total keeps the buckets at
// most the count, as Prometheus requires. The next scrape is exact again.
func constHistogram(h engine.LatencyHistogram) (count uint64, sum float64, buckets map[float64]uint64) {
	buckets = make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, bound := range h.Bounds {
		if i < len(h.Counts) {
			cum += h.Counts[i]
		}
		buckets[bound.Seconds()] = cum
	}
	for _, n := range h.Counts[min(len(h.Bounds), len(h.Counts)):] {
		cum += n // the overflow bucket: only in +Inf
	}
	return max(h.Count, cum), h.Sum.Seconds(), buckets
}
