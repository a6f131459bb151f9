package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// echoServer answers every request r receives with "re:" + its payload,
// from a Recv loop, until the test ends.
func echoServer(t testing.TB, r *Transport) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		out := make([]byte, 0, 1024)
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			if m.IsRequest() {
				out = append(append(out[:0], "re:"...), m.Payload...)
				_ = r.Reply(ctx, &m, out)
			}
			m.Release()
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

func TestRequestReply(t *testing.T) {
	for _, class := range []Class{Control, Bulk} {
		t.Run(class.String(), func(t *testing.T) {
			a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
			connect(t, a, b)
			echoServer(t, b)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// Concurrent requesters: every reply must reach its own request.
			var wg sync.WaitGroup
			errs := make(chan error, 20)
			for g := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := range 50 {
						want := fmt.Sprintf("g%d-%d", g, i)
						m, err := a.RequestWith(ctx, "b", []byte(want), SendOptions{Class: class, Stream: uint32(g)})
						if err != nil {
							errs <- err
							return
						}
						if got := string(m.Payload); got != "re:"+want || m.From != "b" || m.Class != class {
							errs <- fmt.Errorf("request %q got %q from %s on %s", want, got, m.From, m.Class)
						}
						m.Release()
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			if st := a.Stats(); st.RequestsPending != 0 || st.LateReplies != 0 {
				t.Fatalf("pending %d, late replies %d after all replies", st.RequestsPending, st.LateReplies)
			}
		})
	}
}

func TestInlineHandlerReplies(t *testing.T) {
	bcfg := devConfig("b")
	var b *Transport
	bcfg.MessageHandler = func(m *Message) {
		if err := b.TryReply(m, bytes.ToUpper(m.Payload)); err != nil {
			t.Errorf("TryReply: %v", err)
		}
	}
	a := startTransport(t, devConfig("a"))
	b = startTransport(t, bcfg)
	connect(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := a.Request(ctx, "b", []byte("vote for me"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release()
	if string(m.Payload) != "VOTE FOR ME" {
		t.Fatalf("reply %q", m.Payload)
	}
}

// silentServer receives requests on r and keeps them unanswered until the
// test ends; it sends each on got.
func silentServer(t testing.TB, r *Transport) <-chan Message {
	got := make(chan Message, 1000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			m, err := r.Recv(ctx)
			if err != nil {
				return
			}
			got <- m
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return got
}

func TestRequestTimeoutFreesItAndCountsTheLateReply(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	held := silentServer(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := a.Request(ctx, "b", []byte("slow"))
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrTimeout wrapping DeadlineExceeded", err)
	}
	if n := a.Stats().RequestsPending; n != 0 {
		t.Fatalf("%d requests still pending after the timeout", n)
	}
	req := <-held
	if err := b.Reply(context.Background(), &req, []byte("too late")); err != nil {
		t.Fatal(err)
	}
	req.Release()
	waitFor(t, 5*time.Second, func() bool { return a.Stats().LateReplies == 1 })
	// The connection is still good for the next request.
	go func() {
		next := <-held
		_ = b.Reply(context.Background(), &next, []byte("re:"+string(next.Payload)))
		next.Release()
	}()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	m, err := a.Request(ctx2, "b", []byte("next"))
	if err != nil || string(m.Payload) != "re:next" {
		t.Fatalf("next request: %q %v", m.Payload, err)
	}
	m.Release()
}

func TestRequestCancelReturnsAtOnce(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	silentServer(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := a.Request(ctx, "b", []byte("never answered"))
		done <- err
	}()
	waitFor(t, 5*time.Second, func() bool { return a.Stats().RequestsPending == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) || !errors.Is(err, ErrCanceled) || errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrCanceled and context.Canceled, not ErrTimeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("cancelled request did not return")
	}
	if n := a.Stats().RequestsPending; n != 0 {
		t.Fatalf("%d requests pending after cancel", n)
	}
}

// pairWithSilentPeer connects a, which does not reconnect, to b, whose
// received requests go unanswered to held.
func pairWithSilentPeer(t *testing.T) (a, b *Transport, held <-chan Message) {
	t.Helper()
	acfg := devConfig("a")
	acfg.Reconnect.Enabled = false
	a, b = startTransport(t, acfg), startTransport(t, devConfig("b"))
	connect(t, a, b)
	return a, b, silentServer(t, b)
}

func TestPeerDeathFailsPendingRequests(t *testing.T) {
	for _, class := range []Class{Control, Bulk} {
		t.Run(class.String(), func(t *testing.T) {
			a, b, held := pairWithSilentPeer(t)
			const n = 10
			errs := make(chan error, n)
			for range n {
				go func() {
					_, err := a.RequestWith(context.Background(), "b", []byte("x"), SendOptions{Class: class})
					errs <- err
				}()
			}
			for range n {
				<-held // every request has reached b
			}
			_ = b.Close()
			for range n {
				select {
				case err := <-errs:
					if !errors.Is(err, ErrConnectionLost) {
						t.Fatalf("err = %v, want ErrConnectionLost", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a request outlived its peer")
				}
			}
			if st := a.Stats(); st.RequestsFailed != n || st.RequestsPending != 0 {
				t.Fatalf("failed %d pending %d, want %d and 0", st.RequestsFailed, st.RequestsPending, n)
			}
		})
	}
}

// A request failed by its peer's death is counted in Stats before its
// caller hears of it: a caller that checks Stats once its requests have
// failed sees every one of them. Each callback counts itself in heard
// before reading Stats, so Stats must show at least heard by then (the
// connections may close on two loops at once).
func TestFailedRequestsCountedBeforeCallersHear(t *testing.T) {
	a, b, held := pairWithSilentPeer(t)
	const n = 5
	var heard atomic.Uint64
	type seen struct{ heard, counted uint64 }
	outcomes := make(chan seen, n)
	for range n {
		err := a.RequestAsync(context.Background(), "b", []byte("x"), SendOptions{}, func(_ Message, err error) {
			h := heard.Add(1)
			if !errors.Is(err, ErrConnectionLost) {
				t.Errorf("err = %v, want ErrConnectionLost", err)
			}
			outcomes <- seen{h, a.Stats().RequestsFailed}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		<-held
	}
	_ = b.Close()
	for range n {
		select {
		case o := <-outcomes:
			if o.counted < o.heard {
				t.Fatalf("%d callers had heard of their failed requests when Stats counted %d", o.heard, o.counted)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request outlived its peer")
		}
	}
}

func TestCloseFailsPendingRequests(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	held := silentServer(t, b)
	errc := make(chan error, 1)
	go func() {
		_, err := a.Request(context.Background(), "b", []byte("x"))
		errc <- err
	}()
	<-held
	_ = a.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v, want ErrClosed", err)
	}
}

func TestReplyNeedsARequest(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	if err := a.Send(context.Background(), "b", []byte("one-way")); err != nil {
		t.Fatal(err)
	}
	m := recvTimeout(t, b, 5*time.Second)
	defer m.Release()
	if m.IsRequest() {
		t.Fatal("a one-way message says it is a request")
	}
	if err := b.Reply(context.Background(), &m, nil); !errors.Is(err, ErrNotRequest) {
		t.Fatalf("err = %v, want ErrNotRequest", err)
	}
	if _, err := a.Request(context.Background(), "nobody", nil); !errors.Is(err, ErrPeerNotFound) {
		t.Fatalf("request to an unknown peer: %v", err)
	}
}

// BenchmarkRequestReply measures a control-class round trip, answered
// inline on the responder's loop and from a Recv goroutine.
func BenchmarkRequestReply(b *testing.B) {
	for _, mode := range []string{"inline", "recv"} {
		b.Run(mode, func(b *testing.B) {
			rcfg := devConfig("r")
			var r *Transport
			if mode == "inline" {
				rcfg.MessageHandler = func(m *Message) { _ = r.TryReply(m, m.Payload) }
			}
			a := startTransport(b, devConfig("a"))
			r = startTransport(b, rcfg)
			connect(b, a, r)
			if mode == "recv" {
				echoServer(b, r)
			}
			ctx := context.Background()
			payload := make([]byte, 64)
			for range 1000 { // warm the pools and the waiter table
				m, _ := a.Request(ctx, "r", payload)
				m.Release()
			}
			b.ReportAllocs()
			for b.Loop() {
				m, err := a.Request(ctx, "r", payload)
				if err != nil {
					b.Fatal(err)
				}
				m.Release()
			}
		})
	}
}

// BenchmarkRequestAsync: 64 B requests answered inline, 64 in flight at a
// time, no goroutine waiting on any of them: ns per request.
func BenchmarkRequestAsync(b *testing.B) {
	rcfg := devConfig("r")
	var r *Transport
	rcfg.MessageHandler = func(m *Message) { _ = r.TryReply(m, m.Payload) }
	a := startTransport(b, devConfig("a"))
	r = startTransport(b, rcfg)
	connect(b, a, r)
	ctx := context.Background()
	payload := make([]byte, 64)
	slots := make(chan struct{}, 64)
	var failed atomic.Value
	done := func(m Message, err error) { // one callback for all: none is allocated per request
		if err != nil {
			failed.Store(err)
		}
		m.Release()
		<-slots
	}
	run := func(n int) {
		for range n {
			slots <- struct{}{}
			if err := a.RequestAsync(ctx, "r", payload, SendOptions{Class: Control}, done); err != nil {
				b.Fatal(err)
			}
		}
		for range cap(slots) { // wait for the last replies
			slots <- struct{}{}
		}
		for range cap(slots) {
			<-slots
		}
	}
	run(1000) // warm the pools and the waiter table
	b.ReportAllocs()
	b.ResetTimer()
	run(b.N)
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
}
