package bench

import (
	"encoding/xml"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// exponentialRTTs are n round trips, sorted: base plus an exponential
// tail of mean base*spread, at evenly spaced quantiles.
func exponentialRTTs(n int, base time.Duration, spread float64) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		u := 1 - (float64(i)+0.5)/float64(n)
		out[i] = base + time.Duration(float64(base)*spread*-math.Log(u))
	}
	return out
}

// syntheticReport is a report of every charted scenario with made-up
// figures, the latency ones from generated samples.
func syntheticReport() *Report {
	o := DefaultOptions()
	o.Scenarios = []string{ScenarioRawpump, ScenarioOneway, ScenarioPingpong, ScenarioHbload, ScenarioConns, ScenarioScale}
	var rs []Result
	lat := func(sc, cas, im string, base time.Duration, spread float64) {
		r := Result{Scenario: sc, Case: cas, Impl: im}
		r.latency(exponentialRTTs(20_000, base, spread), time.Second)
		rs = append(rs, r)
	}
	tput := func(sc, cas, im string, size int, msgs uint64, mallocs uint64) {
		r := Result{Scenario: sc, Case: cas, Impl: im}
		r.throughput(msgs, size, time.Second, mallocs)
		r.WirePerMsg = float64(size + 5)
		rs = append(rs, r)
	}
	tput(ScenarioRawpump, "64KiB", "raw", 64<<10, 90_000, 0)
	lat(ScenarioPingpong, "64B", "raw", 12*time.Microsecond, 0.3)
	for i, size := range o.Sizes {
		tput(ScenarioOneway, sizeName(size), "engine", size, []uint64{3_000_000, 1_500_000, 70_000, 4_000}[i], 0)
		tput(ScenarioOneway, sizeName(size), "baseline", size, []uint64{900_000, 600_000, 40_000, 3_000}[i], 2_000_000)
	}
	lat(ScenarioPingpong, "64B", "engine", 22*time.Microsecond, 0.5)
	lat(ScenarioPingpong, "64B", "baseline", 30*time.Microsecond, 0.8)
	for _, im := range []string{"engine", "baseline"} {
		slow := map[string]float64{"engine": 1, "baseline": 1.4}[im]
		lat(ScenarioHbload, hbCtrlIdle, im, time.Duration(25*slow)*time.Microsecond, 0.5)
		loaded := map[string]time.Duration{"engine": 60 * time.Microsecond, "baseline": 4 * time.Millisecond}[im]
		lat(ScenarioHbload, hbCtrlLoaded, im, loaded, 1.5)
		tput(ScenarioHbload, hbBulkAlone, im, hbBulkSize, uint64(40_000/slow), 0)
		tput(ScenarioHbload, hbBulkLoaded, im, hbBulkSize, uint64(36_000/slow), 0)
	}
	for _, im := range []string{"engine", "baseline"} {
		rs = append(rs, Result{Scenario: ScenarioConns, Case: "2000 idle", Impl: im, Conns: 2000,
			BytesPerConn: map[string]float64{"engine": 3_000, "baseline": 21_000}[im], Goroutines: map[string]int{"engine": 0, "baseline": 2000}[im]})
		for _, pt := range []scalePoint{{1, 1 << 10}, {10, 1 << 10}, {100, 1 << 10}, {10, 64}, {10, 64 << 10}} {
			r := Result{Scenario: ScenarioScale, Impl: im, Conns: pt.senders}
			r.Case = fmt.Sprintf("%dx%s", pt.senders, sizeName(pt.size))
			r.throughput(1_000_000/uint64(1+pt.size/1024), pt.size, time.Second, 0)
			r.CPUPerMsg = map[string]float64{"engine": 400, "baseline": 1100}[im] * (1 + float64(pt.size)/4096) * (1 + math.Log10(float64(pt.senders))/8)
			r.CPUPerKiB = r.CPUPerMsg * 1024 / float64(pt.size)
			rs = append(rs, r)
		}
	}
	rep := &Report{Date: "2026-01-02T03:04:05Z", Machine: Machine{CPU: "Test CPU @ 3GHz", CPUs: 2, OS: "linux/amd64", Go: "go1.26"}, Options: o, Results: rs}
	rep.Comparisons = compare(rs, nil)
	rep.Targets = targets(rs, o)
	return rep
}

// TestWriteHTML writes reports of several shapes and checks the page
// and each chart it shows: the page parses as XML (it is written
// well-formed: every element closed, only XML's entities), every <img>
// names an SVG beside it that parses too, and the charts are the ones
// the results allow.
func TestWriteHTML(t *testing.T) {
	full := syntheticReport()
	only := func(scenarios ...string) *Report {
		r := *syntheticReport()
		r.Results = slices.DeleteFunc(slices.Clone(r.Results), func(res Result) bool { return !slices.Contains(scenarios, res.Scenario) })
		r.Options.Scenarios = scenarios
		r.Comparisons, r.Targets = compare(r.Results, nil), targets(r.Results, r.Options)
		return &r
	}
	failed := &Report{Date: "2026-01-02T03:04:05Z", Options: DefaultOptions(), Errors: []string{"oneway 64B engine: connection refused <&>"}}
	cases := []struct {
		name   string
		rep    *Report
		charts []string
		texts  []string // on the page
	}{
		{"every chart", full,
			[]string{"advantage.svg", "hbload-cdf.svg", "oneway-rate.svg", "oneway-throughput.svg", "pingpong-cdf.svg", "scale-senders.svg", "scale-sizes.svg"},
			[]string{"Targets", "64 B one-way msgs/s vs baseline", "Engine vs baseline", "targets met", "Scenarios, in run order: rawpump, oneway"}},
		{"latency only", only(ScenarioPingpong),
			[]string{"advantage.svg", "pingpong-cdf.svg"},
			[]string{"pingpong: round-trip latency CDF", "ping-pong p99 vs raw round-trip floor"}},
		{"throughput only", only(ScenarioRawpump, ScenarioOneway),
			[]string{"advantage.svg", "oneway-rate.svg", "oneway-throughput.svg"},
			[]string{"oneway: payload throughput by message size", "rawpump"}},
		{"nothing measured", failed, nil,
			[]string{"Steps that failed", "connection refused &lt;&amp;&gt;"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := c.rep.WriteHTML(dir); err != nil {
				t.Fatal(err)
			}
			page, err := os.ReadFile(filepath.Join(dir, HTMLIndex))
			if err != nil {
				t.Fatal(err)
			}
			imgs := checkPage(t, page)
			if !slices.Equal(imgs, c.charts) {
				t.Errorf("page shows %q, want %q", imgs, c.charts)
			}
			svgs, _ := filepath.Glob(filepath.Join(dir, "*.svg"))
			if len(svgs) != len(c.charts) {
				t.Errorf("%d SVG files beside the page, want %d", len(svgs), len(c.charts))
			}
			for _, img := range imgs {
				checkSVG(t, filepath.Join(dir, img))
			}
			for _, want := range c.texts {
				if !strings.Contains(string(page), want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
}

// checkPage parses an HTML page as XML, which the report's pages are,
// and returns the images it shows, sorted.
func checkPage(t *testing.T, page []byte) []string {
	t.Helper()
	if !strings.HasPrefix(string(page), "<!DOCTYPE html>") {
		t.Errorf("page does not start with <!DOCTYPE html>")
	}
	d := xml.NewDecoder(strings.NewReader(string(page)))
	var imgs []string
	var root string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			for _, a := range se.Attr {
				if se.Name.Local == "img" && a.Name.Local == "src" {
					imgs = append(imgs, a.Value)
				}
			}
		}
	}
	if root != "html" {
		t.Errorf("root element <%s>, want <html>", root)
	}
	slices.Sort(imgs)
	return imgs
}

// checkSVG parses a chart and checks that it is an SVG with a size and
// some text (a title, axis labels).
func checkSVG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var svg struct {
		XMLName xml.Name
		Width   string   `xml:"width,attr"`
		Height  string   `xml:"height,attr"`
		Texts   []string `xml:"g>text"`
	}
	if err := xml.NewDecoder(f).Decode(&svg); err != nil {
		t.Fatalf("%s: not well-formed: %v", filepath.Base(path), err)
	}
	if svg.XMLName.Local != "svg" || svg.Width == "" || svg.Height == "" {
		t.Errorf("%s: root <%s> width %q height %q, want an <svg> with a size", filepath.Base(path), svg.XMLName.Local, svg.Width, svg.Height)
	}
	if len(svg.Texts) < 3 {
		t.Errorf("%s: %d texts, want a title and axis labels at least", filepath.Base(path), len(svg.Texts))
	}
}

// TestReportScreenshot opens a report in headless Chromium, as a person
// would, and checks that it drew a page: a PNG of the window's size
// that is not one colour. scripts/report-screenshot.sh installs
// Chromium where it is missing.
func TestReportScreenshot(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not on PATH: scripts/report-screenshot.sh installs it (apt-get install chromium)")
	}
	dir := t.TempDir()
	if err := syntheticReport().WriteHTML(dir); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "report.png")
	page := "file://" + filepath.Join(dir, HTMLIndex)
	cmd := exec.Command(chromium, "--headless", "--disable-gpu", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--window-size=1280,2000", "--screenshot="+out, page)
	done := make(chan error, 1)
	var output strings.Builder
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("chromium took over 2 minutes:\n%s", output.String())
	}
	f, ferr := os.Open(out)
	if ferr != nil {
		t.Fatalf("no screenshot (chromium: %v):\n%s", err, output.String())
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2000 {
		t.Errorf("screenshot is %dx%d, want 1280x2000", b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y && len(colours) < 10; y += 7 {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 7 {
			r, g, b, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, b, a}] = true
		}
	}
	if len(colours) < 10 {
		t.Errorf("screenshot has %d colours: a blank page?", len(colours))
	}
}
