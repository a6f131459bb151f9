package bench

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The report's charts are gonum/plot plots rendered to SVG: latency CDFs
// (charts_latency.go), throughput and cost by size and load
// (charts_throughput.go), and the engine's advantage over the baseline
// metric by metric (charts_ratio.go), on log axes (charts_axes.go). This
// file holds what they share: the figure type, the look, the series and
// the SVG rendering.

// chart is one figure of the HTML report.
type chart struct {
	file    string // the SVG's file name in the report directory
	title   string // the figure's heading and the image's alt text
	caption string // what it shows and how to read it
	wide    bool   // spans the page's width rather than half of it
	svg     []byte
}

// Chart sizes, in points: half-width figures sit two to a row.
const (
	halfWidth  vg.Length = 480
	halfHeight vg.Length = 330
	wideWidth  vg.Length = 980
)

// Series colours and glyphs: one per implementation, the same in every
// chart (Tableau's blue and orange, and a grey for raw sockets).
var (
	colorEngine   = color.RGBA{0x1f, 0x77, 0xb4, 0xff}
	colorBaseline = color.RGBA{0xff, 0x7f, 0x0e, 0xff}
	colorRaw      = color.RGBA{0x59, 0x59, 0x59, 0xff}
	colorBetter   = color.RGBA{0x2c, 0xa0, 0x2c, 0xff}
	colorWorse    = color.RGBA{0xd6, 0x27, 0x28, 0xff}
	colorGrid     = color.Gray{0xe4}
	colorBand     = color.NRGBA{0x30, 0x50, 0x80, 0x12} // translucent: the grid shows through
)

// implStyle is how an implementation's series is drawn.
func implStyle(impl string) (color.Color, draw.GlyphDrawer) {
	switch impl {
	case engineImpl.name:
		return colorEngine, draw.CircleGlyph{}
	case baselineImpl.name:
		return colorBaseline, draw.TriangleGlyph{}
	}
	return colorRaw, draw.SquareGlyph{}
}

// sansFont is the charts' typeface at size points: Liberation Sans, which
// gonum/plot ships and measures text with (metrically Arial's twin; the
// SVG names both, see render).
func sansFont(size float64, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: vg.Points(size)}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

// figurePlot is a plot and its legend entries, which render sets under
// the plot rather than over the data.
type figurePlot struct {
	*plot.Plot
	legend []legendItem
}

// legendItem is one legend entry: its text and its thumbnails.
type legendItem struct {
	name   string
	thumbs []plot.Thumbnailer
}

// newPlot is a plot with the report's look: a bold title, labelled axes
// and a light grid under the data.
func newPlot(title, xLabel, yLabel string) *figurePlot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font = sansFont(13, true)
	p.Title.Padding = vg.Points(8)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = sansFont(11, false)
		a.Tick.Label.Font = sansFont(9.5, false)
		a.Padding = vg.Points(4)
	}
	p.X.Label.Text, p.Y.Label.Text = xLabel, yLabel
	g := plotter.NewGrid()
	g.Vertical.Color, g.Horizontal.Color = colorGrid, colorGrid
	p.Add(g)
	return &figurePlot{Plot: p}
}

// addLegend enters a legend entry.
func (fp *figurePlot) addLegend(name string, thumbs ...plot.Thumbnailer) {
	fp.legend = append(fp.legend, legendItem{name, thumbs})
}

// legendGap is the room between the x axis label and the legend under
// it; margin the room around the plot.
const (
	legendGap vg.Length = 10
	margin    vg.Length = 6
)

// render draws fp into an SVG w points wide: the plot h points high and
// its legend under it, in columns aligned with the data area.
func render(fp *figurePlot, w, h vg.Length) ([]byte, error) {
	cols := legendColumns(fp.legend, w)
	var legendH vg.Length
	for _, l := range cols {
		legendH = max(legendH, l.Rectangle(draw.Canvas{}).Size().Y)
	}
	if legendH > 0 {
		legendH += legendGap + 6
	}
	c := vgsvg.New(w, h+legendH)
	whole := draw.New(c)
	plotArea := draw.Crop(whole, margin, -margin, legendH, -margin)
	fp.Draw(plotArea)
	if len(cols) > 0 {
		data := fp.DataCanvas(plotArea)
		colW := (whole.Max.X - data.Min.X) / vg.Length(len(cols))
		for i, l := range cols {
			x0 := data.Min.X + vg.Length(i)*colW
			l.Draw(draw.Canvas{Canvas: c, Rectangle: vg.Rectangle{Min: vg.Point{X: x0}, Max: vg.Point{X: x0 + colW, Y: legendH - legendGap}}})
		}
	}
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, err
	}
	// The SVG names the one face gonum measured with; where it is not
	// installed, Arial and Helvetica have the same widths.
	return []byte(strings.ReplaceAll(b.String(), "font-family:Liberation Sans;", "font-family:'Liberation Sans',Arial,Helvetica,sans-serif;")), nil
}

// legendColumns sets the entries in two columns (filled top to bottom,
// then left to right) when there are three or more and they fit side by
// side in w, else in one.
func legendColumns(items []legendItem, w vg.Length) []plot.Legend {
	if len(items) == 0 {
		return nil
	}
	newLegend := func() plot.Legend {
		l := plot.NewLegend()
		l.TextStyle.Font = sansFont(10, false)
		l.Top, l.Left = true, true
		l.Padding = vg.Points(3)
		l.ThumbnailWidth = vg.Points(24)
		return l
	}
	probe := newLegend()
	var widest vg.Length
	for _, e := range items {
		widest = max(widest, probe.ThumbnailWidth+probe.TextStyle.Rectangle("   "+e.name).Max.X)
	}
	n := 2
	if len(items) < 3 || 2*widest > 0.85*w {
		n = 1
	}
	perCol := (len(items) + n - 1) / n
	var cols []plot.Legend
	for i := 0; i < len(items); i += perCol {
		l := newLegend()
		for _, e := range items[i:min(i+perCol, len(items))] {
			l.Add(e.name, e.thumbs...)
		}
		cols = append(cols, l)
	}
	return cols
}

// series is one line of a chart: its legend name, points and style.
type series struct {
	name   string
	xys    plotter.XYs
	color  color.Color
	glyph  draw.GlyphDrawer // nil: no points, a line only
	dashed bool
}

// addSeries draws each series as a line (with points when it has a
// glyph) and enters it in the legend.
func addSeries(fp *figurePlot, ss []series) error {
	for _, s := range ss {
		l, err := plotter.NewLine(s.xys)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		l.Color, l.Width = s.color, vg.Points(1.8)
		if s.dashed {
			l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		fp.Add(l)
		if s.glyph == nil {
			fp.addLegend(s.name, l)
			continue
		}
		pts, err := plotter.NewScatter(s.xys)
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		pts.Color, pts.Shape, pts.Radius = s.color, s.glyph, vg.Points(3.2)
		fp.Add(pts)
		fp.addLegend(s.name, l, pts)
	}
	return nil
}

// charts lists the report's figures, those the results allow.
func (r *Report) charts() ([]chart, error) {
	var out []chart
	for _, f := range []func() ([]chart, error){r.onewayCharts, r.pingpongChart, r.hbloadChart, r.advantageChart, r.scaleCharts} {
		cs, err := f()
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}
