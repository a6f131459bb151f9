package bench

import (
	"fmt"
	"math"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// Latency charts are CDFs of round trips: the round trip on a log x axis,
// the share of round trips at most that long on a y axis in nines
// (50%, 90%, 99%, 99.9%: each step up ten times rarer), so the tail the
// targets speak of gets as much room as the body.

// nines maps a quantile to the y axis: -log10(1-q). The slowest sample
// (q 1) sits at 1-1/n, the quantile from which nearest rank picks it.
func nines(q float64, n uint64) float64 {
	if q >= 1 {
		q = 1 - 1/float64(max(n, 2))
	}
	return -math.Log10(1 - q)
}

// cdfXYs is a result's CDF as chart points: the round trip in µs (not
// yet on the log axis: lg), the quantile in nines.
func cdfXYs(r Result) plotter.XYs {
	xys := make(plotter.XYs, 0, len(r.CDF))
	for _, p := range r.CDF {
		xys = append(xys, plotter.XY{X: max(float64(p.RTT), 1) / 1e3, Y: nines(p.Q, r.Messages)})
	}
	return xys
}

// ninesTicks label the y axis where its percentiles are round.
var ninesTicks = []struct {
	q     float64
	label string
}{{0, "0%"}, {0.5, "50%"}, {0.9, "90%"}, {0.99, "99%"}, {0.999, "99.9%"}, {0.9999, "99.99%"}, {0.99999, "99.999%"}}

// short rounds d to three significant digits: 29.6µs, 1.55ms, 971ms.
func short(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d.Round(time.Duration(math.Pow10(max(int(math.Floor(lg(float64(d))))-2, 0))))
}

// cdfCurve is one curve of a latency chart.
type cdfCurve struct {
	name   string
	r      Result
	dashed bool
}

// latencyChart draws curves as one CDF chart; ok is false when none has a
// distribution to draw.
func latencyChart(file, title, caption string, curves []cdfCurve) (c chart, ok bool, err error) {
	var ss []series
	lo, hi, top := math.Inf(1), 0.0, 2.0
	for _, cv := range curves {
		if len(cv.r.CDF) < 2 {
			continue
		}
		xys := cdfXYs(cv.r)
		for i, p := range xys {
			lo, hi, top = min(lo, p.X), max(hi, p.X), max(top, p.Y)
			xys[i].X = lg(p.X)
		}
		col, _ := implStyle(cv.r.Impl)
		name := fmt.Sprintf("%s: p50 %v, p99 %v", cv.name, short(cv.r.P50), short(cv.r.P99))
		if cv.r.Messages < 1000 { // a thin curve: say how thin
			name += fmt.Sprintf(" (%d round trip%s)", cv.r.Messages, map[bool]string{true: "s"}[cv.r.Messages != 1])
		}
		ss = append(ss, series{name: name, xys: xys, color: col, dashed: cv.dashed})
	}
	if len(ss) == 0 {
		return chart{}, false, nil
	}
	p := newPlot(title, "round-trip time (log scale)", "share of round trips at most that long")
	logAxis(&p.X, lo, hi, fmtMicros)
	p.Y.Min, p.Y.Max = 0, math.Ceil(top-1e-9)
	var ticks plot.ConstantTicks
	for _, t := range ninesTicks {
		if y := nines(t.q, 0); y <= p.Y.Max+1e-9 {
			ticks = append(ticks, plot.Tick{Value: y, Label: t.label})
		}
	}
	p.Y.Tick.Marker = ticks
	if err := addSeries(p, ss); err != nil {
		return chart{}, false, err
	}
	svg, err := render(p, halfWidth, halfHeight)
	return chart{file: file, title: title, caption: caption, svg: svg}, true, err
}

// pingpongChart is the CDF of pingpong's round trips: engine, baseline
// and the raw socket floor.
func (r *Report) pingpongChart() ([]chart, error) {
	var curves []cdfCurve
	for _, im := range []string{engineImpl.name, baselineImpl.name, "raw"} {
		for _, res := range r.Results {
			if res.Scenario == ScenarioPingpong && res.Impl == im {
				name := im
				if im == "raw" {
					name = "raw socket floor"
				}
				curves = append(curves, cdfCurve{name: name + " " + res.Case, r: res})
			}
		}
	}
	c, ok, err := latencyChart("pingpong-cdf.svg", "pingpong: round-trip latency CDF",
		fmt.Sprintf("One %s message at a time, sent and echoed back, timed at the sender, over %s. "+
			"The raw socket floor is the same bytes echoed by a goroutine doing nothing else. "+
			"Further left is faster; the y axis is in nines, so each step up is ten times rarer.", sizeName(r.Options.PingSize), r.transportName()), curves)
	if !ok {
		return nil, err
	}
	return []chart{c}, err
}

// hbloadChart is the CDF of hbload's control round trips, idle (dashed)
// and under the bulk stream (solid), with the raw floor when pingpong
// measured it at hbload's ping size.
func (r *Report) hbloadChart() ([]chart, error) {
	var curves []cdfCurve
	for _, im := range []string{engineImpl.name, baselineImpl.name} {
		if res, ok := find(r.Results, ScenarioHbload, hbCtrlLoaded, im); ok {
			curves = append(curves, cdfCurve{name: im + " under bulk load", r: res})
		}
		if res, ok := find(r.Results, ScenarioHbload, hbCtrlIdle, im); ok {
			curves = append(curves, cdfCurve{name: im + " idle", r: res, dashed: true})
		}
	}
	if raw, ok := find(r.Results, ScenarioPingpong, sizeName(hbPingSize), "raw"); ok && len(curves) > 0 {
		curves = append(curves, cdfCurve{name: "raw socket floor", r: raw, dashed: true})
	}
	c, ok, err := latencyChart("hbload-cdf.svg", "hbload: heartbeat latency under a bulk stream",
		"Round trips of a 64 B control-class ping between two nodes, alone (dashed) and while one 64 KiB bulk stream "+
			"runs between the same nodes (solid). The engine carries control messages on a connection of their own; "+
			"the baseline's pings queue behind the bulk bytes on its one connection.", curves)
	if !ok {
		return nil, err
	}
	return []chart{c}, err
}

// transportName says what the run's engine and baseline spoke.
func (r *Report) transportName() string {
	s := "plain TCP on loopback"
	if r.Options.TLS {
		s = "mutual TLS 1.3 on loopback"
	}
	if r.Options.LZ4 {
		s += " with LZ4"
	}
	return s
}
