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

// asyncOutcome collects what RequestAsync's callbacks were given, and how
// many times each request's was called.
type asyncOutcome struct {
	mu    sync.Mutex
	calls map[string]int
	got   map[string]string
	errs  map[string]error
	all   chan struct{} // closed once want callbacks have run
	want  int
	seen  atomic.Int32
}

func newAsyncOutcome(want int) *asyncOutcome {
	return &asyncOutcome{calls: map[string]int{}, got: map[string]string{}, errs: map[string]error{}, all: make(chan struct{}), want: want}
}

// done is the callback for the request named key.
func (o *asyncOutcome) done(key string) func(Message, error) {
	return func(m Message, err error) {
		o.mu.Lock()
		o.calls[key]++
		o.got[key], o.errs[key] = string(m.Payload), err
		o.mu.Unlock()
		m.Release()
		if int(o.seen.Add(1)) == o.want {
			close(o.all)
		}
	}
}

func (o *asyncOutcome) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-o.all:
	case <-time.After(d):
		t.Fatalf("%d of %d callbacks ran within %v", o.seen.Load(), o.want, d)
	}
	time.Sleep(20 * time.Millisecond) // a second call of any callback would show by now
	o.mu.Lock()
	defer o.mu.Unlock()
	for k, n := range o.calls {
		if n != 1 {
			t.Fatalf("callback of %s ran %d times", k, n)
		}
	}
}

// TestRequestAsyncReplies: 1000 asynchronous requests from one goroutine,
// on both classes, with no goroutine waiting on them: each callback runs
// once, with its own reply.
func TestRequestAsyncReplies(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	echoServer(t, b)
	const n = 1000
	out := newAsyncOutcome(n)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		key := fmt.Sprintf("r%d", i)
		o := SendOptions{Class: Class(i % 2)}
		if err := a.RequestAsync(ctx, "b", []byte(key), o, out.done(key)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	out.wait(t, 20*time.Second)
	for i := range n {
		key := fmt.Sprintf("r%d", i)
		if out.errs[key] != nil || out.got[key] != "re:"+key {
			t.Fatalf("%s: reply %q, error %v", key, out.got[key], out.errs[key])
		}
	}
	if st := a.Stats(); st.RequestsPending != 0 {
		t.Fatalf("%d requests still pending", st.RequestsPending)
	}
}

// TestRequestAsyncFailures: each way a request can end without a reply
// reaches its callback once, with the error RequestWith would return; a
// request that cannot be sent returns its error and never calls back.
func TestRequestAsyncFailures(t *testing.T) {
	cases := []struct {
		name string
		want error
		run  func(t *testing.T, a, b *Transport, done func(Message, error))
	}{
		{"deadline", ErrTimeout, func(t *testing.T, a, b *Transport, done func(Message, error)) {
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			t.Cleanup(cancel)
			if err := a.RequestAsync(ctx, "b", []byte("x"), SendOptions{}, done); err != nil {
				t.Fatal(err)
			}
		}},
		{"cancel", ErrCanceled, func(t *testing.T, a, b *Transport, done func(Message, error)) {
			ctx, cancel := context.WithCancel(context.Background())
			if err := a.RequestAsync(ctx, "b", []byte("x"), SendOptions{Class: Control}, done); err != nil {
				t.Fatal(err)
			}
			cancel()
		}},
		{"peer closes", ErrConnectionLost, func(t *testing.T, a, b *Transport, done func(Message, error)) {
			if err := a.RequestAsync(context.Background(), "b", []byte("x"), SendOptions{Class: Control}, done); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, func() bool { return b.Stats().MessagesReceived > 0 })
			_ = b.Close()
		}},
		{"transport closes", ErrClosed, func(t *testing.T, a, b *Transport, done func(Message, error)) {
			if err := a.RequestAsync(context.Background(), "b", []byte("x"), SendOptions{}, done); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, func() bool { return b.Stats().MessagesReceived > 0 })
			_ = a.Close()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			acfg := devConfig("a")
			acfg.Reconnect.Enabled = false
			a, b := startTransport(t, acfg), startTransport(t, devConfig("b"))
			connect(t, a, b)
			silentServer(t, b)
			out := newAsyncOutcome(1)
			c.run(t, a, b, out.done("x"))
			out.wait(t, 10*time.Second)
			if err := out.errs["x"]; !errors.Is(err, c.want) {
				t.Fatalf("callback error %v, want %v", err, c.want)
			}
		})
	}
	t.Run("unknown peer", func(t *testing.T) {
		a := startTransport(t, devConfig("a"))
		called := false
		err := a.RequestAsync(context.Background(), "nobody", []byte("x"), SendOptions{}, func(Message, error) { called = true })
		if !errors.Is(err, ErrPeerNotFound) || called {
			t.Fatalf("RequestAsync to an unknown peer: %v (callback called: %v), want ErrPeerNotFound and no callback", err, called)
		}
	})
}

// TestRequestAsyncChains: each callback, running on the event loop, starts
// the next request: no lock is held around a callback.
func TestRequestAsyncChains(t *testing.T) {
	a, b := startTransport(t, devConfig("a")), startTransport(t, devConfig("b"))
	connect(t, a, b)
	echoServer(t, b)
	const n = 50
	finished := make(chan error, 1)
	var next func(i int) func(Message, error)
	next = func(i int) func(Message, error) {
		return func(m Message, err error) {
			defer m.Release()
			if err == nil && string(m.Payload) != fmt.Sprintf("re:%d", i) {
				err = fmt.Errorf("reply %d: %q", i, m.Payload)
			}
			if err != nil || i == n {
				finished <- err
				return
			}
			if err := a.RequestAsync(context.Background(), "b", fmt.Appendf(nil, "%d", i+1), SendOptions{Class: Control}, next(i+1)); err != nil {
				finished <- err
			}
		}
	}
	if err := a.RequestAsync(context.Background(), "b", []byte("0"), SendOptions{Class: Control}, next(0)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-finished:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the chain of requests stalled")
	}
}
