package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"time"
)

// hbload: heartbeats under bulk load. Node A streams 64 KiB bulk messages
// to node B as fast as it can while a 64 B ping-pong runs between the same
// two nodes as control traffic (sendControl): A sends a ping, B answers it
// with a control pong, A times the round trip. The engine carries control
// messages on a connection, queue and inbound ring of their own; the
// baseline has one connection per peer pair, so its pings queue behind the
// bulk bytes (hashicorp/raft without its heartbeat connection).
const (
	hbPingSize = 64
	hbBulkSize = 64 << 10
	// hbMaxPings bounds the samples of one hbload window.
	hbMaxPings = 100_000
	// hbPingTimeout bounds one round trip: a lost pong fails the step
	// instead of hanging it.
	hbPingTimeout = 10 * time.Second

	// The first payload byte tells pings from bulk at B (the Handler path
	// does not say which class a message came on); a ping carries its
	// sequence number in the next eight bytes and the pong echoes it.
	hbTagPing = 'P'
	hbTagBulk = 'B'

	// hbPace is the paced phase's heartbeat interval: one ping per
	// millisecond, where the loaded phase pings back to back (about
	// 36,000 round trips a second when one takes 28 µs, each waking an
	// idle loop on both nodes, which the stream pays for on two cores).
	hbPace = time.Millisecond
)

// hbload cases, in table order.
const (
	hbCtrlIdle   = "ctrl idle"
	hbCtrlLoaded = "ctrl loaded"
	hbBulkAlone  = "bulk alone"
	hbBulkLoaded = "bulk loaded"
	hbCtrlPaced  = "ctrl paced"
	hbBulkPaced  = "bulk paced"
)

// hbStreamCase reports whether an hbload case measures the bulk stream
// (MB/s) rather than control round trips.
func hbStreamCase(cas string) bool {
	return cas == hbBulkAlone || cas == hbBulkLoaded || cas == hbBulkPaced
}

// hbload measures, on one pair of nodes: control round trips with no load
// (ctrl idle), the bulk stream alone (bulk alone), then both at once over
// the same window (ctrl loaded, bulk loaded), and both again with one ping
// per hbPace, as heartbeats go (ctrl paced, bulk paced). Each phase is a
// warm-up and an o.Duration window; the stream stops when its window ends.
func hbload(im impl, o Options, p *pki) ([]Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*o.Duration+60*time.Second)
	defer cancel()

	var echo atomic.Pointer[node]
	var echoErrs, bulkGot atomic.Uint64
	atB := func(from string, payload []byte) {
		if len(payload) > 0 && payload[0] == hbTagPing {
			if err := (*echo.Load()).trySendControl(from, payload); err != nil {
				echoErrs.Add(1)
			}
			return
		}
		bulkGot.Add(1)
	}
	b, err := im.start(nodeSpec{id: "recv", opts: o, pki: p, deliver: atB})
	if err != nil {
		return nil, err
	}
	defer b.close()
	echo.Store(&b)
	pongs := make(chan uint64, 16)
	atA := func(_ string, payload []byte) {
		if len(payload) >= 9 && payload[0] == hbTagPing {
			select { // never block: this may run on an event loop
			case pongs <- binary.BigEndian.Uint64(payload[1:9]):
			default:
			}
		}
	}
	a, err := im.start(nodeSpec{id: "send", opts: o, pki: p, deliver: atA})
	if err != nil {
		return nil, err
	}
	defer a.close()
	if err := a.connect(ctx, "recv", b.addr()); err != nil {
		return nil, fmt.Errorf("%s connect: %w", im.name, err)
	}

	ping := make([]byte, hbPingSize)
	ping[0] = hbTagPing
	var seq uint64
	roundTrip := func() (time.Duration, error) {
		seq++
		binary.BigEndian.PutUint64(ping[1:9], seq) // send copies the payload
		timeout := time.NewTimer(hbPingTimeout)
		defer timeout.Stop()
		t0 := time.Now()
		if err := a.sendControl(ctx, "recv", ping); err != nil {
			return 0, fmt.Errorf("ping: %w", err)
		}
		for {
			select {
			case s := <-pongs:
				if s == seq {
					return time.Since(t0), nil
				}
				// a pong for an earlier ping: keep waiting
			case <-timeout.C:
				return 0, fmt.Errorf("no pong in %v (%d echo errors)", hbPingTimeout, echoErrs.Load())
			case <-ctx.Done():
				return 0, fmt.Errorf("no pong (%d echo errors): %w", echoErrs.Load(), ctx.Err())
			}
		}
	}
	bulk := payloadFor(hbBulkSize, o.compressible())
	bulk[0] = hbTagBulk
	result := func(cas string) Result { return Result{Scenario: ScenarioHbload, Case: cas, Impl: im.name} }

	// ctrl idle: the control ping-pong on its own.
	samples, d, err := hbSample(roundTrip, o.Duration, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", hbCtrlIdle, err)
	}
	ctrlIdle := result(hbCtrlIdle)
	ctrlIdle.latency(samples, d)

	// bulk alone: the stream on its own.
	stop := streamTo(ctx, a, "recv", bulk, 1)
	w := measureWindow(&bulkGot, streamWarmup(o.Duration), o.Duration)
	if err := stop(); err != nil {
		return nil, fmt.Errorf("%s: %w", hbBulkAlone, err)
	}
	bulkAlone := result(hbBulkAlone)
	bulkAlone.throughput(w.msgs, hbBulkSize, w.elapsed, 0)
	bulkAlone.AllocsPerMsg = nil // not measured: the process also runs pings

	// loaded: the stream runs, the ping-pong runs beside it, and the
	// stream is counted over exactly the pings' window; paced: the same
	// with one ping per hbPace.
	loaded := func(ctrlCase, bulkCase string, pace time.Duration) (Result, Result, error) {
		stop := streamTo(ctx, a, "recv", bulk, 1)
		time.Sleep(streamWarmup(o.Duration) - warmup(o.Duration)) // the pings' own warm-up follows
		var c0, c1 uint64
		var t0, t1 time.Time
		samples, d, err := hbSample(roundTrip, o.Duration, pace, func(start bool) {
			if start {
				c0, t0 = bulkGot.Load(), time.Now()
			} else { // the stream still runs: a stall (CI's -race, 30 ms windows) is waited out, not reported as nothing moved
				c1, t1 = outlastStall(&bulkGot, c0, t0, time.Since(t0))
			}
		})
		if serr := stop(); err == nil && serr != nil {
			err = fmt.Errorf("bulk stream: %w", serr)
		}
		if err != nil {
			return Result{}, Result{}, fmt.Errorf("%s: %w", ctrlCase, err)
		}
		ctrl := result(ctrlCase)
		ctrl.latency(samples, d)
		stream := result(bulkCase)
		stream.throughput(c1-c0, hbBulkSize, t1.Sub(t0), 0)
		stream.AllocsPerMsg = nil
		return ctrl, stream, nil
	}
	ctrlLoaded, bulkLoaded, err := loaded(hbCtrlLoaded, hbBulkLoaded, 0)
	if err != nil {
		return nil, err
	}
	ctrlPaced, bulkPaced, err := loaded(hbCtrlPaced, hbBulkPaced, hbPace)
	if err != nil {
		return nil, err
	}
	return []Result{ctrlIdle, ctrlLoaded, bulkAlone, bulkLoaded, ctrlPaced, bulkPaced}, nil
}

// streamWarmup is how long the bulk stream runs before it is measured: a
// TLS stream of 64 KiB messages moves ~100 MB/s over its first 50 ms
// (buffers and pools warming), so short windows start no earlier than
// 100 ms into it.
func streamWarmup(d time.Duration) time.Duration { return max(warmup(d), 100*time.Millisecond) }

// hbSample runs rt for a warm-up, then records it for d (at most
// hbMaxPings samples), starting one round trip per pace (back to back
// when pace is 0, or when one takes longer). mark, when set, is called as
// recording starts (true) and ends (false).
func hbSample(rt func() (time.Duration, error), d, pace time.Duration, mark func(start bool)) ([]time.Duration, time.Duration, error) {
	rt = paced(rt, pace)
	for end := time.Now().Add(warmup(d)); time.Now().Before(end); {
		if _, err := rt(); err != nil {
			return nil, 0, err
		}
	}
	samples := make([]time.Duration, 0, 16<<10)
	if mark != nil {
		mark(true)
	}
	start := time.Now()
	for end := start.Add(d); len(samples) < hbMaxPings && time.Now().Before(end); {
		s, err := rt()
		if err != nil {
			return nil, 0, err
		}
		samples = append(samples, s)
	}
	elapsed := time.Since(start)
	if mark != nil {
		mark(false)
	}
	return samples, elapsed, nil
}

// paced makes rt wait out the rest of pace after each round trip.
func paced(rt func() (time.Duration, error), pace time.Duration) func() (time.Duration, error) {
	if pace <= 0 {
		return rt
	}
	return func() (time.Duration, error) {
		start := time.Now()
		s, err := rt()
		if rest := pace - time.Since(start); err == nil && rest > 0 {
			time.Sleep(rest)
		}
		return s, err
	}
}
