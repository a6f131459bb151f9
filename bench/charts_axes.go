package bench

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
)

// Log axes are drawn as linear axes over log10 of the values, with ticks
// placed at the logs and labelled with the values: gonum/plot's LogScale
// centres axis labels at the arithmetic mean of the range (far right on
// a log axis) and pads the data area for them. Every point on a log axis
// goes through lg first.

// lg is a value's place on a log axis.
func lg(v float64) float64 { return math.Log10(v) }

// logAxis sets a over [lo, hi] (values, not logs) widened to 1-2-5 steps
// so that both ends carry a label, marked at 1, 2 and 5 times each power
// of ten (past three decades only the powers are labelled) and labelled
// by format.
func logAxis(a *plot.Axis, lo, hi float64, format func(float64) string) {
	if hi <= lo*1.01 { // one value: give it a step either side
		lo, hi = lo/2, hi*2
	}
	lo, hi = niceBelow(lo), niceAbove(hi)
	a.Min, a.Max = lg(lo), lg(hi)
	a.Tick.Marker = plot.ConstantTicks(logTicks(lo, hi, format))
}

// atValues sets a over [lo, hi] (values) marked at vs only (the sizes or
// counts a sweep measured), labelled by format.
func atValues(a *plot.Axis, lo, hi float64, vs []float64, format func(float64) string) {
	a.Min, a.Max = lg(lo), lg(hi)
	var ticks plot.ConstantTicks
	for _, v := range vs {
		ticks = append(ticks, plot.Tick{Value: lg(v), Label: format(v)})
	}
	a.Tick.Marker = ticks
}

// logTicks marks [lo, hi] at 1..9 times each power of ten, labelling 1,
// 2 and 5 (only 1 past three decades).
func logTicks(lo, hi float64, format func(float64) string) []plot.Tick {
	many := hi/lo > 1e3
	var ticks []plot.Tick
	for e := math.Floor(lg(lo)); math.Pow(10, e) <= hi*(1+1e-9); e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow(10, e)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			tk := plot.Tick{Value: lg(v)}
			if m == 1 || (!many && (m == 2 || m == 5)) {
				tk.Label = format(v)
			}
			ticks = append(ticks, tk)
		}
	}
	return ticks
}

// niceBelow is the largest 1-2-5 step at or under v; niceAbove the
// smallest at or over it.
func niceBelow(v float64) float64 {
	e := math.Pow(10, math.Floor(lg(v)))
	for _, m := range []float64{5, 2, 1} {
		if m*e <= v*(1+1e-9) {
			return m * e
		}
	}
	return e
}

func niceAbove(v float64) float64 {
	e := math.Pow(10, math.Floor(lg(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*e >= v*(1-1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// fmtMicros labels a duration given in microseconds: 500ns, 20µs, 1ms.
func fmtMicros(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%gs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%gms", us/1e3)
	case us >= 1:
		return fmt.Sprintf("%gµs", us)
	}
	return fmt.Sprintf("%gns", us*1e3)
}

// fmtMBs labels a rate given in MB/s: 200 MB/s, 2 GB/s.
func fmtMBs(v float64) string {
	if v >= 1e3 {
		return fmt.Sprintf("%g GB/s", v/1e3)
	}
	return fmt.Sprintf("%g MB/s", v)
}

// fmtRate labels a message rate: 500/s, 20k/s, 1M/s.
func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%gM/s", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%gk/s", v/1e3)
	}
	return fmt.Sprintf("%g/s", v)
}

// fmtTimes labels a ratio: 0.5x, 2x, 100x.
func fmtTimes(v float64) string { return fmt.Sprintf("%gx", v) }
