package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/tensorchain/transport/tlsstate"
)

// Sentinel errors. Every error the transport returns wraps one of these with
// context; test for them with errors.Is.
var (
	// ErrTimeout: a connect, handshake, send or I/O deadline passed.
	ErrTimeout = errors.New("transport: timeout")
	// ErrCanceled: the caller's context was cancelled before the call
	// finished (a deadline that passed is ErrTimeout instead). Both wrap
	// the context's own error too.
	ErrCanceled = errors.New("transport: canceled")
	// ErrPeerNotFound: no peer with that node id is known.
	ErrPeerNotFound = errors.New("transport: peer not found")
	// ErrPeerFailed: the peer exhausted its reconnect attempts.
	ErrPeerFailed = errors.New("transport: peer failed")
	// ErrUnreachable: the peer's address refused or dropped the connection.
	ErrUnreachable = errors.New("transport: peer unreachable")
	// ErrHandshakeFailed: the TLS or application handshake was refused.
	ErrHandshakeFailed = errors.New("transport: handshake failed")
	// ErrTLSRequired: the security mode needs a TLS configuration.
	ErrTLSRequired = tlsstate.ErrTLSRequired
	// ErrMTLSRequired: the security mode needs client certificates.
	ErrMTLSRequired = tlsstate.ErrMTLSRequired
	// ErrNodeIDVerificationRequired: the security mode needs NodeId verification.
	ErrNodeIDVerificationRequired = tlsstate.ErrNodeIDVerificationRequired
	// ErrRateLimited: the peer's outbound token bucket is empty.
	ErrRateLimited = errors.New("transport: rate limited")
	// ErrCompression: a compressed frame could not be decoded.
	ErrCompression = errors.New("transport: compression error")
	// ErrMessageTooLarge: a payload exceeds MaxMessageSize or the peer's limit.
	ErrMessageTooLarge = errors.New("transport: message too large")
	// ErrQueueFull: the peer's outbound queue holds MaxPendingMessages.
	ErrQueueFull = errors.New("transport: queue full")
	// ErrClosed: the transport (or the connection) is closed.
	ErrClosed = errors.New("transport: closed")
	// ErrProtocol: a peer broke the wire protocol (bad frame, flags, length).
	ErrProtocol = errors.New("transport: protocol violation")
	// ErrInvalidConfig: a configuration value is out of range.
	ErrInvalidConfig = errors.New("transport: invalid configuration")
	// ErrOverloaded: a node-wide limit refused the work: the memory budget,
	// or a limit on connections or handshakes.
	ErrOverloaded = errors.New("transport: overloaded")
	// ErrNotStarted: the call needs Start to have succeeded first.
	ErrNotStarted = errors.New("transport: not started")
	// ErrConnectionLost: a connection that a request or stream depended
	// on closed before it finished; the peer may or may not have seen it.
	ErrConnectionLost = errors.New("transport: connection lost")
	// ErrStreamReset: the other side of a stream cancelled it, refused it,
	// or broke its flow control.
	ErrStreamReset = errors.New("transport: stream reset")
	// ErrNotRequest: Reply was given a message that is not a request.
	ErrNotRequest = errors.New("transport: not a request")
	// ErrUnsupported: the peer does not speak the feature asked for.
	ErrUnsupported = errors.New("transport: unsupported by the peer")
)

// ctxError is why a call gave up on ctx: ErrTimeout when its deadline
// passed, ErrCanceled when it was cancelled, each wrapping ctx.Err().
func ctxError(ctx context.Context) error {
	err := ctx.Err()
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrTimeout, err)
	}
	return fmt.Errorf("%w: %w", ErrCanceled, err)
}
