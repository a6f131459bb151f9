package hashicorpraft

import (
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

var (
	testHeader = raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("node-1"), Addr: []byte("127.0.0.1:7001")}
	testTime   = time.Date(2025, 3, 4, 5, 6, 7, 890123456, time.UTC)
)

// codecCase round-trips one value through its encoder and decoder.
type codecCase struct {
	name string
	run  func(t *testing.T)
}

// codecRoundTrip builds a case for in: its encoding must decode to a value
// deeply equal to it, overwrite a value decoded into that held other data,
// and fail (with ErrMalformed, without panicking) when truncated or
// followed by a stray byte.
func codecRoundTrip[T any](name string, in *T, enc func([]byte, *T) []byte, dec func([]byte, *T) error, dirty *T) codecCase {
	return codecCase{name, func(t *testing.T) {
		b := enc(nil, in)
		var out T
		if err := dec(b, &out); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if !reflect.DeepEqual(&out, in) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", out, *in)
		}
		if dirty != nil {
			over := *dirty
			if err := dec(b, &over); err != nil {
				t.Fatalf("decode over a used value: %v", err)
			}
			if !reflect.DeepEqual(&over, in) {
				t.Fatalf("decode over a used value left fields behind:\n got %+v\nwant %+v", over, *in)
			}
		}
		for n := range len(b) {
			var v T
			if err := dec(b[:n], &v); !errors.Is(err, ErrMalformed) {
				t.Fatalf("decoding the first %d of %d bytes: err %v, want ErrMalformed", n, len(b), err)
			}
		}
		var v T
		if err := dec(append(b[:len(b):len(b)], 0), &v); !errors.Is(err, ErrMalformed) {
			t.Fatalf("decoding with a trailing byte: err %v, want ErrMalformed", err)
		}
	}}
}

func TestCodecRoundTrip(t *testing.T) {
	entries := []*raft.Log{
		{Index: 1, Term: 1, Type: raft.LogConfiguration, Data: []byte("config"), AppendedAt: testTime},
		{Index: 2, Term: 3, Type: raft.LogCommand, Data: []byte{}, Extensions: []byte("ext"), AppendedAt: time.Now().Round(0).UTC()},
		{Index: math.MaxUint64, Term: math.MaxUint64, Type: raft.LogBarrier},
		{Index: 4, Term: 3, Type: raft.LogType(255), Data: make([]byte, 70000), Extensions: []byte{}, AppendedAt: time.Unix(-1, 5).UTC()},
	}
	full := &raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 7, Leader: []byte("127.0.0.1:7001"),
		PrevLogEntry: 41, PrevLogTerm: 6, Entries: entries, LeaderCommitIndex: 40}
	dirtyAE := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ID: []byte("x"), Addr: []byte("y")}, Term: 99,
		Leader: []byte("z"), PrevLogEntry: 1, PrevLogTerm: 1, Entries: []*raft.Log{{Index: 9}}, LeaderCommitIndex: 9}

	cases := []codecCase{
		codecRoundTrip("append entries request", full, appendAppendEntriesRequest, decodeAppendEntriesRequest, dirtyAE),
		codecRoundTrip("append entries request: heartbeat", &raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 7, Leader: []byte("a")},
			appendAppendEntriesRequest, decodeAppendEntriesRequest, dirtyAE),
		codecRoundTrip("append entries request: empty, not nil, entries", &raft.AppendEntriesRequest{Entries: []*raft.Log{}},
			appendAppendEntriesRequest, decodeAppendEntriesRequest, dirtyAE),
		codecRoundTrip("append entries request: zero", &raft.AppendEntriesRequest{}, appendAppendEntriesRequest, decodeAppendEntriesRequest, dirtyAE),
		codecRoundTrip("append entries response", &raft.AppendEntriesResponse{RPCHeader: testHeader, Term: 8, LastLog: 1 << 40, Success: true, NoRetryBackoff: true},
			appendAppendEntriesResponse, decodeAppendEntriesResponse, &raft.AppendEntriesResponse{Term: 1, Success: true}),
		codecRoundTrip("append entries response: failure", &raft.AppendEntriesResponse{RPCHeader: testHeader, Term: 8, NoRetryBackoff: true},
			appendAppendEntriesResponse, decodeAppendEntriesResponse, &raft.AppendEntriesResponse{Success: true, LastLog: 3}),
		codecRoundTrip("request vote request", &raft.RequestVoteRequest{RPCHeader: testHeader, Term: 9, Candidate: []byte("c"), LastLogIndex: 100, LastLogTerm: 8, LeadershipTransfer: true},
			appendRequestVoteRequest, decodeRequestVoteRequest, &raft.RequestVoteRequest{Term: 1, LeadershipTransfer: true, Candidate: []byte("q")}),
		codecRoundTrip("request vote request: old protocol", &raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: -3}, Term: 1},
			appendRequestVoteRequest, decodeRequestVoteRequest, nil),
		codecRoundTrip("request vote response", &raft.RequestVoteResponse{RPCHeader: testHeader, Term: 9, Peers: []byte("peers"), Granted: true},
			appendRequestVoteResponse, decodeRequestVoteResponse, &raft.RequestVoteResponse{Granted: true, Peers: []byte{1}}),
		codecRoundTrip("request vote response: denied", &raft.RequestVoteResponse{RPCHeader: testHeader, Term: 10},
			appendRequestVoteResponse, decodeRequestVoteResponse, &raft.RequestVoteResponse{Granted: true, Peers: []byte{1}}),
		codecRoundTrip("request pre-vote request", &raft.RequestPreVoteRequest{RPCHeader: testHeader, Term: 11, LastLogIndex: 5, LastLogTerm: 4},
			appendRequestPreVoteRequest, decodeRequestPreVoteRequest, &raft.RequestPreVoteRequest{Term: 3}),
		codecRoundTrip("request pre-vote response", &raft.RequestPreVoteResponse{RPCHeader: testHeader, Term: 11, Granted: true},
			appendRequestPreVoteResponse, decodeRequestPreVoteResponse, &raft.RequestPreVoteResponse{Term: 2}),
		codecRoundTrip("install snapshot request", &raft.InstallSnapshotRequest{RPCHeader: testHeader, SnapshotVersion: raft.SnapshotVersionMax, Term: 12,
			Leader: []byte("l"), LastLogIndex: 1000, LastLogTerm: 11, Peers: []byte("old peers"), Configuration: []byte("configuration"),
			ConfigurationIndex: 999, Size: 64 << 20},
			appendInstallSnapshotRequest, decodeInstallSnapshotRequest, &raft.InstallSnapshotRequest{Size: 1, Peers: []byte{2}}),
		codecRoundTrip("install snapshot request: negative size", &raft.InstallSnapshotRequest{SnapshotVersion: -1, Size: math.MinInt64},
			appendInstallSnapshotRequest, decodeInstallSnapshotRequest, nil),
		codecRoundTrip("install snapshot response", &raft.InstallSnapshotResponse{RPCHeader: testHeader, Term: 12, Success: true},
			appendInstallSnapshotResponse, decodeInstallSnapshotResponse, &raft.InstallSnapshotResponse{Term: 5}),
		codecRoundTrip("timeout now request", &raft.TimeoutNowRequest{RPCHeader: testHeader},
			appendTimeoutNowRequest, decodeTimeoutNowRequest, &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{ID: []byte("old")}}),
		codecRoundTrip("timeout now response", &raft.TimeoutNowResponse{RPCHeader: testHeader},
			appendTimeoutNowResponse, decodeTimeoutNowResponse, &raft.TimeoutNowResponse{RPCHeader: raft.RPCHeader{Addr: []byte("old")}}),
		codecRoundTrip("header: empty, not nil, strings", &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{ID: []byte{}, Addr: []byte{}}},
			appendTimeoutNowRequest, decodeTimeoutNowRequest, nil),
	}
	for _, tc := range cases {
		t.Run(tc.name, tc.run)
	}
}

// Decoded byte strings are capped: appending to one cannot overwrite the
// field after it in the shared buffer.
func TestCodecBytesCapped(t *testing.T) {
	in := &raft.AppendEntriesRequest{Entries: []*raft.Log{{Data: []byte("aa")}, {Data: []byte("bb")}}}
	var out raft.AppendEntriesRequest
	if err := decodeAppendEntriesRequest(appendAppendEntriesRequest(nil, in), &out); err != nil {
		t.Fatal(err)
	}
	_ = append(out.Entries[0].Data, 'X', 'X', 'X', 'X', 'X', 'X', 'X', 'X')
	if got := string(out.Entries[1].Data); got != "bb" {
		t.Fatalf("second entry's data is %q after appending to the first's", got)
	}
}

// Hostile lengths fail without allocating what they claim.
func TestCodecHostileLengths(t *testing.T) {
	huge := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}
	cases := []struct {
		name string
		b    []byte
		dec  func([]byte) error
	}{
		{"entries count", append([]byte{0, 0, 0, 1, 0, 0, 0}, huge...), func(b []byte) error {
			return decodeAppendEntriesRequest(b, new(raft.AppendEntriesRequest))
		}},
		{"header id length", append([]byte{0}, huge...), func(b []byte) error {
			return decodeTimeoutNowRequest(b, new(raft.TimeoutNowRequest))
		}},
		{"varint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, func(b []byte) error {
			return decodeTimeoutNowRequest(b, new(raft.TimeoutNowRequest))
		}},
		{"answer error length", append([]byte{answerError}, huge...), func(b []byte) error {
			_, _, err := decodeAnswer(b)
			return err
		}},
		{"time nanoseconds", append(appendAppendEntriesRequest(nil, &raft.AppendEntriesRequest{})[:7], 2, 1, 1, 1, 1, 1, 0, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0), func(b []byte) error {
			return decodeAppendEntriesRequest(b, new(raft.AppendEntriesRequest))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			n := bytesAllocated(func() { err = tc.dec(tc.b) })
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
			if n > 4<<10 {
				t.Fatalf("%d bytes allocated decoding %d hostile bytes", n, len(tc.b))
			}
		})
	}
}

// bytesAllocated returns how many bytes f allocates.
func bytesAllocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestCodecAnswer(t *testing.T) {
	ae := &raft.AppendEntriesResponse{RPCHeader: testHeader, Term: 3, LastLog: 9, Success: true}
	cases := []struct {
		name       string
		k          kind
		resp       raft.RPCResponse
		wantResp   *raft.AppendEntriesResponse // nil: resp left alone
		wantRemote string                      // "": no remote error
	}{
		{"response", kindAppendEntries, raft.RPCResponse{Response: ae}, ae, ""},
		{"error", kindAppendEntries, raft.RPCResponse{Error: errors.New("disk full")}, nil, "disk full"},
		{"response and error", kindAppendEntries, raft.RPCResponse{Response: ae, Error: errors.New("partial")}, ae, "partial"},
		{"response of another RPC's type", kindAppendEntries, raft.RPCResponse{Response: &raft.RequestVoteResponse{}}, nil, "answered a append entries with a *raft.RequestVoteResponse"},
		{"nothing", kindAppendEntries, raft.RPCResponse{}, nil, "answered a append entries with a <nil>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := appendReply(nil, tc.k, tc.resp)
			var got raft.AppendEntriesResponse
			err := decodeReply(b, &got, decodeAppendEntriesResponse)
			if tc.wantRemote == "" && err != nil {
				t.Fatalf("err %v", err)
			}
			if tc.wantRemote != "" && (!errors.Is(err, ErrRemote) || !strings.Contains(err.Error(), tc.wantRemote)) {
				t.Fatalf("err %v, want ErrRemote with %q", err, tc.wantRemote)
			}
			want := raft.AppendEntriesResponse{}
			if tc.wantResp != nil {
				want = *tc.wantResp
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("response %+v, want %+v", got, want)
			}
		})
	}
	for _, bad := range [][]byte{nil, {}, {wireVersion}, {wireVersion, 0}, {wireVersion, 0xff}, {2, answerResponse}, {wireVersion, answerError, 0, 7}} {
		if err := decodeReply(bad, new(raft.AppendEntriesResponse), decodeAppendEntriesResponse); !errors.Is(err, ErrMalformed) {
			t.Errorf("decodeReply(%x): err %v, want ErrMalformed", bad, err)
		}
	}
}

func TestSplitPrefix(t *testing.T) {
	cases := []struct {
		name string
		b    []byte
		k    kind
		ok   bool
	}{
		{"append entries", appendPrefix(nil, kindAppendEntries), kindAppendEntries, true},
		{"pipeline ack with body", append(appendPrefix(nil, kindPipelineAck), 1, 2), kindPipelineAck, true},
		{"empty", nil, 0, false},
		{"version only", []byte{wireVersion}, 0, false},
		{"other version", []byte{wireVersion + 1, byte(kindAppendEntries)}, 0, false},
		{"kind zero", []byte{wireVersion, 0}, 0, false},
		{"unknown kind", []byte{wireVersion, byte(numKinds)}, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, _, err := splitPrefix(tc.b)
			if tc.ok != (err == nil) || k != tc.k {
				t.Fatalf("kind %v err %v, want kind %v ok %v", k, err, tc.k, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("err %v, want ErrMalformed", err)
			}
		})
	}
}

// isHeartbeat is NetworkTransport's test.
func TestIsHeartbeat(t *testing.T) {
	hb := func(f func(r *raft.AppendEntriesRequest)) *raft.AppendEntriesRequest {
		r := &raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 4, Leader: []byte("l")}
		f(r)
		return r
	}
	cases := []struct {
		name string
		r    *raft.AppendEntriesRequest
		want bool
	}{
		{"heartbeat", hb(func(*raft.AppendEntriesRequest) {}), true},
		{"old sender: leader only", hb(func(r *raft.AppendEntriesRequest) { r.Addr = nil }), true},
		{"new sender: addr only", hb(func(r *raft.AppendEntriesRequest) { r.Leader = nil }), true},
		{"no leader", hb(func(r *raft.AppendEntriesRequest) { r.Addr, r.Leader = nil, nil }), false},
		{"no term", hb(func(r *raft.AppendEntriesRequest) { r.Term = 0 }), false},
		{"previous entry", hb(func(r *raft.AppendEntriesRequest) { r.PrevLogEntry = 1 }), false},
		{"previous term", hb(func(r *raft.AppendEntriesRequest) { r.PrevLogTerm = 1 }), false},
		{"entries", hb(func(r *raft.AppendEntriesRequest) { r.Entries = []*raft.Log{{}} }), false},
		{"commit index", hb(func(r *raft.AppendEntriesRequest) { r.LeaderCommitIndex = 1 }), false},
	}
	for _, tc := range cases {
		if got := isHeartbeat(tc.r); got != tc.want {
			t.Errorf("%s: isHeartbeat %v, want %v", tc.name, got, tc.want)
		}
	}
}

func BenchmarkEncodeAppendEntries(b *testing.B) {
	r := benchAppendEntries()
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendAppendEntriesRequest(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeAppendEntries(b *testing.B) {
	enc := appendAppendEntriesRequest(nil, benchAppendEntries())
	b.ReportAllocs()
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		var r raft.AppendEntriesRequest
		if err := decodeAppendEntriesRequest(enc, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// benchAppendEntries is a batch of 64 entries of 100 bytes.
func benchAppendEntries() *raft.AppendEntriesRequest {
	r := &raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 5, Leader: []byte("127.0.0.1:7001"), PrevLogEntry: 1000, PrevLogTerm: 5, LeaderCommitIndex: 999}
	for i := range 64 {
		r.Entries = append(r.Entries, &raft.Log{Index: uint64(1001 + i), Term: 5, Data: make([]byte, 100), AppendedAt: testTime})
	}
	return r
}
