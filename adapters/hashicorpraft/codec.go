package hashicorpraft

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/raft"
)

// Wire format. Every message the adapter sends starts with wireVersion and
// a kind:
//
//	request   = version kind body            (an engine request or stream header)
//	append    = version kindPipelineAppend uvarint(pipeline) uvarint(seq) AppendEntriesRequest
//	ack       = version kindPipelineAck    uvarint(pipeline) uvarint(seq) answer
//	reply     = version answer                (the engine reply to a request)
//	answer    = flags [bytes(error)] [response]  (flags: answerError, answerResponse)
//
// Fields are encoded in the order the raft structs declare them: unsigned
// integers as uvarints, signed ones as zig-zag varints, booleans as bits of
// one flags byte per struct, byte strings as uvarint(len+1) then the bytes
// (0 means nil, so nil and empty stay apart), times as varint(Unix seconds)
// uvarint(nanoseconds), lists as uvarint(len+1) then the elements.
// Decoders take the whole input: missing or trailing bytes, unknown flag
// bits and overlong varints are ErrMalformed.
const wireVersion byte = 1

// kind says what a message is.
type kind byte

const (
	kindAppendEntries kind = iota + 1
	kindRequestVote
	kindRequestPreVote
	kindInstallSnapshot
	kindTimeoutNow
	kindPipelineAppend
	kindPipelineAck
	numKinds
)

var kindNames = [numKinds]string{"", "append entries", "request vote", "request pre-vote",
	"install snapshot", "timeout now", "pipelined append entries", "pipeline ack"}

func (k kind) String() string {
	if k > 0 && k < numKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("kind %d", byte(k))
}

// Answer flags.
const (
	answerError    = 1 << 0
	answerResponse = 1 << 1
)

// minLogSize is the fewest bytes a Log takes: a byte for each of its seven
// fields. It bounds the entries a payload can claim.
const minLogSize = 7

// appendPrefix starts a message of kind k.
func appendPrefix(b []byte, k kind) []byte { return append(b, wireVersion, byte(k)) }

// splitPrefix checks a message's version and returns its kind and body.
func splitPrefix(b []byte) (kind, []byte, error) {
	if len(b) < 2 {
		return 0, nil, fmt.Errorf("%w: %d-byte message", ErrMalformed, len(b))
	}
	if b[0] != wireVersion {
		return 0, nil, fmt.Errorf("%w: wire version %d, want %d", ErrMalformed, b[0], wireVersion)
	}
	k := kind(b[1])
	if k == 0 || k >= numKinds {
		return 0, nil, fmt.Errorf("%w: unknown %v", ErrMalformed, k)
	}
	return k, b[2:], nil
}

// appendPipelineHeader adds a pipelined message's pipeline id and sequence.
func appendPipelineHeader(b []byte, pipeline, seq uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, pipeline), seq)
}

// decodePipelineHeader splits a pipelined message's body.
func decodePipelineHeader(b []byte) (pipeline, seq uint64, rest []byte, err error) {
	d := decoder{b: b}
	pipeline, seq = d.uvarint(), d.uvarint()
	if d.err != nil {
		return 0, 0, nil, fmt.Errorf("pipeline header: %w", d.err)
	}
	return pipeline, seq, d.b, nil
}

// encoder helpers: appends in the wire format.

func appendBool(flags *byte, bit byte, v bool) {
	if v {
		*flags |= bit
	}
}

func appendBytes(b, p []byte) []byte {
	if p == nil {
		return append(b, 0)
	}
	return append(binary.AppendUvarint(b, uint64(len(p))+1), p...)
}

func appendTime(b []byte, t time.Time) []byte {
	return binary.AppendUvarint(binary.AppendVarint(b, t.Unix()), uint64(t.Nanosecond()))
}

func appendHeader(b []byte, h *raft.RPCHeader) []byte {
	b = binary.AppendVarint(b, int64(h.ProtocolVersion))
	b = appendBytes(b, h.ID)
	return appendBytes(b, h.Addr)
}

func appendLog(b []byte, l *raft.Log) []byte {
	if l == nil { // raft never sends one; encode it as the zero entry rather than fail
		l = &raft.Log{}
	}
	b = binary.AppendUvarint(b, l.Index)
	b = binary.AppendUvarint(b, l.Term)
	b = append(b, byte(l.Type))
	b = appendBytes(b, l.Data)
	b = appendBytes(b, l.Extensions)
	return appendTime(b, l.AppendedAt)
}

// appendAppendEntriesRequest encodes r.
func appendAppendEntriesRequest(b []byte, r *raft.AppendEntriesRequest) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	b = appendBytes(b, r.Leader)
	b = binary.AppendUvarint(b, r.PrevLogEntry)
	b = binary.AppendUvarint(b, r.PrevLogTerm)
	if r.Entries == nil {
		b = append(b, 0)
	} else {
		b = binary.AppendUvarint(b, uint64(len(r.Entries))+1)
		for _, l := range r.Entries {
			b = appendLog(b, l)
		}
	}
	return binary.AppendUvarint(b, r.LeaderCommitIndex)
}

// appendAppendEntriesResponse encodes r.
func appendAppendEntriesResponse(b []byte, r *raft.AppendEntriesResponse) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	b = binary.AppendUvarint(b, r.LastLog)
	var flags byte
	appendBool(&flags, 1<<0, r.Success)
	appendBool(&flags, 1<<1, r.NoRetryBackoff)
	return append(b, flags)
}

// appendRequestVoteRequest encodes r.
func appendRequestVoteRequest(b []byte, r *raft.RequestVoteRequest) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	b = appendBytes(b, r.Candidate)
	b = binary.AppendUvarint(b, r.LastLogIndex)
	b = binary.AppendUvarint(b, r.LastLogTerm)
	var flags byte
	appendBool(&flags, 1<<0, r.LeadershipTransfer)
	return append(b, flags)
}

// appendRequestVoteResponse encodes r.
func appendRequestVoteResponse(b []byte, r *raft.RequestVoteResponse) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	b = appendBytes(b, r.Peers)
	var flags byte
	appendBool(&flags, 1<<0, r.Granted)
	return append(b, flags)
}

// appendRequestPreVoteRequest encodes r.
func appendRequestPreVoteRequest(b []byte, r *raft.RequestPreVoteRequest) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	b = binary.AppendUvarint(b, r.LastLogIndex)
	return binary.AppendUvarint(b, r.LastLogTerm)
}

// appendRequestPreVoteResponse encodes r.
func appendRequestPreVoteResponse(b []byte, r *raft.RequestPreVoteResponse) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	var flags byte
	appendBool(&flags, 1<<0, r.Granted)
	return append(b, flags)
}

// appendInstallSnapshotRequest encodes r.
func appendInstallSnapshotRequest(b []byte, r *raft.InstallSnapshotRequest) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendVarint(b, int64(r.SnapshotVersion))
	b = binary.AppendUvarint(b, r.Term)
	b = appendBytes(b, r.Leader)
	b = binary.AppendUvarint(b, r.LastLogIndex)
	b = binary.AppendUvarint(b, r.LastLogTerm)
	b = appendBytes(b, r.Peers)
	b = appendBytes(b, r.Configuration)
	b = binary.AppendUvarint(b, r.ConfigurationIndex)
	return binary.AppendVarint(b, r.Size)
}

// appendInstallSnapshotResponse encodes r.
func appendInstallSnapshotResponse(b []byte, r *raft.InstallSnapshotResponse) []byte {
	b = appendHeader(b, &r.RPCHeader)
	b = binary.AppendUvarint(b, r.Term)
	var flags byte
	appendBool(&flags, 1<<0, r.Success)
	return append(b, flags)
}

// appendTimeoutNowRequest encodes r.
func appendTimeoutNowRequest(b []byte, r *raft.TimeoutNowRequest) []byte {
	return appendHeader(b, &r.RPCHeader)
}

// appendTimeoutNowResponse encodes r.
func appendTimeoutNowResponse(b []byte, r *raft.TimeoutNowResponse) []byte {
	return appendHeader(b, &r.RPCHeader)
}

// appendAnswer encodes raft's answer to an RPC of kind k: its error, if
// any, and its response, if it is of the type k answers with (raft answers
// some failures with a response and an error, like NetworkTransport sends).
func appendAnswer(b []byte, k kind, resp raft.RPCResponse) []byte {
	at := len(b)
	b = append(b, 0)
	var flags byte
	if resp.Error != nil {
		flags |= answerError
		b = appendBytes(b, []byte(resp.Error.Error()))
	}
	switch r := resp.Response.(type) {
	case *raft.AppendEntriesResponse:
		if k == kindAppendEntries || k == kindPipelineAppend {
			flags |= answerResponse
			b = appendAppendEntriesResponse(b, r)
		}
	case *raft.RequestVoteResponse:
		if k == kindRequestVote {
			flags |= answerResponse
			b = appendRequestVoteResponse(b, r)
		}
	case *raft.RequestPreVoteResponse:
		if k == kindRequestPreVote {
			flags |= answerResponse
			b = appendRequestPreVoteResponse(b, r)
		}
	case *raft.InstallSnapshotResponse:
		if k == kindInstallSnapshot {
			flags |= answerResponse
			b = appendInstallSnapshotResponse(b, r)
		}
	case *raft.TimeoutNowResponse:
		if k == kindTimeoutNow {
			flags |= answerResponse
			b = appendTimeoutNowResponse(b, r)
		}
	}
	if flags&(answerError|answerResponse) == 0 { // raft answered nothing usable
		flags |= answerError
		b = appendBytes(b, fmt.Appendf(nil, "hashicorpraft: raft answered a %v with a %T", k, resp.Response))
	}
	b[at] = flags
	return b
}

// appendErrorAnswer encodes an answer that is only an error.
func appendErrorAnswer(b []byte, err error) []byte {
	return appendBytes(append(b, answerError), []byte(err.Error()))
}

// decodeAnswer splits an answer into the remote error (ErrRemote), if
// any, and the encoded response, nil if none came.
func decodeAnswer(b []byte) (resp []byte, remote error, err error) {
	d := decoder{b: b}
	flags := d.byte()
	if d.err == nil && (flags&^(answerError|answerResponse) != 0 || flags == 0) {
		d.fail("answer flags %#x", flags)
	}
	if flags&answerError != 0 {
		if msg := d.bytes(); d.err == nil {
			remote = remoteError(string(msg))
		}
	}
	if d.err != nil {
		return nil, nil, fmt.Errorf("answer: %w", d.err)
	}
	if flags&answerResponse != 0 {
		return d.b, remote, nil
	}
	if len(d.b) > 0 {
		return nil, nil, fmt.Errorf("answer: %w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return nil, remote, nil
}

// appendReply encodes the engine reply that carries raft's answer to a
// request of kind k.
func appendReply(b []byte, k kind, resp raft.RPCResponse) []byte {
	return appendAnswer(append(b, wireVersion), k, resp)
}

// decodeReply decodes an engine reply into resp with decode, and returns
// the remote error it carries, if any. resp is left alone when the reply
// carries no response.
func decodeReply[R any](b []byte, resp *R, decode func([]byte, *R) error) error {
	if len(b) == 0 || b[0] != wireVersion {
		return fmt.Errorf("reply: %w: not a version %d reply", ErrMalformed, wireVersion)
	}
	body, remote, err := decodeAnswer(b[1:])
	if err != nil {
		return fmt.Errorf("reply: %w", err)
	}
	if body != nil {
		if err := decode(bytes.Clone(body), resp); err != nil { // a copy: the reply's buffer goes back to the engine
			return fmt.Errorf("reply: %w", err)
		}
	}
	return remote
}

// decoder reads the wire format from b, which it consumes. The first
// failure sticks: later reads return zero values and err keeps the first.
// Byte strings alias b: decode a copy of a buffer that will be reused.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int decodes a varint that must fit an int.
func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt || v > math.MaxInt {
		d.fail("integer %d out of range", v)
		return 0
	}
	return int(v)
}

// length decodes a length-plus-one prefix: -1 for nil. A length needing
// more than minSize*length bytes than remain is refused, so what the caller
// allocates for it is bounded by the input.
func (d *decoder) length(minSize int) int {
	v := d.uvarint()
	if d.err != nil || v == 0 {
		return -1
	}
	n := v - 1
	if n > uint64(len(d.b)/minSize) {
		d.fail("length %d exceeds the %d bytes left", n, len(d.b))
		return -1
	}
	return int(n)
}

// bytes decodes a byte string, nil or a slice of the input capped at its
// length (an append to it cannot overwrite what follows).
func (d *decoder) bytes() []byte {
	n := d.length(1)
	if n < 0 {
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) flags(valid byte) byte {
	f := d.byte()
	if f&^valid != 0 {
		d.fail("flags %#x", f)
		return 0
	}
	return f
}

func (d *decoder) time() time.Time {
	sec, nsec := d.varint(), d.uvarint()
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= uint64(time.Second) {
		d.fail("nanoseconds %d", nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) header(h *raft.RPCHeader) {
	h.ProtocolVersion = raft.ProtocolVersion(d.int())
	h.ID = d.bytes()
	h.Addr = d.bytes()
}

// done reports the first failure, or trailing bytes; what names the struct.
func (d *decoder) done(what string) error {
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("%s: %w", what, d.err)
	}
	return nil
}

// decodeAppendEntriesRequest decodes b into r, overwriting every field.
// The entries share one allocation, and their byte strings alias b.
func decodeAppendEntriesRequest(b []byte, r *raft.AppendEntriesRequest) error {
	d := decoder{b: b}
	*r = raft.AppendEntriesRequest{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.Leader = d.bytes()
	r.PrevLogEntry = d.uvarint()
	r.PrevLogTerm = d.uvarint()
	if n := d.length(minLogSize); n >= 0 {
		logs := make([]raft.Log, n)
		r.Entries = make([]*raft.Log, n)
		for i := range logs {
			l := &logs[i]
			l.Index = d.uvarint()
			l.Term = d.uvarint()
			l.Type = raft.LogType(d.byte())
			l.Data = d.bytes()
			l.Extensions = d.bytes()
			l.AppendedAt = d.time()
			r.Entries[i] = l
		}
	}
	r.LeaderCommitIndex = d.uvarint()
	return d.done("append entries request")
}

// decodeAppendEntriesResponse decodes b into r, overwriting every field.
func decodeAppendEntriesResponse(b []byte, r *raft.AppendEntriesResponse) error {
	d := decoder{b: b}
	*r = raft.AppendEntriesResponse{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.LastLog = d.uvarint()
	f := d.flags(1<<0 | 1<<1)
	r.Success, r.NoRetryBackoff = f&(1<<0) != 0, f&(1<<1) != 0
	return d.done("append entries response")
}

// decodeRequestVoteRequest decodes b into r, overwriting every field.
func decodeRequestVoteRequest(b []byte, r *raft.RequestVoteRequest) error {
	d := decoder{b: b}
	*r = raft.RequestVoteRequest{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.Candidate = d.bytes()
	r.LastLogIndex = d.uvarint()
	r.LastLogTerm = d.uvarint()
	r.LeadershipTransfer = d.flags(1<<0) != 0
	return d.done("request vote request")
}

// decodeRequestVoteResponse decodes b into r, overwriting every field.
func decodeRequestVoteResponse(b []byte, r *raft.RequestVoteResponse) error {
	d := decoder{b: b}
	*r = raft.RequestVoteResponse{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.Peers = d.bytes()
	r.Granted = d.flags(1<<0) != 0
	return d.done("request vote response")
}

// decodeRequestPreVoteRequest decodes b into r, overwriting every field.
func decodeRequestPreVoteRequest(b []byte, r *raft.RequestPreVoteRequest) error {
	d := decoder{b: b}
	*r = raft.RequestPreVoteRequest{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.LastLogIndex = d.uvarint()
	r.LastLogTerm = d.uvarint()
	return d.done("request pre-vote request")
}

// decodeRequestPreVoteResponse decodes b into r, overwriting every field.
func decodeRequestPreVoteResponse(b []byte, r *raft.RequestPreVoteResponse) error {
	d := decoder{b: b}
	*r = raft.RequestPreVoteResponse{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.Granted = d.flags(1<<0) != 0
	return d.done("request pre-vote response")
}

// decodeInstallSnapshotRequest decodes b into r, overwriting every field.
func decodeInstallSnapshotRequest(b []byte, r *raft.InstallSnapshotRequest) error {
	d := decoder{b: b}
	*r = raft.InstallSnapshotRequest{}
	d.header(&r.RPCHeader)
	r.SnapshotVersion = raft.SnapshotVersion(d.int())
	r.Term = d.uvarint()
	r.Leader = d.bytes()
	r.LastLogIndex = d.uvarint()
	r.LastLogTerm = d.uvarint()
	r.Peers = d.bytes()
	r.Configuration = d.bytes()
	r.ConfigurationIndex = d.uvarint()
	r.Size = d.varint()
	return d.done("install snapshot request")
}

// decodeInstallSnapshotResponse decodes b into r, overwriting every field.
func decodeInstallSnapshotResponse(b []byte, r *raft.InstallSnapshotResponse) error {
	d := decoder{b: b}
	*r = raft.InstallSnapshotResponse{}
	d.header(&r.RPCHeader)
	r.Term = d.uvarint()
	r.Success = d.flags(1<<0) != 0
	return d.done("install snapshot response")
}

// decodeTimeoutNowRequest decodes b into r, overwriting every field.
func decodeTimeoutNowRequest(b []byte, r *raft.TimeoutNowRequest) error {
	d := decoder{b: b}
	*r = raft.TimeoutNowRequest{}
	d.header(&r.RPCHeader)
	return d.done("timeout now request")
}

// decodeTimeoutNowResponse decodes b into r, overwriting every field.
func decodeTimeoutNowResponse(b []byte, r *raft.TimeoutNowResponse) error {
	d := decoder{b: b}
	*r = raft.TimeoutNowResponse{}
	d.header(&r.RPCHeader)
	return d.done("timeout now response")
}

// isHeartbeat reports whether r is a heartbeat, by NetworkTransport's
// test: a term and a leader address, and nothing else.
func isHeartbeat(r *raft.AppendEntriesRequest) bool {
	leader := r.Addr
	if len(leader) == 0 {
		leader = r.Leader
	}
	return r.Term != 0 && leader != nil &&
		r.PrevLogEntry == 0 && r.PrevLogTerm == 0 &&
		len(r.Entries) == 0 && r.LeaderCommitIndex == 0
}
