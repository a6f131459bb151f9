package codec

import (
	"encoding/binary"
	"fmt"
)

// FlagTagged marks a data frame whose payload starts with a Tag: a reply
// to a request, a request expecting one, or a piece of a stream. The Tag
// is never compressed; with FlagCompressed only the body after it is.
const FlagTagged byte = 1 << 2

// CapTagged means the sender understands tagged frames (requests,
// replies and streams).
const CapTagged uint16 = 1 << 1

// TagSize is the size of a Tag on the wire: the kind and the id.
const TagSize = 1 + 8

// StreamInitialWindow is the credit a stream's sender starts with: the
// bytes it may send before the receiver's first KindStreamCredit.
const StreamInitialWindow = 256 << 10

// Kinds of tagged frames.
const (
	// KindRequest is a message that expects a KindReply with its id.
	KindRequest byte = 1
	// KindReply answers the KindRequest (or KindStreamRequest) with its id.
	KindReply byte = 2
	// KindStreamOpen opens stream id; its body is the stream's header.
	KindStreamOpen byte = 3
	// KindStreamRequest opens stream id, like KindStreamOpen, and expects
	// a KindReply with the same id once the stream has been read.
	KindStreamRequest byte = 4
	// KindStreamData carries the next bytes of stream id.
	KindStreamData byte = 5
	// KindStreamEnd carries the last bytes of stream id (possibly none).
	KindStreamEnd byte = 6
	// KindStreamCredit lets the stream's sender send `bytes: u32` more
	// bytes of stream id; the receiver sends it.
	KindStreamCredit byte = 7
	// KindStreamReset aborts stream id, from either side; its body is one
	// StreamReset reason byte.
	KindStreamReset byte = 8

	maxKind = KindStreamReset
)

// Reasons carried by a KindStreamReset. The reason also says which end
// of the stream sent it, which tells the receiver of the reset whose id
// it names: ResetAborted comes from the stream's sender, the others from
// its receiver.
const (
	// ResetAborted: the sender gave the stream up.
	ResetAborted byte = 1
	// ResetCancelled: the receiver gave the stream up.
	ResetCancelled byte = 2
	// ResetRefused: the receiver did not accept the stream (too many open).
	ResetRefused byte = 3
	// ResetOverrun: the sender sent more than its stream credit.
	ResetOverrun byte = 4
)

// MaxStreamChunk is the largest body of a KindStreamData or KindStreamEnd
// frame.
const MaxStreamChunk = 64 << 10

// Tag is the prefix of a tagged frame's payload.
type Tag struct {
	Kind byte
	ID   uint64
}

// PutTag writes t into b, which must hold at least TagSize bytes.
func PutTag(b []byte, t Tag) {
	b[0] = t.Kind
	binary.BigEndian.PutUint64(b[1:], t.ID)
}

// SplitTag parses the Tag at the front of a tagged frame's payload and
// returns it with the body that follows (aliasing p).
func SplitTag(p []byte) (Tag, []byte, error) {
	if len(p) < TagSize {
		return Tag{}, nil, fmt.Errorf("%w: tagged payload of %d bytes, shorter than its tag", ErrMalformed, len(p))
	}
	t := Tag{Kind: p[0], ID: binary.BigEndian.Uint64(p[1:])}
	if t.Kind == 0 || t.Kind > maxKind {
		return Tag{}, nil, fmt.Errorf("%w: unknown tag kind %d", ErrMalformed, t.Kind)
	}
	return t, p[TagSize:], nil
}

// AppendStreamCredit appends the body of a KindStreamCredit granting n bytes.
func AppendStreamCredit(dst []byte, n uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, n)
}

// DecodeStreamCredit parses the body of a KindStreamCredit.
func DecodeStreamCredit(body []byte) (uint32, error) {
	if len(body) != 4 {
		return 0, fmt.Errorf("%w: stream credit of %d bytes, want 4", ErrMalformed, len(body))
	}
	return binary.BigEndian.Uint32(body), nil
}

// DecodeStreamReset parses the body of a KindStreamReset.
func DecodeStreamReset(body []byte) (byte, error) {
	if len(body) != 1 || body[0] < ResetAborted || body[0] > ResetOverrun {
		return 0, fmt.Errorf("%w: stream reset body % x", ErrMalformed, body)
	}
	return body[0], nil
}
