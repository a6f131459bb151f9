package hashicorpraft

import (
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// pipelined turns pipelining on for a test's transports: it is off by
// default (DefaultMaxInFlight).
var pipelined = WithMaxInFlight(8)

// pipelinedAppend is request i of a pipeline test: one entry after i.
func (p *pair) pipelinedAppend(i uint64) *raft.AppendEntriesRequest {
	return &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, Leader: []byte("a"), PrevLogEntry: i, PrevLogTerm: 1,
		Entries: []*raft.Log{{Index: i + 1, Term: 1, Data: command(opAdd, i)}}, LeaderCommitIndex: i}
}

// echoAppends answers each AppendEntries with its last entry's index.
func echoAppends(rpc raft.RPC) {
	r := rpc.Command.(*raft.AppendEntriesRequest)
	rpc.Respond(&raft.AppendEntriesResponse{Term: r.Term, LastLog: r.Entries[len(r.Entries)-1].Index, Success: true}, nil)
}

func openPipeline(t *testing.T, p *pair) raft.AppendPipeline {
	t.Helper()
	pl, err := p.a.AppendEntriesPipeline(p.bID, p.bAddr)
	if err != nil {
		t.Fatalf("open pipeline: %v", err)
	}
	t.Cleanup(func() { _ = pl.Close() })
	return pl
}

// Pipelined requests reach raft in order, and their futures come back in
// order with the answer to each: handed over by the acks themselves while
// Consumer has room, by the pipeline's goroutine when raft reads slowly
// and Consumer fills, and by both in turn.
func TestPipelineOrder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pause time.Duration // the consumer's, after every 50th future
	}{{"eager consumer", 0}, {"slow consumer", 2 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) { testPipelineOrder(t, tc.pause) })
	}
}

func testPipelineOrder(t *testing.T, pause time.Duration) {
	const n = 2000
	p := newPair(t, WithMaxInFlight(16))
	var next uint64
	p.serve(t, func(rpc raft.RPC) {
		if got := rpc.Command.(*raft.AppendEntriesRequest).PrevLogEntry; got != next {
			t.Errorf("raft got request %d, want %d", got, next)
		}
		next++
		echoAppends(rpc)
	})
	pl := openPipeline(t, p)
	errs := make(chan error, 1)
	go func() {
		for i := range uint64(n) {
			f := <-pl.Consumer()
			switch {
			case f.Error() != nil:
				errs <- f.Error()
				return
			case f.Request().PrevLogEntry != i || f.Response().LastLog != i+1 || !f.Response().Success:
				errs <- errors.New("future out of order or with the wrong answer")
				return
			case f.Start().IsZero():
				errs <- errors.New("future without a start time")
				return
			}
			if pause > 0 && i%50 == 49 {
				time.Sleep(pause)
			}
		}
		errs <- nil
	}()
	for i := range uint64(n) {
		if _, err := pl.AppendEntries(p.pipelinedAppend(i), new(raft.AppendEntriesResponse)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	select {
	case err := <-errs:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("futures did not all come back")
	}
}

// The pipeline holds at most WithMaxInFlight requests awaiting answers:
// the next AppendEntries blocks until one is answered.
func TestPipelineBoundsInFlight(t *testing.T) {
	const max = 4
	p := newPair(t, WithMaxInFlight(max))
	gate := make(chan struct{})
	p.serve(t, func(rpc raft.RPC) { <-gate; echoAppends(rpc) })
	pl := openPipeline(t, p)
	for i := range uint64(max) {
		if _, err := pl.AppendEntries(p.pipelinedAppend(i), new(raft.AppendEntriesResponse)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	sent := make(chan error, 1)
	go func() {
		_, err := pl.AppendEntries(p.pipelinedAppend(max), new(raft.AppendEntriesResponse))
		sent <- err
	}()
	select {
	case err := <-sent:
		t.Fatalf("request %d went out with %d in flight (err %v)", max+1, max, err)
	case <-time.After(200 * time.Millisecond):
	}
	close(gate)
	if err := <-sent; err != nil {
		t.Fatalf("append after room was made: %v", err)
	}
	for i := range max + 1 {
		if f := <-pl.Consumer(); f.Error() != nil {
			t.Fatalf("future %d: %v", i, f.Error())
		}
	}
}

// Pipelined requests fail, with a zero response raft reads as a failure:
// at their deadline when unanswered, at once when an answer to a later one
// shows they were lost, and with ErrPipelineShutdown on Close.
func TestPipelineFailures(t *testing.T) {
	const timeout = 250 * time.Millisecond
	t.Run("unanswered", func(t *testing.T) {
		p := newPair(t, pipelined, WithTimeout(timeout))
		pl := openPipeline(t, p) // nobody reads b's consumer
		start := time.Now()
		if _, err := pl.AppendEntries(p.pipelinedAppend(0), &raft.AppendEntriesResponse{Success: true}); err != nil {
			t.Fatal(err)
		}
		f := <-pl.Consumer()
		if elapsed := time.Since(start); elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Fatalf("failed after %v, want about %v", elapsed, timeout)
		}
		if !errors.Is(f.Error(), engine.ErrTimeout) || f.Response().Success {
			t.Fatalf("err %v, response %+v", f.Error(), f.Response())
		}
	})
	t.Run("unanswered behind an answered head", func(t *testing.T) {
		// The second request is sent behind the first: once the head is
		// answered and delivered, it must still fail at its own deadline.
		p := newPair(t, pipelined, WithTimeout(timeout))
		pl := openPipeline(t, p) // nobody reads b's consumer: only the ack below answers
		start := time.Now()
		for i := range uint64(2) {
			if _, err := pl.AppendEntries(p.pipelinedAppend(i), &raft.AppendEntriesResponse{Success: true}); err != nil {
				t.Fatal(err)
			}
		}
		answer := appendAnswer(nil, kindPipelineAppend, raft.RPCResponse{Response: &raft.AppendEntriesResponse{LastLog: 1, Success: true}})
		pl.(*pipeline).ack(1, answer)
		if f := <-pl.Consumer(); f.Error() != nil || f.Response().LastLog != 1 {
			t.Fatalf("answered head: err %v, response %+v", f.Error(), f.Response())
		}
		f := <-pl.Consumer()
		if elapsed := time.Since(start); elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Fatalf("second request failed after %v, want about %v", elapsed, timeout)
		}
		if !errors.Is(f.Error(), engine.ErrTimeout) || f.Response().Success {
			t.Fatalf("second request: err %v, response %+v", f.Error(), f.Response())
		}
	})
	t.Run("overtaken", func(t *testing.T) {
		p := newPair(t, pipelined)
		pl := openPipeline(t, p)
		for i := range uint64(3) {
			if _, err := pl.AppendEntries(p.pipelinedAppend(i), &raft.AppendEntriesResponse{Success: true}); err != nil {
				t.Fatal(err)
			}
		}
		// The follower's answer to request 2 (sequence 2) arrives; 1 never will.
		answer := appendAnswer(nil, kindPipelineAppend, raft.RPCResponse{Response: &raft.AppendEntriesResponse{LastLog: 2, Success: true}})
		pl.(*pipeline).ack(2, answer)
		first, second := <-pl.Consumer(), <-pl.Consumer()
		if !errors.Is(first.Error(), engine.ErrConnectionLost) || first.Response().Success {
			t.Fatalf("overtaken request: err %v, response %+v", first.Error(), first.Response())
		}
		if second.Error() != nil || second.Response().LastLog != 2 {
			t.Fatalf("answered request: err %v, response %+v", second.Error(), second.Response())
		}
	})
	t.Run("remote error", func(t *testing.T) {
		p := newPair(t, pipelined)
		p.serve(t, func(rpc raft.RPC) { rpc.Respond(nil, errors.New("log store broken")) })
		pl := openPipeline(t, p)
		if _, err := pl.AppendEntries(p.pipelinedAppend(0), &raft.AppendEntriesResponse{}); err != nil {
			t.Fatal(err)
		}
		if f := <-pl.Consumer(); !errors.Is(f.Error(), ErrRemote) || f.Response().Success {
			t.Fatalf("err %v, response %+v", f.Error(), f.Response())
		}
	})
	t.Run("close", func(t *testing.T) {
		p := newPair(t, pipelined)
		pl := openPipeline(t, p)
		f, err := pl.AppendEntries(p.pipelinedAppend(0), &raft.AppendEntriesResponse{Success: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := pl.Close(); err != nil {
			t.Fatal(err)
		}
		if !errors.Is(f.Error(), raft.ErrPipelineShutdown) || f.Response().Success {
			t.Fatalf("in-flight request after Close: err %v, response %+v", f.Error(), f.Response())
		}
		if _, err := pl.AppendEntries(p.pipelinedAppend(1), new(raft.AppendEntriesResponse)); !errors.Is(err, raft.ErrPipelineShutdown) {
			t.Fatalf("AppendEntries after Close: %v", err)
		}
	})
	t.Run("peer down", func(t *testing.T) {
		p := newPair(t, pipelined)
		pl := openPipeline(t, p)
		_ = p.b.Close()
		waitFor(t, 5*time.Second, "a to see b's connections close", func() bool {
			return p.a.Engine().Peers()[0].Connections == 0
		})
		if _, err := pl.AppendEntries(p.pipelinedAppend(0), new(raft.AppendEntriesResponse)); !errors.Is(err, engine.ErrUnreachable) {
			t.Fatalf("AppendEntries to a peer that is down: %v", err)
		}
	})
}

// Below two in flight, and by default, pipelining is off, as raft expects
// to be told.
func TestPipelineDisabled(t *testing.T) {
	for name, opts := range map[string][]Option{"default": nil, "one in flight": {WithMaxInFlight(1)}} {
		t.Run(name, func(t *testing.T) {
			p := newPair(t, opts...)
			if _, err := p.a.AppendEntriesPipeline(p.bID, p.bAddr); err != raft.ErrPipelineReplicationNotSupported {
				t.Fatalf("err %v, want raft.ErrPipelineReplicationNotSupported itself", err)
			}
		})
	}
}
