package codec

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pierrec/lz4/v4"
)

// ErrCompression reports a compressed payload that cannot be decoded: a bad
// length prefix, a declared length above the limit, or corrupt LZ4 data.
var ErrCompression = errors.New("codec: corrupt compressed payload")

// A compressed payload is uvarint(uncompressed length) followed by one LZ4
// block (no frame header, no checksum).

// Compressor compresses payloads. It is not safe for concurrent use; the
// zero value is ready, and callers pool them.
type Compressor struct {
	c lz4.Compressor
}

// CompressedBound is the most AppendCompressed can append for an n-byte
// payload.
func CompressedBound(n int) int { return binary.MaxVarintLen64 + lz4.CompressBlockBound(n) }

// AppendCompressed appends the compressed form of src to dst and returns
// it with ok=true when that saves at least 1/16 of len(src); otherwise it
// returns dst unchanged and ok=false (send src raw). It does not allocate
// when dst has CompressedBound(len(src)) bytes of spare capacity.
func (c *Compressor) AppendCompressed(dst, src []byte) (out []byte, ok bool) {
	if len(src) == 0 {
		return dst, false
	}
	limit := len(src) - len(src)/16 // the largest result worth keeping
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(len(src)))
	hdr := len(dst) - start
	if hdr >= limit {
		return dst[:start], false
	}
	if free := cap(dst) - len(dst); free < limit-hdr {
		dst = append(dst, make([]byte, limit-hdr)...)[:len(dst)]
	}
	// A destination shorter than the bound makes CompressBlock give up (n=0)
	// as soon as the output cannot fit: incompressible data costs little.
	n, err := c.c.CompressBlock(src, dst[len(dst):len(dst)+limit-hdr])
	if err != nil || n == 0 {
		return dst[:start], false
	}
	return dst[:len(dst)+n], true
}

// CreditCost returns what a complete data frame costs in flow-control
// credit: its length as if uncompressed (HeaderSize plus the original
// payload length). A compressed frame with a bad length prefix costs its
// wire length (the receiver refuses it anyway).
func CreditCost(frame []byte) int {
	if len(frame) <= HeaderSize {
		return len(frame)
	}
	return BodyCreditCost(frame[4], frame[HeaderSize:])
}

// BodyCreditCost is CreditCost for a frame given as its flags and payload.
func BodyCreditCost(flags byte, payload []byte) int {
	if flags&FlagTagged != 0 && len(payload) >= TagSize { // the tag is never compressed
		return TagSize + BodyCreditCost(flags&^FlagTagged, payload[TagSize:])
	}
	if flags&FlagCompressed != 0 {
		if n, k := binary.Uvarint(payload); k > 0 && n <= 1<<31 {
			return HeaderSize + int(n)
		}
	}
	return HeaderSize + len(payload)
}

// DecompressedLen returns the uncompressed length declared by a compressed
// payload, checked against max before anything is allocated.
func DecompressedLen(p []byte, max int) (int, error) {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return 0, fmt.Errorf("%w: bad length prefix", ErrCompression)
	}
	if n > uint64(max) {
		return 0, fmt.Errorf("%w: declares %d bytes, limit %d", ErrCompression, n, max)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: declares an empty payload", ErrCompression)
	}
	return int(n), nil
}

// Decompress decodes compressed payload p into dst, whose length must be the
// declared length (DecompressedLen). It fails unless exactly len(dst) bytes
// come out; it never writes past len(dst) and never allocates, so a
// decompression bomb can produce no more than the caller allowed.
func Decompress(dst, p []byte) error {
	n, k := binary.Uvarint(p)
	if k <= 0 || n != uint64(len(dst)) {
		return fmt.Errorf("%w: length prefix does not match the %d-byte buffer", ErrCompression, len(dst))
	}
	got, err := lz4.UncompressBlock(p[k:], dst)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrCompression, err)
	}
	if got != len(dst) {
		return fmt.Errorf("%w: %d bytes decoded, %d declared", ErrCompression, got, len(dst))
	}
	return nil
}
