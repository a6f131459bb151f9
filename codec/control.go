package codec

import (
	"encoding/binary"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// ProtocolVersion is the version of the wire protocol this package speaks.
// Version 2 added the connection's class and lane to the Hello.
const ProtocolVersion = 2

// Control message types: the first payload byte of a frame with FlagControl.
const (
	// TypeHello is the application handshake, the first frame each side sends.
	TypeHello byte = 1
	// TypeCredit returns receive credit to the sender (flow control).
	TypeCredit byte = 2
	// TypeGoodbye announces a graceful close: no more data follows.
	TypeGoodbye byte = 3
	// TypePing asks the peer to echo its 8 bytes at once in a TypePong
	// (sent only to a peer whose Hello set CapPing).
	TypePing byte = 4
	// TypePong echoes a TypePing's 8 bytes.
	TypePong byte = 5
)

// Capability bits advertised in a Hello.
const (
	// CapLZ4 means the sender accepts LZ4-compressed frames.
	CapLZ4 uint16 = 1 << 0

	// CapPing means the sender answers TypePing control messages.
	CapPing uint16 = 1 << 2

	knownCaps = CapLZ4 | CapTagged | CapPing
)

// MaxNodeIDLen is the longest node id a Hello can carry.
const MaxNodeIDLen = 255

// helloFixedLen is the size of a Hello payload without its node id.
const helloFixedLen = 1 + 1 + 2 + 4 + 4 + 8 + 1 + 1 + 1

// Connection classes a dialer declares in its Hello.
const (
	// ClassBulk connections carry ordinary messages (log entries, snapshots).
	ClassBulk uint8 = 0
	// ClassControl connections carry heartbeats, votes and small RPCs, apart
	// from bulk data so that they never queue behind it.
	ClassControl uint8 = 1
)

// Hello is the application handshake message.
type Hello struct {
	Version     uint8  // protocol version, ProtocolVersion
	Caps        uint16 // capability bits (CapLZ4)
	MaxMessage  uint32 // largest payload the sender accepts, in bytes
	Window      uint32 // receive credit the sender grants, in wire bytes
	Incarnation uint64 // random per transport start: tells restarts from duplicates
	Class       uint8  // the connection's class (ClassBulk, ClassControl), as the dialer declares it
	Lane        uint8  // the dialer's index of this connection within its class
	NodeID      string // the sender's node id
}

// AppendHello appends h as a complete control frame to dst.
func AppendHello(dst []byte, h Hello) []byte {
	n := helloFixedLen + len(h.NodeID)
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize+n)...)
	b := dst[start:]
	PutHeader(b, FlagControl, n)
	p := b[HeaderSize:]
	p[0] = TypeHello
	p[1] = h.Version
	binary.BigEndian.PutUint16(p[2:], h.Caps)
	binary.BigEndian.PutUint32(p[4:], h.MaxMessage)
	binary.BigEndian.PutUint32(p[8:], h.Window)
	binary.BigEndian.PutUint64(p[12:], h.Incarnation)
	p[20] = h.Class
	p[21] = h.Lane
	p[22] = byte(len(h.NodeID))
	copy(p[23:], h.NodeID)
	return dst
}

// DecodeHello parses and validates the payload of a Hello control frame.
func DecodeHello(p []byte) (Hello, error) {
	if len(p) < 2 || p[0] != TypeHello {
		return Hello{}, fmt.Errorf("%w: not a hello (%d bytes)", ErrMalformed, len(p))
	}
	// The version comes first: an older peer's Hello has another layout.
	if p[1] != ProtocolVersion {
		return Hello{}, fmt.Errorf("%w: the peer speaks protocol version %d, this node speaks %d", ErrVersion, p[1], ProtocolVersion)
	}
	if len(p) < helloFixedLen {
		return Hello{}, fmt.Errorf("%w: hello of %d bytes, at least %d expected", ErrMalformed, len(p), helloFixedLen)
	}
	h := Hello{
		Version:     p[1],
		Caps:        binary.BigEndian.Uint16(p[2:]),
		MaxMessage:  binary.BigEndian.Uint32(p[4:]),
		Window:      binary.BigEndian.Uint32(p[8:]),
		Incarnation: binary.BigEndian.Uint64(p[12:]),
		Class:       p[20],
		Lane:        p[21],
	}
	idLen := int(p[22])
	if len(p) != helloFixedLen+idLen {
		return Hello{}, fmt.Errorf("%w: hello of %d bytes declares a %d-byte node id", ErrMalformed, len(p), idLen)
	}
	h.NodeID = string(p[23:])
	if h.Class > ClassControl {
		return Hello{}, fmt.Errorf("%w: unknown connection class %d", ErrMalformed, h.Class)
	}
	if err := ValidateNodeID(h.NodeID); err != nil {
		return Hello{}, err
	}
	if h.Caps&^knownCaps != 0 {
		return Hello{}, fmt.Errorf("%w: unknown capability bits %#04x", ErrMalformed, h.Caps&^knownCaps)
	}
	if h.MaxMessage == 0 || h.Window == 0 {
		return Hello{}, fmt.Errorf("%w: zero max message (%d) or window (%d)", ErrMalformed, h.MaxMessage, h.Window)
	}
	return h, nil
}

// ValidateNodeID reports whether id can name a node: 1 to 255 bytes of
// UTF-8 without spaces or control characters.
func ValidateNodeID(id string) error {
	if id == "" || len(id) > MaxNodeIDLen {
		return fmt.Errorf("%w: node id length %d, want 1..%d", ErrMalformed, len(id), MaxNodeIDLen)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("%w: node id is not UTF-8", ErrMalformed)
	}
	for _, r := range id {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%w: node id %q contains %U", ErrMalformed, id, r)
		}
	}
	return nil
}

// creditLen is the size of a Credit payload.
const creditLen = 1 + 4 + 4

// Credit grants the receiver of this message permission to send Bytes more
// wire bytes of data frames; Messages counts the messages those bytes carried,
// so the sender knows how many of its messages the peer has consumed.
type Credit struct {
	Bytes    uint32
	Messages uint32
}

// AppendCredit appends c as a complete control frame to dst.
func AppendCredit(dst []byte, c Credit) []byte {
	var b [HeaderSize + creditLen]byte
	PutHeader(b[:], FlagControl, creditLen)
	b[HeaderSize] = TypeCredit
	binary.BigEndian.PutUint32(b[HeaderSize+1:], c.Bytes)
	binary.BigEndian.PutUint32(b[HeaderSize+5:], c.Messages)
	return append(dst, b[:]...)
}

// AppendGoodbye appends a Goodbye control frame to dst.
func AppendGoodbye(dst []byte) []byte {
	return AppendFrame(dst, FlagControl, []byte{TypeGoodbye})
}

// Control is a decoded control message other than Hello.
type Control struct {
	Type   byte
	Credit Credit // valid when Type == TypeCredit
	Echo   uint64 // valid when Type == TypePing or TypePong
}

// DecodeControl parses the payload of a control frame received after the
// handshake. A Hello at this point is an error.
func DecodeControl(p []byte) (Control, error) {
	if len(p) == 0 {
		return Control{}, fmt.Errorf("%w: empty control frame", ErrMalformed)
	}
	switch p[0] {
	case TypeCredit:
		if len(p) != creditLen {
			return Control{}, fmt.Errorf("%w: credit of %d bytes, want %d", ErrMalformed, len(p), creditLen)
		}
		return Control{Type: TypeCredit, Credit: Credit{
			Bytes:    binary.BigEndian.Uint32(p[1:]),
			Messages: binary.BigEndian.Uint32(p[5:]),
		}}, nil
	case TypeGoodbye:
		if len(p) != 1 {
			return Control{}, fmt.Errorf("%w: goodbye of %d bytes, want 1", ErrMalformed, len(p))
		}
		return Control{Type: TypeGoodbye}, nil
	case TypePing, TypePong:
		if len(p) != pingLen {
			return Control{}, fmt.Errorf("%w: ping or pong of %d bytes, want %d", ErrMalformed, len(p), pingLen)
		}
		return Control{Type: p[0], Echo: binary.BigEndian.Uint64(p[1:])}, nil
	case TypeHello:
		return Control{}, fmt.Errorf("%w: second hello", ErrMalformed)
	default:
		return Control{}, fmt.Errorf("%w: unknown control type %d", ErrMalformed, p[0])
	}
}

// pingLen is the payload size of a Ping or Pong: the type and 8 bytes.
const pingLen = 1 + 8

// AppendPing appends a Ping control frame carrying echo (TypePong with
// pong set) to dst.
func AppendPing(dst []byte, echo uint64, pong bool) []byte {
	var b [HeaderSize + pingLen]byte
	PutHeader(b[:], FlagControl, pingLen)
	b[HeaderSize] = TypePing
	if pong {
		b[HeaderSize] = TypePong
	}
	binary.BigEndian.PutUint64(b[HeaderSize+1:], echo)
	return append(dst, b[:]...)
}
