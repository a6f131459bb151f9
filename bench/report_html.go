package bench

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
)

// report_html.tmpl is the page: a header with the machine and settings,
// the targets, the charts two to a row, then the full tables.
//
//go:embed report_html.tmpl
var reportHTML string

var reportPage = template.Must(template.New("report").Parse(reportHTML))

// HTMLIndex is the name of the page WriteHTML writes.
const HTMLIndex = "index.html"

// WriteHTML writes the report as a web page, dir/index.html, with its
// charts beside it as SVG files: latency CDFs of pingpong and hbload,
// oneway's throughput and message rate by size against the raw socket's
// ceiling, the engine's advantage over the baseline metric by metric, and
// scale's CPU cost when it ran; then the targets, the comparison table
// and hostile's and stream's figures. Charts without data are left out.
// dir is created if need be; files of an earlier report are overwritten.
func (r *Report) WriteHTML(dir string) error {
	charts, err := r.charts()
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.file), c.svg, 0o644); err != nil {
			return err
		}
	}
	var page bytes.Buffer
	if err := reportPage.Execute(&page, r.page(charts)); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, HTMLIndex), page.Bytes(), 0o644)
}

// pageData is what the template shows.
type pageData struct {
	Title, Date, Machine, Settings, Medians string
	Scenarios                               string
	Targets                                 []Target
	TargetsMet                              int
	Figures                                 []figure
	Rows                                    []tableRow
	HostileNote                             string
	HostileHead                             []string
	Hostile                                 [][]string
	Stream                                  []string
	Errors                                  []string
}

// figure is a chart as the page shows it.
type figure struct {
	File, Title, Caption string
	Wide                 bool
}

func (r *Report) page(charts []chart) pageData {
	d := pageData{
		Title:     "tcbench " + r.Date,
		Date:      r.Date,
		Machine:   r.machineLine(),
		Settings:  r.settingsLine(),
		Scenarios: strings.Join(r.Options.order(), ", "),
		Targets:   r.Targets,
		Rows:      r.tableRows(),
		Stream:    streamLines(r.Results),
		Errors:    r.Errors,
	}
	if r.Options.Runs > 1 {
		d.Medians = fmt.Sprintf("Figures are medians of %d interleaved runs, [min..max] over them.", r.Options.Runs)
	}
	for _, t := range r.Targets {
		if t.Met {
			d.TargetsMet++
		}
	}
	for _, c := range charts {
		d.Figures = append(d.Figures, figure{File: c.file, Title: c.title, Caption: c.caption, Wide: c.wide})
	}
	d.HostileHead, d.Hostile = hostileRows(r.Results)
	d.HostileNote = hostileNote(r.Results)
	return d
}
