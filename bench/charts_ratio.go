package bench

import (
	"fmt"
	"image/color"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// The advantage chart puts every engine/baseline comparison on one log
// axis as the engine's advantage: the ratio when higher is better, its
// inverse when lower is, so that right of 1x always means the engine did
// better. Bars grow from 1x, green to the right and red to the left.

// advantageRow is one bar: a comparison's label and scenario, and the
// engine's advantage.
type advantageRow struct {
	label, scenario string
	adv             float64
}

// advantageRows picks the comparisons worth a bar: one per distinct
// ratio (oneway's, fanin's and scale's MB/s repeat their msgs/s, scale's
// CPU/KiB its CPU/msg), none for allocations (the engine's are zero,
// which no ratio shows), wire bytes (the same frames) or a side that
// measured nothing.
func advantageRows(cs []Comparison) []advantageRow {
	var rows []advantageRow
	for _, c := range cs {
		switch {
		case c.Engine <= 0 || c.Baseline <= 0:
			continue
		case c.Metric == mAllocs.name || c.Metric == mWire.name:
			continue
		case c.Metric == mMBs.name && (c.Scenario == ScenarioOneway || c.Scenario == ScenarioScale || c.Scenario == ScenarioFanin):
			continue
		case c.Metric == mCPUKiB.name:
			continue
		}
		adv := c.Engine / c.Baseline
		if c.Better == "lower" {
			adv = c.Baseline / c.Engine
		}
		label := c.Scenario + " " + c.Case + " " + c.Metric
		rows = append(rows, advantageRow{label: label, scenario: c.Scenario, adv: adv})
	}
	return rows
}

// advantageBars draws the rows as bars from 1x, the first at the top,
// each with its value at its end, every other scenario on a shaded band.
type advantageBars struct {
	rows  []advantageRow
	label text.Style
}

// Plot implements plot.Plotter.
func (b advantageBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	half := (trY(0) - trY(1)) * 0.32
	band, shaded := "", true
	for i, r := range b.rows {
		if r.scenario != band {
			band, shaded = r.scenario, !shaded
		}
		if shaded {
			y0, y1 := trY(b.y(i)-0.5), trY(b.y(i)+0.5)
			c.FillPolygon(colorBand, []vg.Point{{X: c.Min.X, Y: y0}, {X: c.Max.X, Y: y0}, {X: c.Max.X, Y: y1}, {X: c.Min.X, Y: y1}})
		}
	}
	for i, r := range b.rows {
		y := trY(b.y(i))
		x0, x1 := trX(lg(1)), trX(lg(r.adv))
		col := color.Color(colorBetter)
		if r.adv < 1 {
			col = colorWorse
		}
		c.FillPolygon(col, []vg.Point{{X: x0, Y: y - half}, {X: x1, Y: y - half}, {X: x1, Y: y + half}, {X: x0, Y: y + half}})
		sty := b.label
		pad := vg.Points(4)
		if r.adv < 1 {
			sty.XAlign, pad = text.XRight, -pad
		}
		c.FillText(sty, vg.Point{X: x1 + pad, Y: y}, fmtAdvantage(r.adv))
	}
}

// y is row i's place on the y axis: the first row at the top.
func (b advantageBars) y(i int) float64 { return float64(len(b.rows) - 1 - i) }

// DataRange implements plot.DataRanger, on the log axis.
func (b advantageBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	lo, hi := b.span()
	return lg(lo), lg(hi), -0.6, float64(len(b.rows)) - 0.4
}

// span is the advantages the x axis covers: from 1x to every bar's end,
// with room for the value labels, and at least 0.5x..2x so that near-even
// results read as near even.
func (b advantageBars) span() (lo, hi float64) {
	lo, hi = 0.5*1.8, 2/1.8
	for _, r := range b.rows {
		lo, hi = min(lo, r.adv), max(hi, r.adv)
	}
	return lo / 1.8, hi * 1.8
}

// fmtAdvantage prints an advantage with two significant digits: 0.62x,
// 3.1x, 45x, 180x.
func fmtAdvantage(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0fx", v)
	}
	return fmt.Sprintf("%.2gx", v)
}

// advantageChart is the engine's advantage over the baseline for every
// comparison with a bar.
func (r *Report) advantageChart() ([]chart, error) {
	rows := advantageRows(r.Comparisons)
	if len(rows) == 0 {
		return nil, nil
	}
	p := newPlot("engine vs baseline: the engine's advantage, metric by metric",
		"engine's advantage over the same-run baseline (log scale; right of 1x: the engine did better)", "")
	bars := advantageBars{rows: rows, label: text.Style{Color: color.Black, Font: sansFont(9, false), XAlign: text.XLeft, YAlign: text.YCenter, Handler: p.Y.Tick.Label.Handler}}
	p.Add(bars)
	lo, hi := bars.span()
	logAxis(&p.X, lo, hi, fmtTimes)
	var ticks plot.ConstantTicks
	for i, row := range rows {
		ticks = append(ticks, plot.Tick{Value: bars.y(i), Label: row.label})
	}
	p.Y.Tick.Marker = ticks
	p.Y.Min, p.Y.Max = -0.6, float64(len(rows))-0.4
	parity, err := plotter.NewLine(plotter.XYs{{X: lg(1), Y: p.Y.Min}, {X: lg(1), Y: p.Y.Max}})
	if err != nil {
		return nil, err
	}
	parity.Color, parity.Width = color.Gray{0x40}, vg.Points(1)
	p.Add(parity)
	h := vg.Length(90 + 17*len(rows))
	svg, err := render(p, wideWidth, h)
	if err != nil {
		return nil, err
	}
	return []chart{{file: "advantage.svg", title: "engine vs baseline, metric by metric", wide: true, svg: svg,
		caption: "Every comparison as the engine's advantage over the same-run baseline: right of 1x the engine did better " +
			"(more messages or bytes per second; shorter round trips; less memory, goroutines or CPU), left of it worse. " +
			"Allocations per message are in the table: the engine's are zero, which no ratio can show."}}, nil
}
