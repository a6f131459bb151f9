package bench

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// oneway measures one sender streaming payloads of one size to one
// receiver for o.Duration.
func oneway(im impl, o Options, p *pki, size int) (Result, error) {
	var got atomic.Uint64
	deliver := func(string, []byte) { got.Add(1) }
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration+30*time.Second)
	defer cancel()
	a, b, err := startPair(ctx, im, o, p, deliver)
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	defer a.close()
	stop := streamTo(ctx, a, "recv", payloadFor(size, o.compressible()), o.batch())
	w := measureWindow(&got, warmup(o.Duration), o.Duration)
	if err := stop(); err != nil {
		return Result{}, err
	}
	r := Result{Scenario: ScenarioOneway, Case: sizeName(size), Impl: im.name}
	r.throughput(w.msgs, size, w.elapsed, w.mallocs)
	r.wire(size, a)
	return r, nil
}

// streamTo sends payload to peer in a loop on its own goroutine until the
// returned stop is called, batch copies per call when batch > 1 (sendBatch);
// stop reports the first send error.
func streamTo(ctx context.Context, n node, peer string, payload []byte, batch int) (stop func() error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var sendErr error
	send := func() error { return n.send(ctx, peer, payload) }
	if batch > 1 {
		payloads := slices.Repeat([][]byte{payload}, batch)
		send = func() error { return n.sendBatch(ctx, peer, payloads) }
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := send(); err != nil && ctx.Err() == nil {
				sendErr = err
				return
			}
		}
	}()
	return func() error {
		cancel()
		wg.Wait()
		return sendErr
	}
}
