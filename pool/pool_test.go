package pool

import (
	"sync"
	"testing"
)

type fake struct {
	name    string
	queued  int64
	healthy bool
	usable  bool
}

func (f *fake) Queued() int64 { return f.queued }
func (f *fake) Healthy() bool { return f.healthy }
func (f *fake) Usable() bool  { return f.usable }

func TestPick(t *testing.T) {
	tests := []struct {
		name    string
		members []*fake
		want    string
	}{
		{"empty", nil, ""},
		{"least queued healthy", []*fake{{"a", 10, true, true}, {"b", 5, true, true}, {"c", 7, true, true}}, "b"},
		{"tie goes to first", []*fake{{"a", 0, true, true}, {"b", 0, true, true}}, "a"},
		{"healthy beats idle reconnecting", []*fake{{"a", 0, false, true}, {"b", 100, true, true}}, "b"},
		{"reconnecting when none healthy", []*fake{{"a", 50, false, true}, {"b", 10, false, true}}, "b"},
		{"failed members are skipped", []*fake{{"a", 0, false, false}, {"b", 10, false, true}}, "b"},
		{"all failed", []*fake{{"a", 0, false, false}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Pool[*fake]
			for _, m := range tc.members {
				p.Add(m)
			}
			got, ok := p.Pick()
			if tc.want == "" {
				if ok {
					t.Fatalf("Pick = %s, want none", got.name)
				}
				return
			}
			if !ok || got.name != tc.want {
				t.Fatalf("Pick = %v/%v, want %s", got, ok, tc.want)
			}
		})
	}
}

func TestRemoveAndConcurrentPick(t *testing.T) {
	var p Pool[*fake]
	a, b := &fake{"a", 0, true, true}, &fake{"b", 0, true, true}
	p.Add(a)
	p.Add(b)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 1000 {
			if _, ok := p.Pick(); !ok {
				t.Error("Pick found nothing while b stayed in the pool")
				return
			}
		}
	}()
	for range 100 {
		p.Remove(func(m *fake) bool { return m == a })
		p.Add(a)
	}
	wg.Wait()
	if !p.Remove(func(m *fake) bool { return m == a }) || p.Remove(func(m *fake) bool { return m == a }) {
		t.Fatal("Remove of a present member must succeed exactly once")
	}
	if p.Len() != 1 {
		t.Fatalf("Len = %d, want 1", p.Len())
	}
}

func BenchmarkPick(b *testing.B) {
	var p Pool[*fake]
	p.Add(&fake{"a", 10, true, true})
	p.Add(&fake{"b", 5, true, true})
	b.ReportAllocs()
	for b.Loop() {
		p.Pick()
	}
}
