package pool

import (
	"sync"
	"testing"
)

const (
	bulk    uint8 = 0
	control uint8 = 1
)

type fake struct {
	name     string
	class    uint8
	outbound bool
	usable   bool
}

func (f *fake) Class() uint8   { return f.class }
func (f *fake) Outbound() bool { return f.outbound }
func (f *fake) Usable() bool   { return f.usable }

func out(name string, class uint8, usable bool) *fake { return &fake{name, class, true, usable} }
func in(name string, class uint8, usable bool) *fake  { return &fake{name, class, false, usable} }

func TestPick(t *testing.T) {
	mesh := []*fake{out("b0", bulk, true), out("b1", bulk, true), out("b2", bulk, true), out("c0", control, true),
		in("ib0", bulk, true), in("ic0", control, true)}
	tests := []struct {
		name    string
		members []*fake
		class   uint8
		stream  uint32
		dialed  bool
		want    string // "" for none
	}{
		{"empty", nil, bulk, 0, true, ""},
		{"stream 0 takes the first bulk lane", mesh, bulk, 0, true, "b0"},
		{"stream 1 the second", mesh, bulk, 1, true, "b1"},
		{"streams wrap around the pool", mesh, bulk, 5, true, "b2"},
		{"control takes the control lane", mesh, control, 7, true, "c0"},
		{"a dialed peer's inbound lanes carry nothing of ours", []*fake{in("ib0", bulk, true)}, bulk, 0, true, ""},
		{"a reconnecting lane keeps its stream", []*fake{out("b0", bulk, true), out("b1", bulk, true)}, bulk, 1, true, "b1"},
		{"a failed lane fails its stream, never remaps it", []*fake{out("b0", bulk, true), out("b1", bulk, false)}, bulk, 1, true, ""},
		{"inbound-only: the oldest usable of the class", []*fake{in("x", bulk, false), in("y", bulk, true), in("z", bulk, true)}, bulk, 3, false, "y"},
		{"inbound-only: control on its own lane", []*fake{in("ib", bulk, true), in("ic", control, true)}, control, 0, false, "ic"},
		{"inbound-only: control never borrows a bulk lane", []*fake{in("ib", bulk, true), in("ic", control, false)}, control, 0, false, ""},
		{"inbound-only: nothing usable", []*fake{in("ib", bulk, false)}, bulk, 0, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Pool[*fake]
			for _, m := range tc.members {
				p.Add(m)
			}
			got, ok := p.Pick(tc.class, tc.stream, tc.dialed)
			switch {
			case tc.want == "" && ok:
				t.Fatalf("Pick = %s, want none", got.name)
			case tc.want != "" && (!ok || got.name != tc.want):
				t.Fatalf("Pick = %v/%v, want %s", got, ok, tc.want)
			}
		})
	}
}

// TestPickIsStable: the same stream always takes the same member, so the
// messages of one stream never overtake each other.
func TestPickIsStable(t *testing.T) {
	var p Pool[*fake]
	for _, n := range []string{"b0", "b1", "b2", "b3"} {
		p.Add(out(n, bulk, true))
	}
	for stream := range uint32(64) {
		first, _ := p.Pick(bulk, stream, true)
		for range 10 {
			if got, _ := p.Pick(bulk, stream, true); got != first {
				t.Fatalf("stream %d moved from %s to %s", stream, first.name, got.name)
			}
		}
	}
}

func TestRemoveAndConcurrentPick(t *testing.T) {
	var p Pool[*fake]
	a, b := in("a", bulk, true), in("b", bulk, true)
	p.Add(a)
	p.Add(b)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 1000 {
			if _, ok := p.Pick(bulk, 0, false); !ok {
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
	p.Add(out("b0", bulk, true))
	p.Add(out("b1", bulk, true))
	p.Add(out("c0", control, true))
	b.ReportAllocs()
	for b.Loop() {
		p.Pick(bulk, 1, true)
	}
}
