package bench

import (
	"slices"
	"time"
)

// With Options.Runs > 1 every measured case runs that many times, engine
// and baseline interleaved (engine first in odd runs, baseline first in
// even ones, so neither always meets a warmer or a colder machine), and
// the report's Results hold each case's median: every numeric field is
// the median of its runs, and Comparisons carry each side's range. The
// individual runs are kept in Report.Runs.

// caseKey names one implementation's measurement of one case.
type caseKey struct{ scenario, cas, impl string }

func keyOf(r Result) caseKey { return caseKey{r.Scenario, r.Case, r.Impl} }

// medians collapses repeated results of the same case into one, in first
// appearance order.
func medians(rs []Result) []Result {
	groups := map[caseKey][]Result{}
	var order []caseKey
	for _, r := range rs {
		k := keyOf(r)
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	out := make([]Result, 0, len(order))
	for _, k := range order {
		out = append(out, medianOf(groups[k]))
	}
	return out
}

// medianOf is rs[0] with every numeric field replaced by its median over rs.
func medianOf(rs []Result) Result {
	m := rs[0]
	m.Runs = len(rs)
	if len(rs) == 1 {
		return m
	}
	f64 := func(get func(Result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = get(r)
		}
		return medianFloat(v)
	}
	dur := func(get func(Result) time.Duration) time.Duration {
		return time.Duration(f64(func(r Result) float64 { return float64(get(r)) }))
	}
	m.Messages = uint64(f64(func(r Result) float64 { return float64(r.Messages) }))
	m.Elapsed = dur(func(r Result) time.Duration { return r.Elapsed })
	m.MsgsPerSec = f64(func(r Result) float64 { return r.MsgsPerSec })
	m.BytesPerSec = f64(func(r Result) float64 { return r.BytesPerSec })
	if m.AllocsPerMsg != nil {
		a := f64(allocs)
		m.AllocsPerMsg = &a
	}
	m.WirePerMsg = f64(func(r Result) float64 { return r.WirePerMsg })
	m.P50 = dur(func(r Result) time.Duration { return r.P50 })
	m.P99 = dur(func(r Result) time.Duration { return r.P99 })
	m.P999 = dur(func(r Result) time.Duration { return r.P999 })
	m.CDF = medianCDF(rs)
	m.BytesPerConn = f64(func(r Result) float64 { return r.BytesPerConn })
	m.Goroutines = int(f64(func(r Result) float64 { return float64(r.Goroutines) }))
	m.BaseP50 = dur(func(r Result) time.Duration { return r.BaseP50 })
	m.BaseP99 = dur(func(r Result) time.Duration { return r.BaseP99 })
	m.FreshConnect = dur(func(r Result) time.Duration { return r.FreshConnect })
	m.PeakRSSBytes = int64(f64(func(r Result) float64 { return float64(r.PeakRSSBytes) }))
	m.SenderPeakRSSBytes = int64(f64(func(r Result) float64 { return float64(r.SenderPeakRSSBytes) }))
	m.CPUPerMsg = f64(func(r Result) float64 { return r.CPUPerMsg })
	m.CPUPerKiB = f64(func(r Result) float64 { return r.CPUPerKiB })
	return m
}

// medianFloat is the median of v (the mean of the middle two for an even
// count).
func medianFloat(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// spread is the smallest and largest value of metric m over the runs of
// case k.
func spread(runs []Result, k caseKey, m metric) (lo, hi float64, ok bool) {
	for _, r := range runs {
		if keyOf(r) != k {
			continue
		}
		v := m.get(r)
		if !ok {
			lo, hi, ok = v, v, true
		}
		lo, hi = min(lo, v), max(hi, v)
	}
	return lo, hi, ok
}
