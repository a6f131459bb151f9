package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// maxPings bounds the samples of one pingpong run.
const maxPings = 500_000

// pingpong measures round trips of one message at a time: the receiver
// echoes each message back to its sender.
func pingpong(im impl, o Options, p *pki) (Result, error) {
	var echo atomic.Pointer[node]
	var echoErrs atomic.Uint64
	deliver := func(from string, payload []byte) {
		if err := (*echo.Load()).trySend(from, payload); err != nil {
			echoErrs.Add(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration+30*time.Second)
	defer cancel()
	b, err := im.start(nodeSpec{id: "recv", opts: o, pki: p, deliver: deliver})
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	echo.Store(&b)
	// The sender takes each pong as a user would: with Recv (the
	// baseline's inbox) on the goroutine that timed the ping, or in the
	// handler, which signals that goroutine.
	pong := make(chan struct{}, 1)
	pull := o.Deliver != "handler"
	a, err := im.start(nodeSpec{id: "send", opts: o, pki: p, pull: pull, deliver: func(string, []byte) { pong <- struct{}{} }})
	if err != nil {
		return Result{}, err
	}
	defer a.close()
	if err := a.connect(ctx, "recv", b.addr()); err != nil {
		return Result{}, err
	}
	payload := payloadFor(o.PingSize, o.compressible())
	ping := func() (time.Duration, error) {
		t0 := time.Now()
		if err := a.send(ctx, "recv", payload); err != nil {
			return 0, err
		}
		if pull {
			if err := a.recv(ctx); err != nil {
				return 0, fmt.Errorf("no pong (%d echo errors): %w", echoErrs.Load(), err)
			}
			return time.Since(t0), nil
		}
		select {
		case <-pong:
			return time.Since(t0), nil
		case <-ctx.Done():
			return 0, fmt.Errorf("no pong (%d echo errors): %w", echoErrs.Load(), ctx.Err())
		}
	}
	samples, d, err := sampleRoundTrips(ping, o.Duration)
	if err != nil {
		return Result{}, err
	}
	r := Result{Scenario: ScenarioPingpong, Case: sizeName(o.PingSize), Impl: im.name}
	r.latency(samples, d)
	return r, nil
}

// sampleRoundTrips runs rt for a warm-up, then records it for d (at most
// maxPings samples).
func sampleRoundTrips(rt func() (time.Duration, error), d time.Duration) ([]time.Duration, time.Duration, error) {
	for end := time.Now().Add(warmup(d)); time.Now().Before(end); {
		if _, err := rt(); err != nil {
			return nil, 0, err
		}
	}
	samples := make([]time.Duration, 0, 64<<10)
	start := time.Now()
	for end := start.Add(d); len(samples) < maxPings && time.Now().Before(end); {
		s, err := rt()
		if err != nil {
			return nil, 0, err
		}
		samples = append(samples, s)
	}
	return samples, time.Since(start), nil
}
