package engine

import "github.com/panjf2000/gnet/v2"

// socket is what a connection uses of its gnet connection. gnet.Conn
// implements it; tests implement it over plain byte slices, so that frame
// reassembly and delivery can be driven without a network (reader_test.go).
//
// Wake and Close are safe from any goroutine; everything else is for the
// owning event loop only, and a slice from Peek is valid only until the
// next call.
type socket interface {
	// InboundBuffered is the number of bytes read from the kernel and not
	// yet consumed.
	InboundBuffered() int
	// Peek returns the next n buffered bytes without consuming them (all of
	// them when n < 0).
	Peek(n int) ([]byte, error)
	// Discard consumes n buffered bytes. gnet treats n <= 0 as "all".
	Discard(n int) (int, error)
	// Read copies buffered bytes into p and consumes them.
	Read(p []byte) (int, error)
	// Write and Writev send bytes, buffering what the kernel does not take.
	Write(p []byte) (int, error)
	Writev(bs [][]byte) (int, error)
	// OutboundBuffered is the number of bytes written but not yet taken by
	// the kernel.
	OutboundBuffered() int
	// Fd is the socket's descriptor, for direct writes (direct.go).
	Fd() int
	// Wake runs the connection's traffic callback on its loop.
	Wake(cb gnet.AsyncCallback) error
	// Close closes the connection; the loop then runs OnClose.
	Close() error
}

var _ socket = gnet.Conn(nil)
