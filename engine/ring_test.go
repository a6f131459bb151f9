package engine

import (
	"sync"
	"testing"
)

// TestRingManyProducersOneConsumer: four producers push into a small ring
// while one consumer pops (as Recv does, one at a time); every message
// comes out once, each producer's in the order pushed.
func TestRingManyProducersOneConsumer(t *testing.T) {
	const producers, each = 4, 20000
	r := newRing(64)
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; {
				if r.push(Message{ConnID: uint64(p), cost: int32(i)}) {
					i++
				}
			}
		}()
	}
	var next [producers]int32
	for got := 0; got < producers*each; {
		m, ok := r.pop()
		if !ok {
			continue
		}
		if m.cost != next[m.ConnID] {
			t.Fatalf("producer %d: popped %d, want %d", m.ConnID, m.cost, next[m.ConnID])
		}
		next[m.ConnID]++
		got++
	}
	wg.Wait()
	if m, ok := r.pop(); ok || r.len() != 0 {
		t.Fatalf("the drained ring still gives %+v (len %d)", m, r.len())
	}
}

// TestRingBounds: a ring refuses a push when full and gives nothing when
// empty, and a slot freed by a pop takes the next push.
func TestRingBounds(t *testing.T) {
	r := newRing(3) // rounded up to 4
	for i := range 4 {
		if !r.push(Message{cost: int32(i)}) {
			t.Fatalf("push %d into a ring of 4 refused", i)
		}
	}
	if r.push(Message{cost: 9}) {
		t.Fatal("a full ring took a fifth message")
	}
	if m, ok := r.pop(); !ok || m.cost != 0 {
		t.Fatalf("pop: %d, %v; want 0", m.cost, ok)
	}
	if !r.push(Message{cost: 4}) {
		t.Fatal("the slot a pop freed refused the next push")
	}
	for want := int32(1); want <= 4; want++ {
		if m, ok := r.pop(); !ok || m.cost != want {
			t.Fatalf("pop: %d, %v; want %d", m.cost, ok, want)
		}
	}
	if _, ok := r.pop(); ok {
		t.Fatal("an empty ring gave a message")
	}
}
