package engine

import (
	"github.com/tensorchain/transport/budget"

	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestSlabReferenceCounting(t *testing.T) {
	for _, tc := range []struct {
		name          string
		copies        int
		releaseBefore int // released before the batch is sealed
	}{
		{"released after seal", 3, 0},
		{"some released before seal", 3, 2},
		{"all released before seal", 3, 3},
		{"nothing handed out", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w slabWriter
			var slabs []*slab
			for i := range tc.copies {
				_, s := w.copyIn([]byte{byte(i)}, testAccount())
				w.commit(1)
				slabs = append(slabs, s)
			}
			if tc.copies == 0 {
				w.copyIn([]byte("refused by the ring"), testAccount()) // never committed
			}
			s := w.cur
			for _, m := range slabs[:tc.releaseBefore] {
				m.release()
			}
			w.seal()
			if w.cur != nil {
				t.Fatal("seal kept the slab")
			}
			if got, want := s.refs.Load(), int64(tc.copies-tc.releaseBefore); got != want {
				t.Fatalf("refs after seal = %d, want %d", got, want)
			}
			for _, m := range slabs[tc.releaseBefore:] {
				m.release()
			}
			if got := s.refs.Load(); got != 0 {
				t.Fatalf("refs after every release = %d, want 0", got)
			}
		})
	}
}

func TestSlabCopiesAreIsolated(t *testing.T) {
	var w slabWriter
	a, _ := w.copyIn([]byte("aaaa"), testAccount())
	w.commit(len(a))
	b, _ := w.copyIn([]byte("bbbb"), testAccount())
	w.commit(len(b))
	if cap(a) != len(a) {
		t.Fatalf("cap %d: an append could overwrite the next payload", cap(a))
	}
	_ = append(a, "XXXX"...)
	if string(b) != "bbbb" {
		t.Fatalf("neighbour clobbered: %q", b)
	}
}

func TestSlabStartsANewSlabWhenFull(t *testing.T) {
	var w slabWriter
	big := make([]byte, slabMaxItem)
	var first *slab
	for i := 0; i < slabSize/slabMaxItem+1; i++ {
		_, s := w.copyIn(big, testAccount())
		w.commit(len(big))
		if i == 0 {
			first = s
		}
	}
	if w.cur == first {
		t.Fatal("a full slab was reused")
	}
	if got, want := first.refs.Load(), int64(slabSize/slabMaxItem); got != want {
		t.Fatalf("full slab sealed with refs %d, want %d", got, want)
	}
	w.seal()
}

// TestHeldMessagesSurviveRecycling holds every tenth small message while
// releasing the rest, across many read batches, and checks that no held
// payload is overwritten by a later one (a slab recycled too early).
func TestHeldMessagesSurviveRecycling(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	const n = 20000
	go func() {
		for i := range n {
			if err := a.Send(context.Background(), "b", payloadFor(i)); err != nil {
				return
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var held []Message
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := range n {
		m, err := b.Recv(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i%10 == 0 {
			held = append(held, m)
			continue
		}
		wg.Go(m.Release) // released from other goroutines, racing the loop
	}
	for _, m := range held { // lanes may reorder, so each payload names itself
		var i int
		if _, err := fmt.Sscanf(string(m.Payload), "message-%08d-", &i); err != nil || !bytes.Equal(m.Payload, payloadFor(i)) {
			t.Fatalf("held payload overwritten: %q", m.Payload)
		}
		m.Release()
	}
}

// payloadFor is message i's small, recognisable payload.
func payloadFor(i int) []byte {
	return fmt.Appendf(nil, "message-%08d-%s", i, bytes.Repeat([]byte{byte('a' + i%26)}, i%200))
}

// testAccount is a budget account no test can exhaust.
func testAccount() *budget.Account {
	a, _ := budget.NewPool(1<<40, 1<<40).Open(0)
	return a
}
