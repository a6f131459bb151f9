package engine

import "testing"

// pushTo queues a message of cost into in and schedules in, as
// deliverToInbox does.
func pushTo(t *testing.T, rl *readyList, in *inbox, cost int32) {
	t.Helper()
	if in.ring.Load() == nil {
		in.ring.Store(newRing(8))
	}
	if !in.push(Message{cost: cost}, 1<<30) {
		t.Fatalf("push of cost %d refused", cost)
	}
	rl.schedule(in)
}

// An inbox whose last message Recv takes stays in the heap until a pop
// finds it empty, so a producer pushing right after needs no lock
// (schedule sees it ready); a pop that finds it empty takes it out, and
// the next push puts it back.
func TestReadyListKeepsDrainedInboxUntilFoundEmpty(t *testing.T) {
	var rl readyList
	in := &inbox{}
	pushTo(t, &rl, in, 10)
	if m, got, ok := rl.pop(); !ok || got != in || m.cost != 10 {
		t.Fatalf("pop: %+v from %p, %v", m, got, ok)
	}
	if rl.nready.Load() != 1 || !in.ready.Load() {
		t.Fatalf("drained inbox left the heap at once (nready %d, ready %v)", rl.nready.Load(), in.ready.Load())
	}
	if rl.mayHold(in) {
		t.Fatal("mayHold: the only inbox is drained, yet it says messages may wait")
	}
	pushTo(t, &rl, in, 20) // schedule: ready already, nothing to do
	if !rl.mayHold(in) {
		t.Fatal("mayHold: a message waits, yet it says none")
	}
	if m, _, ok := rl.pop(); !ok || m.cost != 20 {
		t.Fatalf("second pop: %+v, %v; want the message pushed after the drain", m, ok)
	}
	if _, _, ok := rl.pop(); ok {
		t.Fatal("pop of an empty inbox gave a message")
	}
	if rl.nready.Load() != 0 || in.ready.Load() {
		t.Fatalf("an inbox a pop found empty stays in the heap (nready %d, ready %v)", rl.nready.Load(), in.ready.Load())
	}
	pushTo(t, &rl, in, 30)
	if m, _, ok := rl.pop(); !ok || m.cost != 30 {
		t.Fatalf("pop after re-scheduling: %+v, %v", m, ok)
	}
}

// Fair queuing by bytes still holds when a drained inbox kept in the heap
// gets a message: its key, set while it was empty, is renewed before a pop
// trusts it, so a large message there does not jump ahead of a small one
// elsewhere that finishes first (taken by the stale key, 100, it would).
func TestReadyListRekeysAnInboxKeyedEmpty(t *testing.T) {
	var rl readyList
	big, small := &inbox{}, &inbox{}
	pushTo(t, &rl, big, 100)
	if m, _, _ := rl.pop(); m.cost != 100 { // big drained: vtime 100, kept with key 100
		t.Fatalf("first pop cost %d", m.cost)
	}
	pushTo(t, &rl, small, 150) // starts at now (0): finishes at 150
	pushTo(t, &rl, big, 100)   // finishes at 200, keyed 100 while empty
	var order []*inbox
	for range 2 {
		_, from, ok := rl.pop()
		if !ok {
			t.Fatal("pop gave nothing with two messages queued")
		}
		order = append(order, from)
	}
	if order[0] != small || order[1] != big {
		t.Fatal("the large message came before the small one that finishes first")
	}
}
