package bench

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// fanin measures o.Peers senders, each its own node with one event loop,
// streaming to one receiver at once: the aggregate the receiver takes in.
func fanin(im impl, o Options, p *pki) (Result, error) {
	var got atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), o.Duration+60*time.Second)
	defer cancel()
	recv, err := im.start(nodeSpec{id: "recv", opts: o, pki: p, deliver: func(string, []byte) { got.Add(1) }})
	if err != nil {
		return Result{}, err
	}
	defer recv.close()
	payload := payloadFor(o.FaninSize, o.compressible())
	var stops []func() error
	for i := range o.Peers {
		s, err := im.start(nodeSpec{id: fmt.Sprintf("send%d", i), opts: o, pki: p, loops: 1})
		if err != nil {
			return Result{}, err
		}
		defer s.close()
		if err := s.connect(ctx, "recv", recv.addr()); err != nil {
			return Result{}, err
		}
		stops = append(stops, streamTo(ctx, s, "recv", payload, 1))
	}
	w := measureWindow(&got, warmup(o.Duration), o.Duration)
	for _, stop := range stops {
		if err := stop(); err != nil {
			return Result{}, err
		}
	}
	r := Result{Scenario: ScenarioFanin, Case: fmt.Sprintf("%dx%s", o.Peers, sizeName(o.FaninSize)), Impl: im.name}
	r.throughput(w.msgs, o.FaninSize, w.elapsed, w.mallocs)
	return r, nil
}
