package hashicorpraft

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/hashicorp/raft"
)

// fuzzDecoder fuzzes one decoder: any input decodes or fails with
// ErrMalformed, never panics, and what decodes re-encodes to bytes that
// decode to the same value.
func fuzzDecoder[T any](f *testing.F, enc func([]byte, *T) []byte, dec func([]byte, *T) error, seeds ...*T) {
	for _, s := range seeds {
		b := enc(nil, s)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.Clone(data)
		var v T
		if err := dec(data, &v); err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if !bytes.Equal(in, data) {
			t.Fatal("the decoder changed its input")
		}
		var w T
		if err := dec(enc(nil, &v), &w); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
		if !reflect.DeepEqual(v, w) {
			t.Fatalf("re-encoded value decodes differently:\n%+v\n%+v", v, w)
		}
	})
}

func FuzzDecodeAppendEntriesRequest(f *testing.F) {
	fuzzDecoder(f, appendAppendEntriesRequest, decodeAppendEntriesRequest,
		&raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 2, Leader: []byte("l"), PrevLogEntry: 9, PrevLogTerm: 1, LeaderCommitIndex: 8,
			Entries: []*raft.Log{{Index: 10, Term: 2, Data: []byte("d"), Extensions: []byte{}, AppendedAt: testTime}, {Index: 11, Term: 2, Type: raft.LogNoop}}},
		&raft.AppendEntriesRequest{RPCHeader: testHeader, Term: 1, Leader: []byte("l")})
}

func FuzzDecodeAppendEntriesResponse(f *testing.F) {
	fuzzDecoder(f, appendAppendEntriesResponse, decodeAppendEntriesResponse,
		&raft.AppendEntriesResponse{RPCHeader: testHeader, Term: 2, LastLog: 3, Success: true, NoRetryBackoff: true})
}

func FuzzDecodeRequestVoteRequest(f *testing.F) {
	fuzzDecoder(f, appendRequestVoteRequest, decodeRequestVoteRequest,
		&raft.RequestVoteRequest{RPCHeader: testHeader, Term: 2, Candidate: []byte("c"), LastLogIndex: 3, LastLogTerm: 1, LeadershipTransfer: true})
}

func FuzzDecodeRequestVoteResponse(f *testing.F) {
	fuzzDecoder(f, appendRequestVoteResponse, decodeRequestVoteResponse,
		&raft.RequestVoteResponse{RPCHeader: testHeader, Term: 2, Peers: []byte("p"), Granted: true})
}

func FuzzDecodeRequestPreVoteRequest(f *testing.F) {
	fuzzDecoder(f, appendRequestPreVoteRequest, decodeRequestPreVoteRequest,
		&raft.RequestPreVoteRequest{RPCHeader: testHeader, Term: 2, LastLogIndex: 3, LastLogTerm: 1})
}

func FuzzDecodeRequestPreVoteResponse(f *testing.F) {
	fuzzDecoder(f, appendRequestPreVoteResponse, decodeRequestPreVoteResponse,
		&raft.RequestPreVoteResponse{RPCHeader: testHeader, Term: 2, Granted: true})
}

func FuzzDecodeInstallSnapshotRequest(f *testing.F) {
	fuzzDecoder(f, appendInstallSnapshotRequest, decodeInstallSnapshotRequest,
		&raft.InstallSnapshotRequest{RPCHeader: testHeader, SnapshotVersion: 1, Term: 2, Leader: []byte("l"), LastLogIndex: 3,
			LastLogTerm: 1, Peers: []byte("p"), Configuration: []byte("c"), ConfigurationIndex: 2, Size: 1 << 26})
}

func FuzzDecodeInstallSnapshotResponse(f *testing.F) {
	fuzzDecoder(f, appendInstallSnapshotResponse, decodeInstallSnapshotResponse,
		&raft.InstallSnapshotResponse{RPCHeader: testHeader, Term: 2, Success: true})
}

func FuzzDecodeTimeoutNowRequest(f *testing.F) {
	fuzzDecoder(f, appendTimeoutNowRequest, decodeTimeoutNowRequest, &raft.TimeoutNowRequest{RPCHeader: testHeader})
}

func FuzzDecodeTimeoutNowResponse(f *testing.F) {
	fuzzDecoder(f, appendTimeoutNowResponse, decodeTimeoutNowResponse, &raft.TimeoutNowResponse{RPCHeader: testHeader})
}

// FuzzDecodeMessage fuzzes what the receiving goroutine decodes before
// the RPC itself: the prefix, a pipelined message's header and an answer.
func FuzzDecodeMessage(f *testing.F) {
	f.Add(appendPrefix(nil, kindRequestVote))
	f.Add(appendPipelineHeader(appendPrefix(nil, kindPipelineAck), 7, 1<<40))
	f.Add(appendReply(nil, kindAppendEntries, raft.RPCResponse{Response: &raft.AppendEntriesResponse{Success: true}}))
	f.Add(appendErrorAnswer(nil, errors.New("no")))
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s: error %v does not wrap ErrMalformed", what, err)
			}
		}
		_, body, err := splitPrefix(data)
		check("prefix", err)
		if err == nil {
			_, _, _, err = decodePipelineHeader(body)
			check("pipeline header", err)
		}
		_, _, err = decodeAnswer(data)
		check("answer", err)
		err = decodeReply(data, new(raft.AppendEntriesResponse), decodeAppendEntriesResponse)
		if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrRemote) {
			t.Fatalf("reply: error %v wraps neither ErrMalformed nor ErrRemote", err)
		}
	})
}
