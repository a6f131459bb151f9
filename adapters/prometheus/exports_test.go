package prometheus_test

import (
	"maps"
	"math"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	tcprom "github.com/tensorchain/transport/adapters/prometheus"
	"github.com/tensorchain/transport/engine"
)

// TestEveryFieldIsExported holds the collector to fields_test.go: every
// field of engine.Stats and engine.PeerStats is a metric of the listed
// name and type, or is allow-listed in notExported, and carries that
// field's value. The statistics are filled so that every field's value
// differs from every other's: a metric reading the wrong field fails. A
// field added to the engine fails this test until it is exported.
func TestEveryFieldIsExported(t *testing.T) {
	stats := filledStats()
	fams := gather(t, tcprom.NewCollector(&fakeSource{stats: stats}))
	peer := stats.Peers[0]
	for _, tc := range []struct {
		name    string
		v       reflect.Value
		exports map[string]export
		labels  map[string]string // the labels of the struct's series
	}{
		{"Stats", reflect.ValueOf(stats), statsExports, nil},
		{"PeerStats", reflect.ValueOf(peer), peerExports, map[string]string{"peer": peer.NodeID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.v.NumField() {
				field := tc.v.Type().Field(i).Name
				if _, ok := notExported[tc.name+"."+field]; ok {
					continue
				}
				e, ok := tc.exports[field]
				if !ok {
					t.Errorf("%s.%s is not exported: give it a metric (metrics.go, fields_test.go, README.md) or allow-list it in notExported, with the reason", tc.name, field)
					continue
				}
				checkField(t, fams, e, tc.labels, tc.name+"."+field, tc.v.Field(i))
			}
			for _, field := range slices.Sorted(maps.Keys(tc.exports)) {
				if !tc.v.FieldByName(field).IsValid() {
					t.Errorf("fields_test.go lists %s.%s, which engine.%s no longer has", tc.name, field, tc.name)
				}
			}
		})
	}
	all := allExports()
	for name := range fams {
		if _, ok := all[name]; !ok {
			t.Errorf("the collector exports %s, which fields_test.go does not list", name)
		}
	}
}

// checkField checks that field, of value v, is exported as e in fams.
func checkField(t *testing.T, fams map[string]*dto.MetricFamily, e export, labels map[string]string, field string, v reflect.Value) {
	t.Helper()
	mf := fams[e.family]
	if mf == nil {
		t.Errorf("%s: no metric %s", field, e.family)
		return
	}
	if mf.GetType() != e.typ {
		t.Errorf("%s: %s is a %v, want a %v", field, e.family, mf.GetType(), e.typ)
		return
	}
	with := func(k, v string) map[string]string {
		l := maps.Clone(labels)
		if l == nil {
			l = map[string]string{}
		}
		l[k] = v
		return l
	}
	check := func(want map[string]string, wantValue float64) {
		t.Helper()
		m := series(mf, want)
		if m == nil {
			t.Errorf("%s: no series %s%s", field, e.family, labelString(want))
			return
		}
		if got := value(m); math.Abs(got-wantValue) > 1e-9 {
			t.Errorf("%s: %s%s = %v, want %v", field, e.family, labelString(want), got, wantValue)
		}
	}
	switch {
	case v.Type() == reflect.TypeFor[engine.LatencyHistogram]():
		want := v.Interface().(engine.LatencyHistogram)
		m := series(mf, labels)
		if m == nil {
			t.Errorf("%s: no series %s%s", field, e.family, labelString(labels))
			return
		}
		h := m.GetHistogram()
		if h.GetSampleCount() != want.Count || math.Abs(h.GetSampleSum()-want.Sum.Seconds()) > 1e-9 {
			t.Errorf("%s: %s count %d sum %v, want %d and %v", field, e.family, h.GetSampleCount(), h.GetSampleSum(), want.Count, want.Sum.Seconds())
		}
	case v.Kind() == reflect.Map:
		for it := v.MapRange(); it.Next(); {
			check(with(e.label, it.Key().String()), float64(it.Value().Uint()))
		}
	case v.Kind() == reflect.String:
		check(with(e.label, v.String()), 1)
	case v.Type() == reflect.TypeFor[time.Duration]():
		check(labels, time.Duration(v.Int()).Seconds())
	case v.Kind() == reflect.Bool:
		check(labels, map[bool]float64{false: 0, true: 1}[v.Bool()])
	case v.CanUint():
		check(labels, float64(v.Uint()))
	case v.CanInt():
		check(labels, float64(v.Int()))
	case v.CanFloat():
		check(labels, v.Float())
	default:
		t.Errorf("%s: checkField does not know type %v", field, v.Type())
	}
}

// TestLint runs client_golang's linter (promlint) over every metric the
// collector produces, and checks the names against Prometheus' rules.
func TestLint(t *testing.T) {
	c := tcprom.NewCollector(&fakeSource{stats: filledStats()})
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatalf("CollectAndLint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	checkNames(t, gather(t, c))
}

// metricName is Prometheus' metric name syntax.
var metricName = regexp.MustCompile(`^[a-z_:][a-z0-9_:]*$`)

// checkNames checks every family's name: the syntax, _total on counters
// and on nothing else, and a help text.
func checkNames(t *testing.T, fams map[string]*dto.MetricFamily) {
	t.Helper()
	for name, mf := range fams {
		if !metricName.MatchString(name) {
			t.Errorf("%s: not a metric name matching %v", name, metricName)
		}
		if isCounter := mf.GetType() == dto.MetricType_COUNTER; isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: a %v; counters, and only counters, end in _total", name, mf.GetType())
		}
		if mf.GetHelp() == "" {
			t.Errorf("%s: no help", name)
		}
	}
}

// TestREADMEListsEveryMetric keeps README.md in step with the metrics:
// every family is in it, and it names no other (in its tables or its
// queries).
func TestREADMEListsEveryMetric(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	all := allExports()
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(tcnet_[a-z0-9_]+)(\*?)`).FindAllStringSubmatch(string(readme), -1) {
		name := m[1]
		if m[2] == "*" {
			continue // a pattern, such as tcnet_peer_*
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && all[base].typ == histogram {
				name = base
			}
		}
		if _, ok := all[name]; !ok {
			t.Errorf("README.md names %s, which the collector does not export", m[1])
		}
		listed[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(all)) {
		if !listed[name] {
			t.Errorf("README.md does not list %s", name)
		}
	}
}
