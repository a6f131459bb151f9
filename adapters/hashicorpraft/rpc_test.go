package hashicorpraft

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// pair is two adapters on loopback, a calling b, with no raft: the tests
// play raft's part on b's consumer channel.
type pair struct {
	a, b        *Transport
	bID         raft.ServerID
	bAddr       raft.ServerAddress
	reqHeader   raft.RPCHeader // what a's raft would put in its requests
	replyHeader raft.RPCHeader // and b's in its responses
}

func newPair(t testing.TB, opts ...Option) *pair {
	t.Helper()
	p := &pair{a: newTestTransport(t, "a", "127.0.0.1:0", nil, opts...), b: newTestTransport(t, "b", "127.0.0.1:0", nil, opts...)}
	p.bID, p.bAddr = "b", p.b.LocalAddr()
	p.reqHeader = raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("a"), Addr: []byte(p.a.LocalAddr())}
	p.replyHeader = raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("b"), Addr: []byte(p.bAddr)}
	return p
}

// serve answers b's RPCs with answer until the test ends.
func (p *pair) serve(t testing.TB, answer func(rpc raft.RPC)) { serve(t, p.b, answer) }

// serve plays raft on tr's consumer channel until the test ends.
func serve(t testing.TB, tr *Transport, answer func(rpc raft.RPC)) {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case rpc := <-tr.Consumer():
				answer(rpc)
			case <-stop:
				return
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-done })
}

// Every RPC carries every field of its request and of its answer.
func TestRPCRoundTrip(t *testing.T) {
	p := newPair(t)
	body := makeBlob(7, 3<<20+123) // several stream windows
	bodySum := sha256.Sum256(body)
	entries := []*raft.Log{
		{Index: 11, Term: 2, Type: raft.LogCommand, Data: []byte("x"), Extensions: []byte("e"), AppendedAt: testTime},
		{Index: 12, Term: 2, Type: raft.LogNoop, AppendedAt: testTime},
	}
	cases := []struct {
		name string
		req  any
		resp any
		call func(req, resp any) error
	}{
		{"append entries",
			&raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 2, Leader: []byte("l"), PrevLogEntry: 10, PrevLogTerm: 1, Entries: entries, LeaderCommitIndex: 9},
			&raft.AppendEntriesResponse{RPCHeader: p.replyHeader, Term: 2, LastLog: 12, Success: true, NoRetryBackoff: true},
			func(req, resp any) error {
				return p.a.AppendEntries(p.bID, p.bAddr, req.(*raft.AppendEntriesRequest), resp.(*raft.AppendEntriesResponse))
			}},
		{"heartbeat without a handler",
			&raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 3, Leader: []byte("l")},
			&raft.AppendEntriesResponse{RPCHeader: p.replyHeader, Term: 3, LastLog: 12, Success: true},
			func(req, resp any) error {
				return p.a.AppendEntries(p.bID, p.bAddr, req.(*raft.AppendEntriesRequest), resp.(*raft.AppendEntriesResponse))
			}},
		{"request vote",
			&raft.RequestVoteRequest{RPCHeader: p.reqHeader, Term: 4, Candidate: []byte("c"), LastLogIndex: 12, LastLogTerm: 2, LeadershipTransfer: true},
			&raft.RequestVoteResponse{RPCHeader: p.replyHeader, Term: 4, Peers: []byte("p"), Granted: true},
			func(req, resp any) error {
				return p.a.RequestVote(p.bID, p.bAddr, req.(*raft.RequestVoteRequest), resp.(*raft.RequestVoteResponse))
			}},
		{"request pre-vote",
			&raft.RequestPreVoteRequest{RPCHeader: p.reqHeader, Term: 5, LastLogIndex: 12, LastLogTerm: 2},
			&raft.RequestPreVoteResponse{RPCHeader: p.replyHeader, Term: 4, Granted: true},
			func(req, resp any) error {
				return p.a.RequestPreVote(p.bID, p.bAddr, req.(*raft.RequestPreVoteRequest), resp.(*raft.RequestPreVoteResponse))
			}},
		{"timeout now",
			&raft.TimeoutNowRequest{RPCHeader: p.reqHeader},
			&raft.TimeoutNowResponse{RPCHeader: p.replyHeader},
			func(req, resp any) error {
				return p.a.TimeoutNow(p.bID, p.bAddr, req.(*raft.TimeoutNowRequest), resp.(*raft.TimeoutNowResponse))
			}},
		{"install snapshot",
			&raft.InstallSnapshotRequest{RPCHeader: p.reqHeader, SnapshotVersion: 1, Term: 6, Leader: []byte("l"), LastLogIndex: 12, LastLogTerm: 2,
				Peers: []byte("old"), Configuration: []byte("conf"), ConfigurationIndex: 1, Size: int64(len(body))},
			&raft.InstallSnapshotResponse{RPCHeader: p.replyHeader, Term: 6, Success: true},
			func(req, resp any) error {
				return p.a.InstallSnapshot(p.bID, p.bAddr, req.(*raft.InstallSnapshotRequest), resp.(*raft.InstallSnapshotResponse), bytes.NewReader(body))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan any, 1)
			var sum [sha256.Size]byte
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				select {
				case rpc := <-p.b.Consumer():
					if rpc.Reader != nil {
						h := sha256.New()
						_, _ = io.Copy(h, rpc.Reader)
						copy(sum[:], h.Sum(nil))
					}
					got <- rpc.Command
					rpc.Respond(tc.resp, nil)
				case <-stop:
				}
			}()
			defer func() { close(stop); <-done }()
			resp := reflect.New(reflect.TypeOf(tc.resp).Elem()).Interface()
			if err := tc.call(tc.req, resp); err != nil {
				t.Fatalf("call: %v", err)
			}
			if cmd := <-got; !reflect.DeepEqual(cmd, tc.req) {
				t.Fatalf("server got\n%+v\nwant\n%+v", cmd, tc.req)
			}
			if !reflect.DeepEqual(resp, tc.resp) {
				t.Fatalf("client got\n%+v\nwant\n%+v", resp, tc.resp)
			}
			if _, ok := tc.req.(*raft.InstallSnapshotRequest); ok && sum != bodySum {
				t.Fatal("the snapshot body arrived altered")
			}
		})
	}
}

// An error raft answers with reaches the caller as an error, with its text.
func TestRemoteErrorTravels(t *testing.T) {
	p := newPair(t)
	p.serve(t, func(rpc raft.RPC) {
		rpc.Respond(&raft.RequestVoteResponse{Term: 9}, errors.New("disk on fire"))
	})
	var resp raft.RequestVoteResponse
	err := p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader, Term: 9}, &resp)
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err %v, want ErrRemote with the remote's text", err)
	}
	if resp.Term != 9 {
		t.Fatalf("the response that came with the error was dropped: %+v", resp)
	}
}

// A request whose header names another server than the connection's
// authenticated node is refused before raft sees it.
func TestSenderMismatchRefused(t *testing.T) {
	p := newPair(t)
	var seen atomic.Int32
	p.serve(t, func(rpc raft.RPC) { seen.Add(1); rpc.Respond(&raft.RequestVoteResponse{Granted: true}, nil) })
	forged := p.reqHeader
	forged.ID = []byte("mallory")
	var resp raft.RequestVoteResponse
	err := p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: forged, Term: 1}, &resp)
	if !errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), `names server "mallory"`) {
		t.Fatalf("err %v, want the remote's refusal", err)
	}
	if seen.Load() != 0 || resp.Granted {
		t.Fatal("raft saw the forged request")
	}
}

// Heartbeats take the heartbeat handler's fast path, and are answered
// while raft has not taken the RPC before them off the consumer channel.
func TestHeartbeatFastPath(t *testing.T) {
	p := newPair(t)
	var beats atomic.Int32
	p.b.SetHeartbeatHandler(func(rpc raft.RPC) {
		beats.Add(1)
		rpc.Respond(&raft.AppendEntriesResponse{RPCHeader: p.replyHeader, Term: 1, Success: true}, nil)
	})
	blocked := make(chan error, 1)
	go func() { // nobody reads b's consumer: this one waits in it
		var resp raft.AppendEntriesResponse
		blocked <- p.a.AppendEntries(p.bID, p.bAddr, &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, PrevLogEntry: 1,
			Entries: []*raft.Log{{Index: 2, Term: 1}}}, &resp)
	}()
	time.Sleep(50 * time.Millisecond)
	for i := range 100 {
		var resp raft.AppendEntriesResponse
		if err := p.a.AppendEntries(p.bID, p.bAddr, &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, Leader: []byte("a")}, &resp); err != nil {
			t.Fatalf("heartbeat %d: %v", i, err)
		}
		if !resp.Success {
			t.Fatalf("heartbeat %d: %+v", i, resp)
		}
	}
	if n := beats.Load(); n != 100 {
		t.Fatalf("handler saw %d heartbeats, want 100", n)
	}
	select {
	case err := <-blocked:
		t.Fatalf("the append behind the consumer channel returned: %v", err)
	default:
	}
	if err := p.b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-blocked; err == nil {
		t.Fatal("the append waiting on a closed peer succeeded")
	}
}

// TestHeartbeatsPassABlockedBulkPath: nobody reads b's consumer channel and
// more appends are sent than b's inbound queue holds, so the goroutine
// receiving b's bulk messages blocks handing them on. Heartbeats come on
// the control class and must still be answered, each within its RPC
// timeout: they never wait behind the bulk path.
func TestHeartbeatsPassABlockedBulkPath(t *testing.T) {
	p := newPair(t, WithTimeout(2*time.Second))
	p.b.SetHeartbeatHandler(func(rpc raft.RPC) {
		rpc.Respond(&raft.AppendEntriesResponse{RPCHeader: p.replyHeader, Term: 1, Success: true}, nil)
	})
	const appends = queueDepth + 8 // the queue, the one dispatch holds, the one the bulk goroutine holds, and more
	for i := range appends {
		go func() { // each waits for an answer that never comes, until Close
			var resp raft.AppendEntriesResponse
			_ = p.a.AppendEntries(p.bID, p.bAddr, &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, PrevLogEntry: uint64(i + 1),
				Entries: []*raft.Log{{Index: uint64(i + 2), Term: 1}}}, &resp)
		}()
	}
	waitFor(t, 5*time.Second, "a full inbound queue", func() bool { return len(p.b.inbound) == queueDepth })
	time.Sleep(50 * time.Millisecond) // the rest reach the bulk goroutine, which blocks on the full queue
	p.heartbeats(t, 20, "behind a blocked bulk path")
}

// TestHeartbeatsPassAVoteRaftHasNotTaken: nobody reads b's consumer channel
// (raft busy: an InstallSnapshot being read, a slow disk) and a vote waits
// for it. Heartbeats come on the same class and must still be answered:
// the goroutine receiving the control class never waits for raft.
func TestHeartbeatsPassAVoteRaftHasNotTaken(t *testing.T) {
	p := newPair(t, WithTimeout(2*time.Second))
	p.b.SetHeartbeatHandler(func(rpc raft.RPC) {
		rpc.Respond(&raft.AppendEntriesResponse{RPCHeader: p.replyHeader, Term: 1, Success: true}, nil)
	})
	for range 3 {
		go func() { // waits for an answer that never comes, until Close
			var resp raft.RequestVoteResponse
			_ = p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader, Term: 2, LastLogIndex: 1, LastLogTerm: 1}, &resp)
		}()
	}
	waitFor(t, 5*time.Second, "the votes queued for raft", func() bool { return len(p.b.control) >= 2 })
	p.heartbeats(t, 20, "behind a vote raft has not taken")
}

// heartbeats sends n heartbeats from a to b, each of which must succeed.
func (p *pair) heartbeats(t *testing.T, n int, where string) {
	t.Helper()
	for i := range n {
		var resp raft.AppendEntriesResponse
		if err := p.a.AppendEntries(p.bID, p.bAddr, &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, Leader: []byte("a")}, &resp); err != nil {
			t.Fatalf("heartbeat %d %s: %v", i, where, err)
		}
		if !resp.Success {
			t.Fatalf("heartbeat %d %s: %+v", i, where, resp)
		}
	}
}

// RPCs fail within their timeout, with the engine's error: fast when
// nothing listens or the peer goes away, at the deadline when it is silent.
func TestRPCErrors(t *testing.T) {
	const timeout = 300 * time.Millisecond
	cases := []struct {
		name    string
		setup   func(t *testing.T, p *pair) raft.ServerAddress // returns b's address to call
		want    error
		atLeast time.Duration
		within  time.Duration
	}{
		{"nothing listening", func(t *testing.T, p *pair) raft.ServerAddress {
			return raft.ServerAddress(deadAddr(t))
		}, engine.ErrUnreachable, 0, 2 * time.Second},
		{"peer never answers", func(t *testing.T, p *pair) raft.ServerAddress {
			return p.bAddr // nobody reads b's consumer
		}, engine.ErrTimeout, timeout, timeout + 2*time.Second},
		{"peer closes while the request waits", func(t *testing.T, p *pair) raft.ServerAddress {
			go func() {
				<-p.b.Consumer() // raft took it, then the node went down
				_ = p.b.Close()
			}()
			return p.bAddr
		}, engine.ErrConnectionLost, 0, timeout},
		{"peer went down before", func(t *testing.T, p *pair) raft.ServerAddress {
			p.serve(t, func(rpc raft.RPC) { rpc.Respond(&raft.RequestVoteResponse{}, nil) })
			var resp raft.RequestVoteResponse
			if err := p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader}, &resp); err != nil {
				t.Fatalf("first request: %v", err)
			}
			_ = p.b.Close()
			waitFor(t, 5*time.Second, "a to see b's connections close", func() bool {
				return p.a.Engine().Peers()[0].Connections == 0
			})
			return p.bAddr
		}, engine.ErrUnreachable, 0, timeout},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t, WithTimeout(timeout))
			addr := tc.setup(t, p)
			start := time.Now()
			var resp raft.RequestVoteResponse
			err := p.a.RequestVote(p.bID, addr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader, Term: 1}, &resp)
			elapsed := time.Since(start)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if elapsed < tc.atLeast || elapsed > tc.within {
				t.Fatalf("failed after %v, want %v to %v", elapsed, tc.atLeast, tc.within)
			}
			if want := "request vote to b"; !strings.Contains(err.Error(), want) {
				t.Fatalf("err %q does not say %q", err, want)
			}
		})
	}
}

// A snapshot whose receiver stops reading fails at its deadline.
func TestInstallSnapshotTimeout(t *testing.T) {
	p := newPair(t, WithTimeout(200*time.Millisecond), WithSnapshotRate(1<<40))
	taken := make(chan raft.RPC, 1)
	go func() { taken <- <-p.b.Consumer() }() // takes it, never reads the body
	body := makeBlob(1, 16<<20)
	start := time.Now()
	var resp raft.InstallSnapshotResponse
	err := p.a.InstallSnapshot(p.bID, p.bAddr, &raft.InstallSnapshotRequest{RPCHeader: p.reqHeader, Size: int64(len(body))}, &resp, bytes.NewReader(body))
	if !errors.Is(err, engine.ErrTimeout) {
		t.Fatalf("err %v, want ErrTimeout", err)
	}
	if elapsed := time.Since(start); elapsed > 3*time.Second {
		t.Fatalf("failed after %v", elapsed)
	}
	rpc := <-taken
	rpc.Respond(&raft.InstallSnapshotResponse{}, nil) // answered late: dropped
}

// RPCs in flight when the transport closes, and after, fail with
// raft.ErrTransportShutdown.
func TestClosedTransport(t *testing.T) {
	p := newPair(t, pipelined) // nobody reads b's consumer: a request waits for its 10 s timeout
	inFlight := make(chan error, 1)
	go func() {
		var resp raft.RequestVoteResponse
		inFlight <- p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader}, &resp)
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := p.a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-inFlight; !errors.Is(err, raft.ErrTransportShutdown) || time.Since(start) > 2*time.Second {
		t.Fatalf("request in flight at Close: %v after %v", err, time.Since(start))
	}
	if err := p.a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	var resp raft.RequestVoteResponse
	if err := p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{}, &resp); !errors.Is(err, raft.ErrTransportShutdown) {
		t.Fatalf("RequestVote after Close: %v", err)
	}
	if _, err := p.a.AppendEntriesPipeline(p.bID, p.bAddr); !errors.Is(err, raft.ErrTransportShutdown) {
		t.Fatalf("AppendEntriesPipeline after Close: %v", err)
	}
}

// A server raft now knows at another address is redialed there.
func TestAddressChange(t *testing.T) {
	p := newPair(t)
	answer := func(tr *Transport) {
		serve(t, tr, func(rpc raft.RPC) { rpc.Respond(&raft.RequestVoteResponse{Granted: true}, nil) })
	}
	answer(p.b)
	var resp raft.RequestVoteResponse
	if err := p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader}, &resp); err != nil || !resp.Granted {
		t.Fatalf("first address: %v %+v", err, resp)
	}
	_ = p.b.Close()
	moved := newTestTransport(t, "b", "127.0.0.1:0", nil)
	answer(moved)
	resp = raft.RequestVoteResponse{}
	if err := p.a.RequestVote(p.bID, moved.LocalAddr(), &raft.RequestVoteRequest{RPCHeader: p.reqHeader}, &resp); err != nil || !resp.Granted {
		t.Fatalf("new address: %v %+v", err, resp)
	}
	if got := p.a.Engine().Peers()[0].Address; got != string(moved.LocalAddr()) {
		t.Fatalf("engine dials b at %s, want %s", got, moved.LocalAddr())
	}
}

func TestNewRejectsBadSettings(t *testing.T) {
	w := newTestLog(t)
	withHandler := engineConfig(t, "x", "127.0.0.1:0", nil, w)
	withHandler.MessageHandler = func(*engine.Message) {}
	cases := []struct {
		name string
		cfg  engine.Config
		opts []Option
		want error
	}{
		{"message handler", withHandler, nil, ErrInvalidOption},
		{"zero timeout", engineConfig(t, "x", "127.0.0.1:0", nil, w), []Option{WithTimeout(0)}, ErrInvalidOption},
		{"zero snapshot rate", engineConfig(t, "x", "127.0.0.1:0", nil, w), []Option{WithSnapshotRate(0)}, ErrInvalidOption},
		{"zero connect timeout", engineConfig(t, "x", "127.0.0.1:0", nil, w), []Option{WithConnectTimeout(0)}, ErrInvalidOption},
		{"huge pipeline", engineConfig(t, "x", "127.0.0.1:0", nil, w), []Option{WithMaxInFlight(1 << 20)}, ErrInvalidOption},
		{"strict without TLS", engine.NewConfig("x", "127.0.0.1:0"), nil, engine.ErrTLSRequired},
		{"wildcard listen address", engineConfig(t, "x", "0.0.0.0:0", nil, w), nil, ErrInvalidOption},
		{"no listen host", engineConfig(t, "x", ":0", nil, w), nil, ErrInvalidOption},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := New(tc.cfg, tc.opts...)
			if !errors.Is(err, tc.want) {
				if tr != nil {
					_ = tr.Close()
				}
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}
}

func TestAdvertise(t *testing.T) {
	tr := newTestTransport(t, "x", "127.0.0.1:0", nil, WithAdvertise("10.1.2.3:7000"))
	if got := tr.LocalAddr(); got != "10.1.2.3:7000" {
		t.Fatalf("LocalAddr %q", got)
	}
	if got := tr.DecodePeer(tr.EncodePeer("y", "10.0.0.9:1")); got != "10.0.0.9:1" {
		t.Fatalf("DecodePeer(EncodePeer) = %q", got)
	}
}

// A server forgotten, by the adapter's Disconnect or behind its back by
// the engine's, is connected again by a later RPC.
func TestReconnectAfterDisconnect(t *testing.T) {
	cases := []struct {
		name       string
		disconnect func(p *pair) error
		firstFails error // the first RPC afterwards fails with it; nil: it succeeds
	}{
		{"adapter", func(p *pair) error { return p.a.Disconnect(p.bID) }, nil},
		{"engine", func(p *pair) error { return p.a.Engine().Disconnect(string(p.bID)) }, engine.ErrPeerNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newPair(t)
			p.serve(t, func(rpc raft.RPC) { rpc.Respond(&raft.RequestVoteResponse{Granted: true}, nil) })
			vote := func() error {
				var resp raft.RequestVoteResponse
				return p.a.RequestVote(p.bID, p.bAddr, &raft.RequestVoteRequest{RPCHeader: p.reqHeader}, &resp)
			}
			if err := vote(); err != nil {
				t.Fatalf("before: %v", err)
			}
			if err := tc.disconnect(p); err != nil {
				t.Fatalf("disconnect: %v", err)
			}
			if err := vote(); !errors.Is(err, tc.firstFails) {
				t.Fatalf("first RPC after the disconnect: err %v, want %v", err, tc.firstFails)
			}
			if err := vote(); err != nil {
				t.Fatalf("RPC after the disconnect: %v", err)
			}
		})
	}
}

// BenchmarkHeartbeat is one heartbeat round trip over loopback: control
// class, answered by the heartbeat handler on the receiving goroutine.
func BenchmarkHeartbeat(b *testing.B) {
	p := newPair(b)
	p.b.SetHeartbeatHandler(func(rpc raft.RPC) { rpc.Respond(&raft.AppendEntriesResponse{Term: 1, Success: true}, nil) })
	req := &raft.AppendEntriesRequest{RPCHeader: p.reqHeader, Term: 1, Leader: []byte("a")}
	var resp raft.AppendEntriesResponse
	b.ReportAllocs()
	for b.Loop() {
		if err := p.a.AppendEntries(p.bID, p.bAddr, req, &resp); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPipeline64 sends batches of 64 entries of 100 bytes down a
// pipeline to a consumer that acknowledges each at once.
func BenchmarkPipeline64(b *testing.B) {
	p := newPair(b, pipelined)
	p.serve(b, func(rpc raft.RPC) { rpc.Respond(&raft.AppendEntriesResponse{Term: 5, Success: true}, nil) })
	pl, err := p.a.AppendEntriesPipeline(p.bID, p.bAddr)
	if err != nil {
		b.Fatal(err)
	}
	defer pl.Close()
	req := benchAppendEntries()
	req.RPCHeader = p.reqHeader
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range b.N {
			if f := <-pl.Consumer(); f.Error() != nil {
				b.Error(f.Error())
				return
			}
		}
	}()
	b.SetBytes(int64(len(appendAppendEntriesRequest(nil, req))))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := pl.AppendEntries(req, new(raft.AppendEntriesResponse)); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}
