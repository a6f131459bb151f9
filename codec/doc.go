// Package codec is the transport's wire format: frames, the application
// handshake, control messages and LZ4 payload compression.
//
// Everything here is a pure function over byte slices: no sockets, no
// goroutines, no clocks. Decoding happens in place: a decoded payload is a
// sub-slice of the caller's buffer, valid as long as that buffer is.
//
// A frame is
//
//	| length: u32 big-endian | flags: u8 | payload: length-1 bytes |
//
// where length counts the flags byte and the payload. docs/PROTOCOL.md
// documents every byte with test vectors.
package codec
