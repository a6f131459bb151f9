package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot/plotter"
)

// Throughput charts plot a figure against a size or a count on log-log
// axes, one line per implementation: oneway's throughput by message size
// (against the raw socket's ceiling), and scale's CPU cost by senders and
// by message size.

// parseSizeName reads what sizeName prints: 64B, 1KiB, 64KiB, 1MiB, 1GiB.
func parseSizeName(s string) (int, bool) {
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			n, err := strconv.Atoi(v)
			return n * u.mult, err == nil && n >= 0
		}
	}
	return 0, false
}

// point is one measured x, y of an implementation.
type point struct {
	impl string
	x, y float64
}

// sweep turns points into one series per implementation, sorted by x, in
// engine, baseline, raw order; points at or under zero (nothing measured)
// are left out, as a log axis cannot show them.
func sweep(pts []point) []series {
	var out []series
	for _, im := range []string{engineImpl.name, baselineImpl.name, "raw"} {
		var xys plotter.XYs
		for _, p := range pts {
			if p.impl == im && p.x > 0 && p.y > 0 {
				xys = append(xys, plotter.XY{X: p.x, Y: p.y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		slices.SortFunc(xys, func(a, b plotter.XY) int { return cmp.Compare(a.X, b.X) })
		col, glyph := implStyle(im)
		out = append(out, series{name: im, xys: xys, color: col, glyph: glyph})
	}
	return out
}

// bounds is the smallest and largest x and y over the series.
func bounds(ss []series) (xlo, xhi, ylo, yhi float64) {
	xlo, ylo = math.Inf(1), math.Inf(1)
	for _, s := range ss {
		for _, p := range s.xys {
			xlo, xhi, ylo, yhi = min(xlo, p.X), max(xhi, p.X), min(ylo, p.Y), max(yhi, p.Y)
		}
	}
	return xlo, xhi, ylo, yhi
}

// xValues is the distinct x of the series, ascending.
func xValues(ss []series) []float64 {
	var xs []float64
	for _, s := range ss {
		for _, pt := range s.xys {
			if !slices.Contains(xs, pt.X) {
				xs = append(xs, pt.X)
			}
		}
	}
	slices.Sort(xs)
	return xs
}

// toLog puts every point of the series on the log axes.
func toLog(ss []series) {
	for _, s := range ss {
		for i, p := range s.xys {
			s.xys[i] = plotter.XY{X: lg(p.X), Y: lg(p.Y)}
		}
	}
}

// sweepChart is a figure over a sweep: what it plots and how to label it.
type sweepChart struct {
	file, title, caption string
	xLabel, yLabel       string
	pts                  []point
	fx, fy               func(float64) string // tick labels
	// extra adds series across the x axis's range, lo to hi (a ceiling).
	extra func(lo, hi float64) []series
}

// draw renders the chart; ok is false when nothing was measured.
func (sc sweepChart) draw() (c chart, ok bool, err error) {
	ss := sweep(sc.pts)
	if len(ss) == 0 {
		return chart{}, false, nil
	}
	p := newPlot(sc.title, sc.xLabel, sc.yLabel)
	xs := xValues(ss)
	xlo, xhi := xs[0]/1.6, xs[len(xs)-1]*1.6 // room for the end points
	atValues(&p.X, xlo, xhi, xs, sc.fx)
	if sc.extra != nil {
		ss = append(ss, sc.extra(xlo, xhi)...)
	}
	_, _, ylo, yhi := bounds(ss)
	logAxis(&p.Y, ylo, yhi, sc.fy)
	toLog(ss)
	if err := addSeries(p, ss); err != nil {
		return chart{}, false, err
	}
	svg, err := render(p, halfWidth, halfHeight)
	return chart{file: sc.file, title: sc.title, caption: sc.caption, svg: svg}, true, err
}

// drawAll renders the charts that have data.
func drawAll(scs ...sweepChart) ([]chart, error) {
	var out []chart
	for _, sc := range scs {
		c, ok, err := sc.draw()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.file, err)
		}
		if ok {
			out = append(out, c)
		}
	}
	return out, nil
}

// onewayCharts are oneway's payload throughput and message rate by
// message size, the first against the raw socket's ceiling.
func (r *Report) onewayCharts() ([]chart, error) {
	var mbs, rate []point
	for _, res := range r.Results {
		if res.Scenario != ScenarioOneway {
			continue
		}
		if size, ok := parseSizeName(res.Case); ok {
			mbs = append(mbs, point{res.Impl, float64(size), res.BytesPerSec / 1e6})
			rate = append(rate, point{res.Impl, float64(size), res.MsgsPerSec})
		}
	}
	sizeLabel := func(x float64) string { return sizeName(int(x)) }
	raw, hasRaw := find(r.Results, ScenarioRawpump, sizeName(rawPumpFrame), "raw")
	ceiling := func(lo, hi float64) []series {
		if !hasRaw || raw.BytesPerSec <= 0 {
			return nil
		}
		v := raw.BytesPerSec / 1e6
		return []series{{name: fmt.Sprintf("raw socket, 64 KiB frames (%s MB/s)", fmtFloat(v)),
			xys: plotter.XYs{{X: lo, Y: v}, {X: hi, Y: v}}, color: colorRaw, dashed: true}}
	}
	return drawAll(sweepChart{
		file: "oneway-throughput.svg", title: "oneway: payload throughput by message size",
		caption: fmt.Sprintf("One sender streaming messages of one size to one receiver over %s, in payload bytes per second. "+
			"The dashed line is rawpump: pre-framed 64 KiB frames through a plain socket, the machine's ceiling.", r.transportName()),
		xLabel: "message size (log scale)", yLabel: "payload throughput (log scale)",
		pts: mbs, fx: sizeLabel, fy: fmtMBs, extra: ceiling,
	}, sweepChart{
		file: "oneway-rate.svg", title: "oneway: messages per second by message size",
		caption: "The same runs as messages delivered per second: small messages show the cost per message, large ones the cost of the copies.",
		xLabel:  "message size (log scale)", yLabel: "messages per second (log scale)",
		pts: rate, fx: sizeLabel, fy: fmtRate,
	})
}

// scaleCharts are scale's receiving CPU time per message by sender count
// and per KiB by message size.
func (r *Report) scaleCharts() ([]chart, error) {
	var bySenders, bySize []point
	for _, res := range r.Results {
		n, sz, ok := strings.Cut(res.Case, "x")
		if res.Scenario != ScenarioScale || !ok || res.CPUPerMsg <= 0 {
			continue
		}
		senders, err := strconv.Atoi(n)
		size, okSize := parseSizeName(sz)
		if err != nil || !okSize {
			continue
		}
		if size == 1<<10 {
			bySenders = append(bySenders, point{res.Impl, float64(senders), res.CPUPerMsg / 1e3})
		}
		if senders == 10 {
			bySize = append(bySize, point{res.Impl, float64(size), res.CPUPerKiB / 1e3})
		}
	}
	return drawAll(sweepChart{
		file: "scale-senders.svg", title: "scale: receiving CPU per message by sender count",
		caption: "Raw sender connections in a child process stream 1 KiB messages into one fresh node; the node process's CPU time " +
			"(user and system) per message received. Flat is good: the node's cost does not grow with its connections.",
		xLabel: "sender connections (log scale)", yLabel: "CPU time per message (log scale)",
		pts: bySenders, fx: func(x float64) string { return strconv.Itoa(int(x)) }, fy: fmtMicros,
	}, sweepChart{
		file: "scale-sizes.svg", title: "scale: receiving CPU per KiB by message size",
		caption: "Ten sender connections streaming messages of each size: the node process's CPU time per KiB of payload received.",
		xLabel:  "message size (log scale)", yLabel: "CPU time per KiB (log scale)",
		pts: bySize, fx: func(x float64) string { return sizeName(int(x)) }, fy: fmtMicros,
	})
}
