package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/tensorchain/transport/engine"
)

// startTransport starts a plaintext loopback transport that measures its
// round trips every 20 ms, and closes it when the test ends. edit, when
// not nil, adjusts the configuration first.
func startTransport(t *testing.T, id string, edit func(*engine.Config)) *engine.Transport {
	t.Helper()
	cfg := engine.NewConfig(id, "127.0.0.1:0")
	cfg.SecurityMode = engine.Development // no TLS: loopback tests only
	cfg.RateLimit.Enabled = false
	cfg.EventLoops = 1
	cfg.PingInterval = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if edit != nil {
		edit(&cfg)
	}
	tr, err := engine.New(cfg)
	if err != nil {
		t.Fatalf("engine.New(%s): %v", id, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Start(ctx); err != nil {
		t.Fatalf("Start(%s): %v", id, err)
	}
	t.Cleanup(func() { _ = tr.Close() })
	return tr
}

// serveRequests receives on tr until it closes, answering every request
// with reply, and returns a channel closed when it has stopped.
func serveRequests(tr *engine.Transport, reply []byte) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		for {
			m, err := tr.Recv(ctx)
			if err != nil {
				return // closed
			}
			if m.IsRequest() {
				_ = tr.Reply(ctx, &m, reply)
			}
			m.Release()
		}
	}()
	return done
}

// waitFor polls cond every 10 ms until it holds, or fails the test after
// 10 s with what.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// fakeSource returns fixed statistics and counts the calls.
type fakeSource struct {
	stats engine.Stats
	calls atomic.Int64
}

func (f *fakeSource) Stats() engine.Stats {
	f.calls.Add(1)
	return f.stats
}

// gather registers c in a fresh pedantic registry (which checks that
// Describe and Collect agree) and returns its metric families by name.
func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatalf("Register: %v", err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	byName := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return byName
}

// series returns the metric of mf whose labels include want, or nil.
func series(mf *dto.MetricFamily, want map[string]string) *dto.Metric {
	for _, m := range mf.GetMetric() {
		if hasLabels(m, want) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := make(map[string]string, len(m.GetLabel()))
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// labelString formats labels as in the exposition: {a="1",b="2"}.
func labelString(labels map[string]string) string {
	var b strings.Builder
	for i, k := range slices.Sorted(maps.Keys(labels)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", k, labels[k])
	}
	return "{" + b.String() + "}"
}

// value is a counter's or a gauge's value.
func value(m *dto.Metric) float64 {
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// filledStats returns Stats with one peer in which every number, duration
// and map entry differs from every other (see fill), so that a metric
// reading the wrong field shows.
func filledStats() engine.Stats {
	var s engine.Stats
	n := 0.0
	fill(reflect.ValueOf(&s).Elem(), &n)
	return s
}

// fill sets every field of the struct v to a distinct value, counting
// with n: numbers n, durations n ms, maps {"<field>_key": n}, bools true,
// one element in slices; a peer's State "handshaking", its strings
// otherwise their field's name in lower case.
func fill(v reflect.Value, n *float64) {
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		*n++
		switch {
		case f.Type() == reflect.TypeFor[time.Duration]():
			f.SetInt(int64(*n) * int64(time.Millisecond))
		case f.Type() == reflect.TypeFor[engine.LatencyHistogram]():
			k := uint64(*n)
			f.Set(reflect.ValueOf(engine.LatencyHistogram{
				Bounds: []time.Duration{time.Millisecond, 2 * time.Millisecond},
				Counts: []uint64{k, 1, 2},
				Count:  k + 3,
				Sum:    time.Duration(k) * time.Millisecond,
			}))
		case f.Kind() == reflect.Slice:
			f.Set(reflect.MakeSlice(f.Type(), 1, 1))
			fill(f.Index(0), n)
		case f.Kind() == reflect.Map:
			f.Set(reflect.MakeMap(f.Type()))
			f.SetMapIndex(reflect.ValueOf(mapKey(name)), reflect.ValueOf(uint64(*n)))
		case f.Kind() == reflect.String && name == "State":
			f.SetString(engine.StateHandshaking.String())
		case f.Kind() == reflect.String:
			f.SetString(strings.ToLower(name))
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanUint():
			f.SetUint(uint64(*n))
		case f.CanInt():
			f.SetInt(int64(*n))
		case f.CanFloat():
			f.SetFloat(*n + 0.25)
		default:
			panic("fill: no value for field " + name + " of type " + f.Type().String())
		}
	}
}

// mapKey is the key fill gives a map field.
func mapKey(field string) string { return strings.ToLower(field) + "_key" }
