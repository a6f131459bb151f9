package bench

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
)

// idleConns measures the memory an idle connection costs the accepting
// node: live heap plus goroutine stacks after a full GC, with o.Conns
// connections held open by a child process, minus the same with none.
func idleConns(im impl, o Options, p *pki) (Result, error) {
	srv, err := im.start(nodeSpec{id: "recv", opts: o, pki: p, deliver: func(string, []byte) {}})
	if err != nil {
		return Result{}, err
	}
	defer srv.close()
	spec := fmt.Sprintf("%s %d recv", srv.addr(), o.Conns)
	if p != nil {
		for i := range o.Conns {
			if _, err := p.issue(fmt.Sprintf(holderIDPattern, i)); err != nil {
				return Result{}, err
			}
		}
		spec += " " + p.dir
	}
	time.Sleep(50 * time.Millisecond) // let the node's own goroutines settle
	before, g0 := liveBytes(), runtime.NumGoroutine()
	stop, err := startHolder(spec)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	for deadline := time.Now().Add(60 * time.Second); srv.connCount() < o.Conns; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return Result{}, fmt.Errorf("%s has %d of %d connections", im.name, srv.connCount(), o.Conns)
		}
	}
	after, g1 := liveBytes(), runtime.NumGoroutine()
	r := Result{Scenario: ScenarioConns, Case: fmt.Sprintf("%d idle", o.Conns), Impl: im.name, Conns: o.Conns}
	r.BytesPerConn = float64(int64(after)-int64(before)) / float64(o.Conns)
	r.Goroutines = (g1 - g0) * 1000 / o.Conns
	return r, nil
}

// startHolder starts the child process that holds the connections and
// waits until it reports them all open; stop ends it.
func startHolder(spec string) (stop func(), err error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	ch, err := startChild(exe, holderEnv+"="+spec, &stderr)
	if err != nil {
		return nil, err
	}
	stop, stdout := ch.Stop, ch.Stdout
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		ready <- line == "ready\n"
	}()
	select {
	case ok := <-ready:
		if ok {
			return stop, nil
		}
	case <-time.After(90 * time.Second):
	}
	stop()
	return nil, errors.New("connection holder failed: " + strings.TrimSpace(stderr.String()))
}
