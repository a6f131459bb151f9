package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// HeaderSize is the number of bytes before a frame's payload: the 4-byte
// length and the flags byte.
const HeaderSize = 5

// Frame flag bits (FlagTagged is in tag.go). Bits 3-7 are reserved and
// must be zero.
const (
	// FlagCompressed marks a payload that is an LZ4 block (see AppendCompressed).
	FlagCompressed byte = 1 << 0
	// FlagControl marks a transport control message (handshake, credit,
	// goodbye) rather than application data.
	FlagControl byte = 1 << 1

	reservedFlags = ^(FlagCompressed | FlagControl | FlagTagged)
)

// Decoding errors. Each is a protocol violation: the connection that sent it
// cannot be trusted to stay in sync and must be closed.
var (
	// ErrReservedFlags reports a frame with a reserved flag bit set.
	ErrReservedFlags = errors.New("codec: reserved flag bits set")
	// ErrFrameTooLarge reports a length field above the receiver's limit.
	ErrFrameTooLarge = errors.New("codec: frame too large")
	// ErrMalformed reports bytes that do not form a valid frame or message.
	ErrMalformed = errors.New("codec: malformed")
	// ErrVersion reports a handshake from an unsupported protocol version.
	ErrVersion = errors.New("codec: unsupported protocol version")
)

// Frame is one decoded frame. Payload aliases the decoded buffer.
type Frame struct {
	Flags   byte
	Payload []byte
}

// Compressed reports whether the payload is an LZ4 block.
func (f Frame) Compressed() bool { return f.Flags&FlagCompressed != 0 }

// Control reports whether the frame is a transport control message.
func (f Frame) Control() bool { return f.Flags&FlagControl != 0 }

// Tagged reports whether the payload starts with a Tag (SplitTag).
func (f Frame) Tagged() bool { return f.Flags&FlagTagged != 0 }

// PutHeader writes the header of a frame with the given flags and payload
// length into b, which must hold at least HeaderSize bytes.
func PutHeader(b []byte, flags byte, payloadLen int) {
	binary.BigEndian.PutUint32(b, uint32(payloadLen+1))
	b[4] = flags
}

// AppendFrame appends a complete frame to dst and returns the extended slice.
func AppendFrame(dst []byte, flags byte, payload []byte) []byte {
	var h [HeaderSize]byte
	PutHeader(h[:], flags, len(payload))
	return append(append(dst, h[:]...), payload...)
}

// FrameLen returns the number of bytes a frame with an n-byte payload
// occupies on the wire.
func FrameLen(n int) int { return HeaderSize + n }

// Decode reads one frame from the front of buf without copying.
//
// It returns the frame and the number of bytes it occupies. When buf holds
// only part of a frame it returns n == 0 and a nil error: the caller should
// wait for more bytes. maxPayload bounds the payload length, TagSize more
// for a tagged frame (the tag is not part of the message); a zero length,
// or one above maxPayload+TagSize, is an error as soon as the 4-byte
// length has arrived, a reserved flag bit or an untagged length above
// maxPayload as soon as the flags byte has: before the payload has
// arrived or any buffer is allocated.
func Decode(buf []byte, maxPayload int) (f Frame, n int, err error) {
	if len(buf) < 4 {
		return Frame{}, 0, nil
	}
	length := binary.BigEndian.Uint32(buf)
	if length == 0 {
		return Frame{}, 0, fmt.Errorf("%w: zero length field", ErrMalformed)
	}
	if uint64(length)-1 > uint64(maxPayload)+TagSize { // the most any frame may carry: a tagged one
		return Frame{}, 0, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrFrameTooLarge, length-1, maxPayload)
	}
	if len(buf) < HeaderSize {
		return Frame{}, 0, nil
	}
	flags := buf[4]
	if flags&reservedFlags != 0 {
		return Frame{}, 0, fmt.Errorf("%w: flags %#02x", ErrReservedFlags, flags)
	}
	if flags&FlagControl != 0 && flags != FlagControl {
		return Frame{}, 0, fmt.Errorf("%w: control frame with flags %#02x (never compressed or tagged)", ErrMalformed, flags)
	}
	if flags&FlagTagged == 0 && uint64(length)-1 > uint64(maxPayload) {
		return Frame{}, 0, fmt.Errorf("%w: payload of %d bytes, limit %d", ErrFrameTooLarge, length-1, maxPayload)
	}
	total := 4 + int(length)
	if len(buf) < total {
		return Frame{}, 0, nil
	}
	return Frame{Flags: flags, Payload: buf[HeaderSize:total:total]}, total, nil
}

// FrameSize returns the total wire size of the frame at the front of buf,
// or 0 when fewer than 4 bytes are available. It does not validate.
func FrameSize(buf []byte) int {
	if len(buf) < 4 {
		return 0
	}
	return 4 + int(binary.BigEndian.Uint32(buf))
}
