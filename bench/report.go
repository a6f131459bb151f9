package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Comparison is one metric of one case, engine against the same-run
// baseline (and the raw socket where there is one).
type Comparison struct {
	Scenario string `json:"scenario"`
	Case     string `json:"case"`
	Metric   string `json:"metric"`
	// Unit is what Engine, Baseline and Raw count: "ns" for the round
	// trips and CPU times, else the metric's own unit (msgs/s, MB/s, B).
	Unit     string  `json:"unit"`
	Engine   float64 `json:"engine"`
	Baseline float64 `json:"baseline"`
	// Ratio is Engine/Baseline.
	Ratio float64 `json:"ratio"`
	// Raw is the raw-socket figure for the same metric, when measured.
	Raw float64 `json:"raw,omitempty"`
	// Better says which direction wins: "higher" or "lower".
	Better string `json:"better"`
	// EngineRange and BaselineRange are the smallest and largest value
	// over the runs, when there was more than one (Options.Runs).
	EngineRange   *[2]float64 `json:"engine_range,omitempty"`
	BaselineRange *[2]float64 `json:"baseline_range,omitempty"`
}

// Target is one performance goal and where this run stands.
type Target struct {
	Name string `json:"name"`
	Goal string `json:"goal"`
	// Value is the figure the goal is about, in Unit: "x" for a ratio,
	// "ns", "B" or "allocs/msg"; Measured says it for people.
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	Measured string  `json:"measured"`
	Met      bool    `json:"met"`
}

// metric extracts one figure from a result.
type metric struct {
	name   string
	unit   string
	better string
	get    func(Result) float64
	format func(float64) string
}

var (
	mMsgs   = metric{"msgs/s", "msgs/s", "higher", func(r Result) float64 { return r.MsgsPerSec }, fmtCount}
	mMBs    = metric{"MB/s", "MB/s", "higher", func(r Result) float64 { return r.BytesPerSec / 1e6 }, fmtFloat}
	mAllocs = metric{"allocs/msg", "allocs/msg", "lower", allocs, fmtFloat2}
	mWire   = metric{"wire B/msg", "B/msg", "lower", func(r Result) float64 { return r.WirePerMsg }, fmtFloat}
	mP50    = metric{"p50", "ns", "lower", func(r Result) float64 { return float64(r.P50) }, fmtDur}
	mP99    = metric{"p99", "ns", "lower", func(r Result) float64 { return float64(r.P99) }, fmtDur}
	mP999   = metric{"p999", "ns", "lower", func(r Result) float64 { return float64(r.P999) }, fmtDur}
	mConn   = metric{"bytes/conn", "B", "lower", func(r Result) float64 { return r.BytesPerConn }, fmtBytes}
	mGor    = metric{"goroutines/1000 conns", "goroutines/1000 conns", "lower", func(r Result) float64 { return float64(r.Goroutines) }, fmtInt}
	mCPU    = metric{"CPU/msg", "ns", "lower", func(r Result) float64 { return r.CPUPerMsg }, fmtDur}
	mCPUKiB = metric{"CPU/KiB", "ns", "lower", func(r Result) float64 { return r.CPUPerKiB }, fmtDur}
)

// metricsOf lists the metrics each scenario compares.
var metricsOf = map[string][]metric{
	ScenarioOneway:   {mMsgs, mMBs, mAllocs, mWire},
	ScenarioPingpong: {mP50, mP99, mP999},
	ScenarioHbload:   {mP50, mP99, mP999, mMBs}, // per case: metricsFor
	ScenarioFanin:    {mMsgs, mMBs, mAllocs},
	ScenarioConns:    {mConn, mGor},
	ScenarioRawpump:  {mMBs},
	ScenarioScale:    {mMsgs, mMBs, mCPU, mCPUKiB},
}

// metricsFor lists the metrics compared for a result's case: hbload's
// control cases are round trips, its bulk cases a stream.
func metricsFor(r Result) []metric {
	if r.Scenario == ScenarioHbload {
		if hbStreamCase(r.Case) {
			return []metric{mMBs}
		}
		return []metric{mP50, mP99, mP999}
	}
	if r.Scenario == ScenarioScale && r.BytesPerConn != 0 { // its idle case
		return metricsOf[ScenarioConns]
	}
	return metricsOf[r.Scenario]
}

func allocs(r Result) float64 {
	if r.AllocsPerMsg == nil {
		return 0
	}
	return *r.AllocsPerMsg
}

// find returns the result of impl for scenario and case.
func find(rs []Result, scenario, cas, impl string) (Result, bool) {
	for _, r := range rs {
		if r.Scenario == scenario && r.Case == cas && r.Impl == impl {
			return r, true
		}
	}
	return Result{}, false
}

// compare pairs engine and baseline results case by case; runs, when
// there was more than one per case, give each side's range.
func compare(rs, runs []Result) []Comparison {
	var out []Comparison
	for _, e := range rs {
		if e.Impl != engineImpl.name {
			continue
		}
		b, ok := find(rs, e.Scenario, e.Case, baselineImpl.name)
		if !ok {
			continue
		}
		raw, hasRaw := find(rs, e.Scenario, e.Case, "raw")
		if e.Scenario == ScenarioOneway {
			raw, hasRaw = find(rs, ScenarioRawpump, e.Case, "raw")
		}
		for _, m := range metricsFor(e) {
			c := Comparison{Scenario: e.Scenario, Case: e.Case, Metric: m.name, Unit: m.unit, Engine: m.get(e), Baseline: m.get(b), Better: m.better}
			if c.Baseline != 0 {
				c.Ratio = c.Engine / c.Baseline
			}
			if hasRaw && m.name != mAllocs.name {
				c.Raw = m.get(raw)
			}
			if lo, hi, ok := spread(runs, keyOf(e), m); ok {
				c.EngineRange = &[2]float64{lo, hi}
			}
			if lo, hi, ok := spread(runs, keyOf(b), m); ok {
				c.BaselineRange = &[2]float64{lo, hi}
			}
			out = append(out, c)
		}
	}
	return out
}

// targets evaluates the performance goals of the spec against a run.
func targets(rs []Result, o Options) []Target {
	var out []Target
	add := func(name, goal string, v float64, unit, measured string, met bool) {
		out = append(out, Target{Name: name, Goal: goal, Value: v, Unit: unit, Measured: measured, Met: met})
	}
	if e, ok := find(rs, ScenarioOneway, "64B", "engine"); ok {
		if b, ok := find(rs, ScenarioOneway, "64B", "baseline"); ok && b.MsgsPerSec > 0 {
			v := e.MsgsPerSec / b.MsgsPerSec
			add("64 B one-way msgs/s vs baseline", ">= 3.00x", v, "x", fmt.Sprintf("%.2fx", v), v >= 3)
		}
		if e.AllocsPerMsg != nil {
			v := *e.AllocsPerMsg
			add("64 B one-way allocations per message (whole process)", "0 (< 0.01)", v, "allocs/msg", fmt.Sprintf("%.3f", v), v < 0.01)
		}
	}
	if e, ok := find(rs, ScenarioOneway, "64KiB", "engine"); ok {
		if raw, ok := find(rs, ScenarioRawpump, "64KiB", "raw"); ok && raw.BytesPerSec > 0 {
			v := e.BytesPerSec / raw.BytesPerSec
			goal := ">= 80% of rawpump"
			if o.TLS {
				goal += " (TLS run vs plaintext rawpump)"
			}
			add("64 KiB one-way bytes/s vs rawpump", goal, v, "x", fmt.Sprintf("%.0f%%", 100*v), v >= 0.8)
		}
	}
	if e, ok := find(rs, ScenarioPingpong, sizeName(o.PingSize), "engine"); ok {
		if raw, ok := find(rs, ScenarioPingpong, sizeName(o.PingSize), "raw"); ok && raw.P99 > 0 {
			v := float64(e.P99) / float64(raw.P99)
			add("ping-pong p99 vs raw round-trip floor", "<= 1.20x", v, "x", fmt.Sprintf("%.2fx (%v vs %v)", v, round(e.P99), round(raw.P99)), v <= 1.2)
		}
	}
	// vs is an hbload control case's latency, with the baseline's beside it.
	vs := func(e Result, of func(Result) time.Duration) string {
		if b, ok := find(rs, ScenarioHbload, e.Case, "baseline"); ok && of(b) != 0 {
			return fmt.Sprintf("%v (baseline %v)", round(of(e)), round(of(b)))
		}
		return round(of(e)).String()
	}
	p50 := func(r Result) time.Duration { return r.P50 }
	p99 := func(r Result) time.Duration { return r.P99 }
	if e, ok := find(rs, ScenarioHbload, hbCtrlLoaded, "engine"); ok && e.Messages > 0 {
		add("hbload control p50 under 64 KiB bulk load", "<= 100µs", float64(e.P50), "ns", vs(e, p50), e.P50 <= 100*time.Microsecond)
		add("hbload control p99 under 64 KiB bulk load", "<= 1ms", float64(e.P99), "ns", vs(e, p99), e.P99 <= time.Millisecond)
	}
	if e, ok := find(rs, ScenarioHbload, hbCtrlPaced, "engine"); ok && e.Messages > 0 {
		add("hbload control p50 under bulk load, 1 ms heartbeats", "<= 100µs", float64(e.P50), "ns", vs(e, p50), e.P50 <= 100*time.Microsecond)
	}
	if alone, ok := find(rs, ScenarioHbload, hbBulkAlone, "engine"); ok && alone.BytesPerSec > 0 {
		for _, c := range []struct{ cas, name string }{
			{hbBulkLoaded, "hbload bulk MB/s under control load vs alone"},
			{hbBulkPaced, "hbload bulk MB/s under 1 ms heartbeats vs alone"},
		} {
			if r, ok := find(rs, ScenarioHbload, c.cas, "engine"); ok {
				v := r.BytesPerSec / alone.BytesPerSec
				add(c.name, ">= 80% of solo", v, "x",
					fmt.Sprintf("%.0f%% (%s vs %s MB/s)", 100*v, fmtFloat(r.BytesPerSec/1e6), fmtFloat(alone.BytesPerSec/1e6)), v >= 0.8)
			}
		}
	}
	out = append(out, hostileTargets(rs)...)
	for _, e := range rs {
		if e.Scenario == ScenarioStream {
			worst := max(e.PeakRSSBytes, e.SenderPeakRSSBytes)
			add("stream "+e.Case+": peak RSS of each side", "< 64 MiB", float64(worst), "B",
				fmt.Sprintf("sender %s, receiver %s", fmtBytes(float64(e.SenderPeakRSSBytes)), fmtBytes(float64(e.PeakRSSBytes))), worst < streamRSSLimit)
		}
	}
	for _, e := range rs {
		if e.Scenario != ScenarioConns || e.Impl != "engine" {
			continue
		}
		if b, ok := find(rs, ScenarioConns, e.Case, "baseline"); ok && b.BytesPerConn > 0 {
			v := e.BytesPerConn / b.BytesPerConn
			add("idle connection memory vs baseline", "<= 0.25x", v, "x", fmt.Sprintf("%.2fx (%s vs %s)", v, fmtBytes(e.BytesPerConn), fmtBytes(b.BytesPerConn)), v <= 0.25)
		}
	}
	return out
}

// WriteTable prints the comparisons and targets as aligned text.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "tcbench %s  %s\n", r.Date, r.machineLine())
	fmt.Fprintln(w, r.settingsLine())
	if r.Options.Runs > 1 {
		fmt.Fprintf(w, "figures are medians of %d interleaved runs, [min..max] over them\n", r.Options.Runs)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	rows := r.tableRows()
	if len(rows) > 0 {
		fmt.Fprintln(tw, "scenario\tcase\tmetric\tengine\tbaseline\tengine/baseline\traw\t")
	}
	for _, row := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", row.Scenario, row.Case, row.Metric, row.Engine, row.Baseline, row.Ratio, row.Raw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeHostile(w, r.Results); err != nil {
		return err
	}
	writeStream(w, r.Results)
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, t := range r.Targets {
			status := "MISSED"
			if t.Met {
				status = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s\tgoal %s\t%s\n", t.Name, t.Measured, t.Goal, status)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintln(w, "error:", e)
	}
	return nil
}

// machineLine says where the numbers were taken.
func (r *Report) machineLine() string {
	return fmt.Sprintf("%s  %d CPU (%s)  %s", r.Machine.OS, r.Machine.CPUs, r.Machine.CPU, r.Machine.Go)
}

// settingsLine says how the run was set up.
func (r *Report) settingsLine() string {
	o := r.Options
	tls := fmt.Sprint(o.TLS)
	if o.TLS {
		tls += " tls_records=" + o.TLSRecords.String()
	}
	return fmt.Sprintf("tls=%s lz4=%v compressible=%v pool=%d loops=%d duration=%v deliver=%s batch=%d runs=%d rate_limit=off (engine and baseline)",
		tls, o.LZ4, o.compressible(), o.PoolSize, o.EventLoops, o.Duration, o.Deliver, o.batch(), max(o.Runs, 1))
}

// tableRow is one row of the comparison table, as WriteTable and
// WriteHTML print it.
type tableRow struct {
	Scenario, Case, Metric, Engine, Baseline, Ratio, Raw string
	// Verdict is "better" or "worse" when the engine beat the baseline,
	// or lost to it, by more than 5%; "" otherwise.
	Verdict string
}

// tableRows lists the comparisons in scenario order, with rawpump's own
// figures where rawpump falls.
func (r *Report) tableRows() []tableRow {
	var rows []tableRow
	for _, sc := range r.scenarios() {
		if sc == ScenarioRawpump {
			for _, res := range r.Results {
				if res.Scenario == ScenarioRawpump {
					rows = append(rows, tableRow{Scenario: sc, Case: res.Case, Metric: mMBs.name, Engine: "-", Baseline: "-", Ratio: "-", Raw: fmtFloat(res.BytesPerSec / 1e6)})
				}
			}
			continue
		}
		for _, c := range r.Comparisons {
			if c.Scenario != sc {
				continue
			}
			m := metricByName(c.Scenario, c.Metric)
			row := tableRow{Scenario: c.Scenario, Case: c.Case, Metric: c.Metric, Engine: withRange(m, c.Engine, c.EngineRange),
				Baseline: withRange(m, c.Baseline, c.BaselineRange), Ratio: "-", Raw: "-"}
			if c.Raw != 0 {
				row.Raw = m.format(c.Raw)
			}
			if c.Baseline != 0 {
				row.Ratio = fmtRatio(c.Ratio)
				adv := c.Ratio
				if c.Better == "lower" && c.Ratio > 0 {
					adv = 1 / c.Ratio
				}
				switch {
				case adv > 1.05:
					row.Verdict = "better"
				case adv < 1/1.05:
					row.Verdict = "worse"
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// scenarios is the order the report shows scenarios in: the run's, then
// any others (a report put together by hand) in AllScenarios' order.
func (r *Report) scenarios() []string {
	out := r.Options.order()
	for _, sc := range AllScenarios {
		if !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

func metricByName(scenario, name string) metric {
	for _, m := range metricsOf[scenario] {
		if m.name == name {
			return m
		}
	}
	return metric{format: fmtFloat}
}

func round(d time.Duration) time.Duration { return d.Round(100 * time.Nanosecond) }

func fmtDur(v float64) string { return round(time.Duration(v)).String() }
func fmtFloat(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// fmtRatio prints a ratio with two decimals, or two significant digits
// when that would round it to zero (hbload's loaded round trips).
func fmtRatio(v float64) string {
	if v > 0 && v < 0.01 {
		return fmt.Sprintf("%.2gx", v)
	}
	return fmt.Sprintf("%.2fx", v)
}

func fmtFloat2(v float64) string { return fmt.Sprintf("%.2f", v) }
func fmtInt(v float64) string    { return fmt.Sprintf("%.0f", v) }
func fmtCount(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
func fmtBytes(v float64) string {
	if v >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	if v >= 1<<10 {
		return fmt.Sprintf("%.1f KiB", v/(1<<10))
	}
	return fmt.Sprintf("%.0f B", v)
}

// withRange prints a median with its range over the runs, when there is one.
func withRange(m metric, v float64, r *[2]float64) string {
	if r == nil {
		return m.format(v)
	}
	return fmt.Sprintf("%s [%s..%s]", m.format(v), m.format(r[0]), m.format(r[1]))
}

// streamRSSLimit is issue #15's bound on each side's peak resident memory
// while a 1 GiB stream runs.
const streamRSSLimit = 64 << 20

// writeStream prints the stream scenario's rows.
func writeStream(w io.Writer, rs []Result) {
	for _, line := range streamLines(rs) {
		fmt.Fprintf(w, "\n%s\n", line)
	}
}

// streamLines says each stream's figures in a sentence.
func streamLines(rs []Result) []string {
	var out []string
	for _, r := range rs {
		if r.Scenario == ScenarioStream {
			out = append(out, fmt.Sprintf("stream %s between two processes: %s MB/s, peak RSS sender %s, receiver %s", r.Case,
				fmtFloat(r.BytesPerSec/1e6), fmtBytes(float64(r.SenderPeakRSSBytes)), fmtBytes(float64(r.PeakRSSBytes))))
		}
	}
	return out
}

// writeHostile prints the hostile scenario's rows: a legitimate peer's
// round trips before and during each attack, a fresh connection's set-up
// time during it, the node's peak memory and what it refused or cut.
func writeHostile(w io.Writer, rs []Result) error {
	head, rows := hostileRows(rs)
	if len(rows) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%s\n", hostileNote(rs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	last := len(head) - 1
	fmt.Fprintln(tw, strings.Join(head[:last], "\t")+"\t "+head[last])
	for _, row := range rows {
		fmt.Fprintln(tw, strings.Join(row[:last], "\t")+"\t "+row[last])
	}
	return tw.Flush()
}

// hostileNote says what the hostile rows are measured against.
func hostileNote(rs []Result) string {
	for _, r := range rs {
		if r.Scenario == ScenarioHostile {
			return fmt.Sprintf("hostile: node budget %s (peak RSS may add %s); legitimate pings every 10 ms, lost = over %v",
				fmtBytes(float64(r.BudgetBytes)), fmtBytes(hostileRSSSlack), pingTimeout)
		}
	}
	return ""
}

// hostileRows is the hostile table: its header and a row per attack.
func hostileRows(rs []Result) (head []string, rows [][]string) {
	head = []string{"attack", "p50 before", "p99 before", "p50 during", "p99 during", "p99 ratio", "lost", "fresh connect", "peak RSS", "fds left", "defences"}
	for _, r := range rs {
		if r.Scenario != ScenarioHostile {
			continue
		}
		ratio := "-"
		if r.BaseP99 > 0 {
			ratio = fmtRatio(float64(r.P99) / float64(r.BaseP99))
		}
		rows = append(rows, []string{r.Case, round(r.BaseP50).String(), round(r.BaseP99).String(), round(r.P50).String(), round(r.P99).String(),
			ratio, fmt.Sprint(r.LostRoundTrips), round(r.FreshConnect).String(), fmtBytes(float64(r.PeakRSSBytes)), fmt.Sprint(r.FDsLeft), r.Defences})
	}
	return head, rows
}

// hostileTargets are issue #14's goals for each attack: legitimate p99
// during it at most twice its p99 before, a fresh connection within
// 200 ms, peak RSS within the budget plus hostileRSSSlack.
func hostileTargets(rs []Result) []Target {
	var out []Target
	worstRatio, worstFresh, worstRSS := 0.0, time.Duration(0), int64(0)
	var ratioAt, freshAt, rssAt string
	var budget int64
	for _, r := range rs {
		if r.Scenario != ScenarioHostile {
			continue
		}
		budget = r.BudgetBytes
		if r.BaseP99 > 0 {
			if v := float64(r.P99) / float64(r.BaseP99); v > worstRatio {
				worstRatio, ratioAt = v, r.Case
			}
		}
		if r.FreshConnect > worstFresh {
			worstFresh, freshAt = r.FreshConnect, r.Case
		}
		if r.PeakRSSBytes > worstRSS {
			worstRSS, rssAt = r.PeakRSSBytes, r.Case
		}
	}
	if budget == 0 {
		return nil
	}
	out = append(out,
		Target{Name: "hostile: legitimate p99 during the worst attack vs before", Goal: "<= 2.00x", Value: worstRatio, Unit: "x",
			Measured: fmt.Sprintf("%.2fx (%s)", worstRatio, ratioAt), Met: worstRatio <= 2},
		Target{Name: "hostile: fresh connection during the worst attack", Goal: "<= 200ms", Value: float64(worstFresh), Unit: "ns",
			Measured: fmt.Sprintf("%v (%s)", round(worstFresh), freshAt), Met: worstFresh <= 200*time.Millisecond},
		Target{Name: "hostile: peak RSS of the node under the worst attack", Goal: "<= budget + " + fmtBytes(hostileRSSSlack),
			Value: float64(worstRSS), Unit: "B", Measured: fmt.Sprintf("%s of %s (%s)", fmtBytes(float64(worstRSS)), fmtBytes(float64(budget)), rssAt),
			Met: worstRSS <= budget+hostileRSSSlack})
	return out
}
