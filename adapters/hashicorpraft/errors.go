package hashicorpraft

import (
	"errors"
	"fmt"

	"github.com/hashicorp/raft"

	"github.com/tensorchain/transport/engine"
)

// Sentinel errors of the adapter. Errors from the engine (engine.ErrTimeout,
// engine.ErrConnectionLost, engine.ErrUnreachable...) and from raft
// (raft.ErrTransportShutdown, raft.ErrPipelineShutdown) are wrapped, not
// replaced: test for any of them with errors.Is.
var (
	// ErrRemote: the remote raft answered the RPC with an error
	// (rpc.Respond(nil, err)); the error's text follows it.
	ErrRemote = errors.New("hashicorpraft: remote error")
	// ErrMalformed: a message could not be decoded.
	ErrMalformed = errors.New("hashicorpraft: malformed message")
	// ErrInvalidOption: an Option or the engine configuration is unusable.
	ErrInvalidOption = errors.New("hashicorpraft: invalid option")
)

// rpcError gives err, the failure of an RPC, its context: which RPC to
// which server. Once the transport is closed it also wraps
// raft.ErrTransportShutdown.
func (t *Transport) rpcError(op string, id raft.ServerID, target raft.ServerAddress, err error) error {
	if t.isClosed() && !errors.Is(err, raft.ErrTransportShutdown) {
		return fmt.Errorf("hashicorpraft: %s to %s (%s): %w: %w", op, id, target, raft.ErrTransportShutdown, err)
	}
	return fmt.Errorf("hashicorpraft: %s to %s (%s): %w", op, id, target, err)
}

// remoteError is the error a peer's raft answered with.
func remoteError(msg string) error { return fmt.Errorf("%w: %s", ErrRemote, msg) }

// errLost fails a pipelined request that a later one overtook: its answer,
// or the request itself, was on a connection that closed.
var errLost = fmt.Errorf("%w: a later pipelined request was answered first", engine.ErrConnectionLost)
