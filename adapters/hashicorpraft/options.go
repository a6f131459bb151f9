package hashicorpraft

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// Defaults of the options.
const (
	// DefaultTimeout bounds each RPC but InstallSnapshot.
	DefaultTimeout = 10 * time.Second
	// DefaultSnapshotRate is the slowest snapshot transfer, in bytes per
	// second, that InstallSnapshot's deadline allows for.
	DefaultSnapshotRate = 1 << 20
	// DefaultMaxInFlight is how many pipelined AppendEntries may await
	// their answer at once. 1, the default, leaves pipelining off: raft
	// then sends each AppendEntries when the previous one is answered,
	// with every entry that arrived meanwhile, and the leader's batching
	// stays whole (raft PR #541 found the same for NetworkTransport,
	// which defaults to 2). raftbench measured it against 8 with 3
	// nodes in one process: 1.25x the Apply rate of 64 B commands at 32
	// appliers (1.4x at 8, 1.1x at 128) and half the heartbeat latency
	// under 64 KiB commands; only at 512 appliers did the pipeline win
	// (1.1-1.5x). With each follower in its own process the gain was
	// smaller (1.1x at 64 B, 0.95x at 1 KiB). Use WithMaxInFlight(8) for
	// very many concurrent Apply calls; a long round trip (unmeasured
	// here) may want it too.
	DefaultMaxInFlight = 1
	// DefaultConnectTimeout is how long the first RPC to a server waits for
	// its connections; the engine keeps dialing in the background.
	DefaultConnectTimeout = time.Second
)

// AppendStream is the bulk stream AppendEntries and the pipeline use to
// each peer: one ordered stream per target.
const AppendStream uint32 = 1

// Option configures a Transport.
type Option func(*options)

type options struct {
	timeout        time.Duration
	snapshotRate   int64
	maxInFlight    int
	connectTimeout time.Duration
	logger         hclog.Logger
	advertise      raft.ServerAddress
}

func defaultOptions() options {
	return options{
		timeout:        DefaultTimeout,
		snapshotRate:   DefaultSnapshotRate,
		maxInFlight:    DefaultMaxInFlight,
		connectTimeout: DefaultConnectTimeout,
	}
}

// WithTimeout sets the deadline of each RPC but InstallSnapshot, and of
// each pipelined AppendEntries (default DefaultTimeout). An RPC that has
// no answer by then fails with an error wrapping engine.ErrTimeout.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithSnapshotRate sets the slowest transfer InstallSnapshot tolerates, in
// bytes per second (default DefaultSnapshotRate): its deadline is the RPC
// timeout plus the snapshot's size at that rate, which covers the transfer
// and the follower's restore. A dead connection fails the stream at once
// whatever the deadline.
func WithSnapshotRate(bytesPerSecond int64) Option {
	return func(o *options) { o.snapshotRate = bytesPerSecond }
}

// WithMaxInFlight bounds the pipelined AppendEntries awaiting an answer
// per pipeline (default DefaultMaxInFlight, at most 65536). Below 2,
// AppendEntriesPipeline returns raft.ErrPipelineReplicationNotSupported and
// raft replicates with one AppendEntries at a time.
func WithMaxInFlight(n int) Option { return func(o *options) { o.maxInFlight = n } }

// WithConnectTimeout sets how long the first RPC to a server waits for the
// engine to connect to it (default DefaultConnectTimeout). The engine keeps
// dialing afterwards; until it succeeds, RPCs to the server fail at once.
func WithConnectTimeout(d time.Duration) Option {
	return func(o *options) { o.connectTimeout = d }
}

// WithLogger sets the logger for the adapter's own events: undecodable
// messages, answers that could not be sent, address changes. The default
// writes to stderr at Info level, like NetworkTransport's.
func WithLogger(l hclog.Logger) Option { return func(o *options) { o.logger = l } }

// WithAdvertise sets the address this node gives raft as its own
// (LocalAddr), when peers must reach it at an address other than the
// engine's listen address: a wildcard listen address (which New refuses
// without it, as raft.NewTCPTransport does), NAT.
func WithAdvertise(addr raft.ServerAddress) Option {
	return func(o *options) { o.advertise = addr }
}

func (o *options) validate() error {
	switch {
	case o.timeout <= 0:
		return fmt.Errorf("%w: timeout %v, want > 0", ErrInvalidOption, o.timeout)
	case o.snapshotRate <= 0:
		return fmt.Errorf("%w: snapshot rate %d, want > 0", ErrInvalidOption, o.snapshotRate)
	case o.maxInFlight > 1<<16:
		return fmt.Errorf("%w: max in flight %d, want at most %d", ErrInvalidOption, o.maxInFlight, 1<<16)
	case o.connectTimeout <= 0:
		return fmt.Errorf("%w: connect timeout %v, want > 0", ErrInvalidOption, o.connectTimeout)
	}
	return nil
}

// snapshotTimeout is InstallSnapshot's deadline for a snapshot of size
// bytes, at most maxSnapshotTimeout.
func (o *options) snapshotTimeout(size int64) time.Duration {
	transfer := float64(max(size, 0)) / float64(o.snapshotRate) * float64(time.Second)
	if transfer >= float64(maxSnapshotTimeout-o.timeout) {
		return maxSnapshotTimeout
	}
	return o.timeout + time.Duration(transfer)
}

// maxSnapshotTimeout caps InstallSnapshot's deadline (a size raft got
// wrong must not overflow it).
const maxSnapshotTimeout = 30 * 24 * time.Hour
