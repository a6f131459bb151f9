package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tensorchain/transport/engine"
)

// scale shows how a node's cost grows with its work: the senders sweep
// (1, 10, 100, 1000 connections streaming 1 KiB messages into one node),
// the sizes sweep (10 connections, 64 B to 1 MiB), and o.ScaleIdle idle
// connections. Each case runs on a fresh receiving node; the senders are
// raw connections in a child process (loadgen.go), so the receiving
// process's CPU time is the node's cost, reported per message and per byte.
func scale(im impl, o Options, p *pki) ([]Result, error) {
	var out []Result
	for _, c := range scaleCases(o) {
		r, err := scaleCase(im, o, p, c.senders, c.size)
		if err != nil {
			return out, fmt.Errorf("%dx%s: %w", c.senders, sizeName(c.size), err)
		}
		out = append(out, r)
	}
	if o.ScaleIdle > 0 {
		idle := o
		idle.Conns = o.ScaleIdle
		r, err := idleConns(im, idle, p)
		if err != nil {
			return out, fmt.Errorf("%d idle: %w", o.ScaleIdle, err)
		}
		r.Scenario = ScenarioScale
		out = append(out, r)
	}
	return out, nil
}

// scalePoint is one point of a sweep.
type scalePoint struct{ senders, size int }

// scaleCases lists the sweeps' points: senders at 1 KiB, then sizes at 10
// senders (the point they share once).
func scaleCases(o Options) []scalePoint {
	var cs []scalePoint
	for _, n := range o.ScaleSenders {
		cs = append(cs, scalePoint{n, 1 << 10})
	}
	for _, size := range o.ScaleSizes {
		if pt := (scalePoint{10, size}); !slices.Contains(cs, pt) {
			cs = append(cs, pt)
		}
	}
	return cs
}

// scaleCase measures senders connections streaming size-byte messages
// into a fresh node of im.
func scaleCase(im impl, o Options, p *pki, senders, size int) (Result, error) {
	r := Result{Scenario: ScenarioScale, Case: fmt.Sprintf("%dx%s", senders, sizeName(size)), Impl: im.name, Conns: senders}
	var got atomic.Uint64
	ro := o
	ro.Conns = max(o.Conns, senders) // the node admits them all (enginenode.go)
	recv, err := im.start(nodeSpec{id: "recv", opts: ro, pki: p, deliver: func(string, []byte) { got.Add(1) }})
	if err != nil {
		return r, err
	}
	defer recv.close()
	spec := loadSpec{Addr: recv.addr(), Server: "recv", Senders: senders, Size: size}
	if im.name == engineImpl.name { // the bench's engine nodes keep NewConfig's window
		spec.Window = int64(engine.NewConfig("recv", "127.0.0.1:0").ReceiveWindow)
	}
	if p != nil {
		for i := range senders {
			if _, err := p.issue(fmt.Sprintf(holderIDPattern, i)); err != nil {
				return r, err
			}
		}
		spec.PKIDir = p.dir
	}
	stop, err := startLoad(spec)
	if err != nil {
		return r, err
	}
	defer stop()
	time.Sleep(warmup(o.Duration))
	cpu0, c0, t0 := cpuTime(), got.Load(), time.Now()
	time.Sleep(o.Duration)
	cpu1, c1, t1 := cpuTime(), got.Load(), time.Now()
	msgs := c1 - c0
	r.throughput(msgs, size, t1.Sub(t0), 0)
	r.AllocsPerMsg = nil // not counted: the receiving process's own figure is CPU time
	if msgs > 0 {
		r.CPUPerMsg = float64(cpu1-cpu0) / float64(msgs)
		if size > 0 {
			r.CPUPerKiB = r.CPUPerMsg * 1024 / float64(size)
		}
	}
	return r, nil
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startLoad starts the load generator and waits until its senders are
// connected; stop ends it.
func startLoad(spec loadSpec) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	js, _ := json.Marshal(spec)
	var stderr strings.Builder
	ch, err := startChild(exe, loadEnv+"="+string(js), &stderr)
	if err != nil {
		return nil, err
	}
	if _, err := ch.Line("ready"); err != nil {
		ch.Stop()
		return nil, fmt.Errorf("load generator failed: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return ch.Stop, nil
}
