package engine

import (
	"testing"
	"unsafe"

	"github.com/tensorchain/transport/codec"
)

func TestRecvWindowAdmit(t *testing.T) {
	const window, maxPayload = 1000, 100
	const maxFrame = 105 // codec.FrameLen(maxPayload), checked below
	cases := []struct {
		name               string
		received, returned int64
		cost               int
		want               bool
	}{
		{"empty window, one frame", 0, 0, 10, true},
		{"exactly window plus one max frame", 0, 0, window + maxFrame, true},
		{"one byte past window plus one max frame", 0, 0, window + maxFrame + 1, false},
		{"full window, the one frame of overrun", window, 0, maxFrame, true},
		{"full window overrun by more than a frame", window, 0, maxFrame + 1, false},
		{"returned credit makes room", window + maxFrame, 500, 500, true},
		{"returned credit, still past", window + maxFrame, 500, 501, false},
	}
	if codec.FrameLen(maxPayload) != maxFrame {
		t.Fatalf("FrameLen(%d) = %d", maxPayload, codec.FrameLen(maxPayload))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newRecvWindow(window, maxPayload)
			w.received = tc.received
			w.returned.Store(tc.returned)
			if got := w.admit(tc.cost); got != tc.want {
				t.Fatalf("admit(%d) with received %d, returned %d = %v, want %v", tc.cost, tc.received, tc.returned, got, tc.want)
			}
		})
	}
}

func TestRecvWindowBacklogFits(t *testing.T) {
	w := newRecvWindow(1000, 100)
	limit := 1000 + codec.FrameLen(100) + backlogSlack
	for _, tc := range []struct {
		pending int
		want    bool
	}{{0, true}, {limit, true}, {limit + 1, false}} {
		if got := w.backlogFits(tc.pending); got != tc.want {
			t.Errorf("backlogFits(%d) = %v, want %v (limit %d)", tc.pending, got, tc.want, limit)
		}
	}
}

// TestRecvWindowCredit walks a sequence of consumptions and checks when a
// Credit is due and what it returns.
func TestRecvWindowCredit(t *testing.T) {
	type step struct {
		consume   []int32 // costs taken by the application
		all       bool    // take with all set (goodbye, closing)
		wantDue   bool    // due() after consuming
		wantTake  bool
		wantBytes uint32
		wantMsgs  uint32
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"below a quarter window nothing is due", []step{
			{consume: []int32{100, 100}, wantDue: false, wantTake: false},
		}},
		{"a quarter window is due, and returned once", []step{
			{consume: []int32{200, 50}, wantDue: true, wantTake: true, wantBytes: 250, wantMsgs: 2},
			{consume: nil, wantDue: false, wantTake: false},
		}},
		{"all returns whatever is owed", []step{
			{consume: []int32{7}, all: true, wantTake: true, wantBytes: 7, wantMsgs: 1},
			{consume: nil, all: true, wantTake: false},
		}},
		{"credit counts from the last return", []step{
			{consume: []int32{250}, wantDue: true, wantTake: true, wantBytes: 250, wantMsgs: 1},
			{consume: []int32{249}, wantDue: false, wantTake: false},
			{consume: []int32{1}, wantDue: true, wantTake: true, wantBytes: 250, wantMsgs: 2},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newRecvWindow(1000, 100)
			for i, s := range tc.steps {
				for _, c := range s.consume {
					w.consume(c)
				}
				if got := w.due(); got != s.wantDue && !s.all {
					t.Fatalf("step %d: due() = %v, want %v", i, got, s.wantDue)
				}
				cr, ok := w.take(s.all)
				if ok != s.wantTake || cr.Bytes != s.wantBytes || cr.Messages != s.wantMsgs {
					t.Fatalf("step %d: take(%v) = %+v, %v; want {%d %d}, %v", i, s.all, cr, ok, s.wantBytes, s.wantMsgs, s.wantTake)
				}
			}
		})
	}
}

func TestRecvWindowCreditEveryMsgs(t *testing.T) {
	w := newRecvWindow(1<<30, 100) // bytes never make a credit due
	for i := range creditEveryMsgs - 1 {
		if w.consume(1) {
			t.Fatalf("due after %d one-byte messages", i+1)
		}
	}
	if !w.consume(1) {
		t.Fatalf("not due after %d messages", creditEveryMsgs)
	}
	cr, ok := w.take(false)
	if !ok || cr.Messages != creditEveryMsgs || cr.Bytes != creditEveryMsgs {
		t.Fatalf("take = %+v, %v", cr, ok)
	}
}

func TestSendWindow(t *testing.T) {
	var w sendWindow
	if w.open() {
		t.Fatal("open before any grant")
	}
	w.grant(100, 0) // the hello
	if !w.open() || w.available() != 100 {
		t.Fatalf("after the hello: open %v, available %d", w.open(), w.available())
	}
	w.spend(150, 3) // a frame may overrun the credit left
	if w.open() || w.available() != -50 || w.unconfirmed() != 3 {
		t.Fatalf("after overrun: open %v, available %d, unconfirmed %d", w.open(), w.available(), w.unconfirmed())
	}
	w.grant(60, 2)
	if !w.open() || w.available() != 10 || w.unconfirmed() != 1 {
		t.Fatalf("after a credit: open %v, available %d, unconfirmed %d", w.open(), w.available(), w.unconfirmed())
	}
	w.grant(0, 5) // a peer confirming more than was sent never underflows
	if w.unconfirmed() != 0 {
		t.Fatalf("unconfirmed %d after over-confirmation", w.unconfirmed())
	}
}

// recvWindow's three groups (window.go) share no cache line, wherever the
// struct lands in a conn, and the first shares none with what precedes
// it: sharing one cost Send-to-Recv about a tenth of its time
// (BenchmarkSendRecv64).
func TestRecvWindowLayout(t *testing.T) {
	var w recvWindow
	type field struct {
		name      string
		off, size uintptr
	}
	groups := [][]field{
		{{"consumed", unsafe.Offsetof(w.consumed), unsafe.Sizeof(w.consumed)},
			{"consumedMsgs", unsafe.Offsetof(w.consumedMsgs), unsafe.Sizeof(w.consumedMsgs)}},
		{{"window", unsafe.Offsetof(w.window), unsafe.Sizeof(w.window)},
			{"maxFrame", unsafe.Offsetof(w.maxFrame), unsafe.Sizeof(w.maxFrame)},
			{"returned", unsafe.Offsetof(w.returned), unsafe.Sizeof(w.returned)},
			{"returnedMsgs", unsafe.Offsetof(w.returnedMsgs), unsafe.Sizeof(w.returnedMsgs)}},
		{{"received", unsafe.Offsetof(w.received), unsafe.Sizeof(w.received)}},
	}
	const line = 64
	// apart: a byte of one and a byte of the other are never within a line
	// of each other.
	apart := func(a, b field) bool {
		if a.off > b.off {
			a, b = b, a
		}
		return b.off >= a.off+a.size+line-1
	}
	for i, g := range groups {
		for _, f := range g {
			if i == 0 && f.off < line-1 {
				t.Errorf("%s is %d bytes into the struct: it may share a line with what precedes it", f.name, f.off)
			}
			for _, other := range groups[i+1:] {
				for _, o := range other {
					if !apart(f, o) {
						t.Errorf("%s (at %d) and %s (at %d) may share a cache line", f.name, f.off, o.name, o.off)
					}
				}
			}
		}
	}
}
