package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRecvClassServesControlWhileBulkIsBusy: the goroutine taking bulk
// messages holds the first one and takes no more; the control messages
// sent behind a burst of bulk ones must still reach the goroutine on
// RecvClass(Control), and neither goroutine may get the other's class.
func TestRecvClassServesControlWhileBulkIsBusy(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 100 {
		if err := a.Send(ctx, "b", fmt.Appendf(nil, "bulk %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	const controls = 20
	for i := range controls {
		if err := a.SendWith(ctx, "b", fmt.Appendf(nil, "control %d", i), SendOptions{Class: Control}); err != nil {
			t.Fatal(err)
		}
	}

	stuck := make(chan struct{})
	bulkDone := make(chan error, 1)
	go func() { // takes one bulk message, then is busy until the end of the test
		m, err := b.RecvClass(ctx, Bulk)
		if err == nil && m.Class != Bulk {
			err = fmt.Errorf("RecvClass(Bulk) returned a %v message %q", m.Class, m.Payload)
		}
		m.Release()
		bulkDone <- err
		<-stuck
	}()
	defer close(stuck)
	for i := range controls {
		m, err := b.RecvClass(ctx, Control)
		if err != nil {
			t.Fatalf("control message %d while the bulk receiver is busy: %v", i, err)
		}
		if want := fmt.Sprintf("control %d", i); m.Class != Control || string(m.Payload) != want {
			t.Fatalf("RecvClass(Control) got %v %q, want %q", m.Class, m.Payload, want)
		}
		m.Release()
	}
	if err := <-bulkDone; err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancelShort()
	if m, err := b.RecvClass(short, Control); !errors.Is(err, ErrTimeout) {
		t.Fatalf("RecvClass(Control) with only bulk messages queued: %v %q, want ErrTimeout", err, m.Payload)
	}
	if _, err := b.RecvClass(ctx, Class(7)); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("RecvClass of an unknown class: %v, want ErrInvalidConfig", err)
	}
}

// TestRecvKindsShareDeliveriesWithoutLoss: Recv, RecvClass(Control) and
// RecvClass(Bulk) callers, two of each, wait side by side while two
// senders send both classes: every message is received exactly once (no
// wake-up is lost between the kinds of waiter), and the class receivers
// get only their class.
func TestRecvKindsShareDeliveriesWithoutLoss(t *testing.T) {
	a := startTransport(t, devConfig("a"))
	b := startTransport(t, devConfig("b"))
	connect(t, a, b)
	const perSender = 2000
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got atomic.Int64
	var wrong atomic.Value
	var wg sync.WaitGroup
	receiver := func(recv func() (Message, error), class Class, any bool) {
		defer wg.Done()
		for got.Load() < 2*perSender {
			m, err := recv()
			if err != nil {
				return
			}
			if !any && m.Class != class {
				wrong.Store(fmt.Sprintf("a %v receiver got a %v message", class, m.Class))
			}
			m.Release()
			if got.Add(1) == 2*perSender {
				cancel() // the others stop waiting
			}
		}
	}
	for range 2 {
		wg.Add(3)
		go receiver(func() (Message, error) { return b.Recv(ctx) }, Bulk, true)
		go receiver(func() (Message, error) { return b.RecvClass(ctx, Control) }, Control, false)
		go receiver(func() (Message, error) { return b.RecvClass(ctx, Bulk) }, Bulk, false)
	}
	for _, class := range []Class{Control, Bulk} {
		go func() {
			for i := range perSender {
				if err := a.SendWith(ctx, "b", []byte("m"), SendOptions{Class: class}); err != nil {
					t.Errorf("%v send %d: %v", class, i, err)
					return
				}
				if i%100 == 0 {
					time.Sleep(time.Millisecond) // let the receivers go idle and wait again
				}
			}
		}()
	}
	wg.Wait()
	if w := wrong.Load(); w != nil {
		t.Fatal(w)
	}
	if n := got.Load(); n != 2*perSender {
		t.Fatalf("received %d of %d messages", n, 2*perSender)
	}
}
