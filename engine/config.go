package engine

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/tlsstate"
)

// SecurityMode selects how strictly connections are authenticated; see
// tlsstate.SecurityMode. The zero value is Strict.
type SecurityMode = tlsstate.SecurityMode

// Security modes, re-exported from tlsstate.
const (
	Strict      = tlsstate.Strict
	Permissive  = tlsstate.Permissive
	Development = tlsstate.Development
	Legacy      = tlsstate.Legacy
)

// RateLimitConfig is a token-bucket setting; see the bucket package for presets.
type RateLimitConfig = bucket.Config

// CompressionMethod names a payload compression algorithm.
type CompressionMethod string

// Lz4 is the only compression method: LZ4 blocks, one per frame.
const Lz4 CompressionMethod = "lz4"

// CompressionConfig controls LZ4 frame compression (TOML section [compression]).
type CompressionConfig struct {
	// Enabled advertises compression in the handshake; a connection compresses
	// only when both ends advertise it.
	Enabled bool `toml:"enabled"`
	// Method is the algorithm; only Lz4.
	Method CompressionMethod `toml:"method"`
	// MinSize is the smallest payload worth compressing, in bytes.
	MinSize int `toml:"min_size"`
}

// ReconnectConfig controls redialing lost outbound connections (TOML section
// [reconnect]). Attempt n waits min(InitialBackoff*Multiplier^n, MaxBackoff),
// moved by a random fraction within ±Jitter of itself.
type ReconnectConfig struct {
	Enabled        bool          `toml:"enabled"`
	InitialBackoff time.Duration `toml:"initial_backoff"`
	MaxBackoff     time.Duration `toml:"max_backoff"`
	Multiplier     float64       `toml:"multiplier"`
	// MaxAttempts is how many consecutive failed dials make a connection
	// Failed; 0 means unlimited.
	MaxAttempts int     `toml:"max_attempts"`
	Jitter      float64 `toml:"jitter"`
}

// DefaultReconnect returns the default reconnect policy: 100 ms doubling to
// 30 s, ±10% jitter, unlimited attempts.
func DefaultReconnect() ReconnectConfig {
	return ReconnectConfig{Enabled: true, InitialBackoff: 100 * time.Millisecond,
		MaxBackoff: 30 * time.Second, Multiplier: 2.0, Jitter: 0.1}
}

// DefaultCompression returns LZ4 enabled for payloads of 256 bytes or more.
func DefaultCompression() CompressionConfig {
	return CompressionConfig{Enabled: true, Method: Lz4, MinSize: 256}
}

// Config configures a Transport. Build one with NewConfig, then adjust it.
type Config struct {
	// NodeID names this node to its peers; it must be unique in the cluster.
	NodeID string
	// ListenAddr is the TCP address to accept peers on ("host:port"; port 0
	// picks a free port, see Transport.Addr).
	ListenAddr string

	// PoolSize is the number of outbound bulk connections kept per peer
	// (Connect also opens one control connection).
	PoolSize int
	// ConnectTimeout bounds TCP connect, TLS handshake and application
	// handshake together, for outbound and inbound connections alike.
	ConnectTimeout time.Duration
	// IOTimeout fails a connection that has output pending (queued data or
	// unsent bytes) but makes no progress for this long.
	IOTimeout time.Duration
	// FrameTimeout bounds how long a frame may take to arrive once its
	// first bytes have: a peer trickling a frame is cut (ErrTimeout).
	FrameTimeout time.Duration
	// MaxMessageSize is the largest payload sent or accepted, in bytes.
	MaxMessageSize int
	// Keepalive turns on TCP keepalive, probing every KeepaliveInterval.
	Keepalive         bool
	KeepaliveInterval time.Duration
	// MaxPendingMessages bounds each peer's outbound queue of each class
	// (bulk, control), in messages.
	MaxPendingMessages int
	// MaxPendingBytes bounds each peer's outbound queue of each class, in bytes (a single
	// message larger than this is still accepted into an empty queue).
	MaxPendingBytes int
	// RecvBufferSize bounds each peer's inbox of each class, in messages:
	// what has arrived from that peer and waits for Recv. Recv serves the
	// peers' inboxes fairly by bytes (control first); a peer whose inbox
	// is full is paused, and only that peer waits.
	RecvBufferSize int
	// RecvBufferBytes bounds each peer's inbox of each class in bytes
	// (as uncompressed frames); a message larger than this still fits an
	// empty inbox. 0 means 2 x MaxMessageSize.
	RecvBufferBytes int
	// ReceiveWindow is the flow-control credit granted to each inbound
	// connection, in wire bytes: how much a peer may send before this node
	// consumes it. It bounds per-connection receive memory.
	ReceiveWindow int
	// MemoryBudget bounds, in bytes, what peers can make this node hold:
	// partial frames, decompressed payloads, received messages until
	// Message.Release, TLS and gnet buffers. Each connection is guaranteed
	// ConnMemoryReserve of it; beyond that, a connection whose buffered
	// input cannot be charged is cut (ErrOverloaded) and one whose
	// payloads cannot be charged pauses until memory is released. A
	// connection is refused when the budget cannot reserve its share.
	// Connections together hold at most half the budget beyond their
	// reserves (more if MaxInboundConnections' reserves leave more), so
	// peers that fill it cannot keep new connections out.
	MemoryBudget int64
	// ConnMemoryReserve is each connection's guaranteed share of
	// MemoryBudget, in bytes: half for its buffers, half for the payloads
	// it delivers (16 KiB in all until its hello).
	ConnMemoryReserve int
	// EventLoops is the number of reactors (gnet event loops).
	EventLoops int
	// HandshakeIdleTimeout cuts an inbound connection whose first message
	// (TLS ClientHello, or plaintext hello) is not complete this long after
	// it was accepted: silent and trickling peers hold a socket no longer.
	HandshakeIdleTimeout time.Duration
	// MaxInboundConnections, MaxConnectionsPerAddress (per remote IP) and
	// MaxConnectionsPerPeer (per authenticated node id) bound the inbound
	// connections held at once; a connection over a limit is refused
	// (ErrOverloaded) and counted in Stats.ConnectionsRefused.
	MaxInboundConnections    int
	MaxConnectionsPerAddress int
	MaxConnectionsPerPeer    int
	// HandshakeConcurrency bounds TLS handshakes working at once (one
	// waiting for its peer holds no slot).
	HandshakeConcurrency int
	// CloseTimeout bounds how long Close waits for queued messages to flush.
	CloseTimeout time.Duration

	// SecurityMode is Strict by default; see ValidateSecurity.
	SecurityMode SecurityMode
	// TLS holds certificate paths and verification settings; nil means no TLS.
	TLS *tlsstate.Config

	// RateLimit is the per-peer outbound token bucket.
	RateLimit RateLimitConfig
	// InboundRateLimit, when enabled, throttles each inbound connection: a
	// peer over budget is not read until tokens refill (never dropped).
	InboundRateLimit RateLimitConfig
	// Compression controls LZ4 frame compression.
	Compression CompressionConfig
	// Reconnect controls redialing of lost outbound connections.
	Reconnect ReconnectConfig

	// Handler, when set, receives every message on the event loop instead of
	// the Recv ring: payload is valid only during the call and the call must
	// not block. This is the zero-copy path.
	Handler func(from string, payload []byte)
	// MessageHandler is Handler with the whole message: it can answer a
	// request inline (Transport.TryReply) and take a stream
	// (Message.Stream, to be read on another goroutine). m and its
	// Payload are valid only during the call. Set at most one of Handler
	// and MessageHandler.
	MessageHandler func(m *Message)
	// StreamWindow is how many bytes of one incoming stream may be in
	// flight or buffered, unread (at least codec.StreamInitialWindow).
	StreamWindow int
	// PingInterval is how often the transport measures its round trip to
	// each peer it dialed, on the control connection (PeerStats.RTT); 0
	// turns it off.
	PingInterval time.Duration
	// MaxStreamsPerPeer bounds the streams a peer may have open towards
	// this node at once; more are refused (the sender gets ErrStreamReset).
	MaxStreamsPerPeer int
	// Logger receives connection-level events (never one line per message);
	// nil means slog.Default().
	Logger *slog.Logger
}

// NewConfig returns a configuration with the documented defaults: Strict
// security (set TLS before Start), pool of 2, 5 s connect and 30 s I/O
// timeouts, 16 MiB messages, keepalive every 30 s, 1000 pending messages per
// peer, 1000-message inboxes per peer and class, a 512 MiB memory budget,
// 1024 inbound connections, one event loop per CPU, the default rate
// limit, LZ4 compression and reconnection.
func NewConfig(nodeID, listenAddr string) Config {
	return Config{
		NodeID:                   nodeID,
		ListenAddr:               listenAddr,
		PoolSize:                 2,
		ConnectTimeout:           5 * time.Second,
		IOTimeout:                30 * time.Second,
		FrameTimeout:             10 * time.Second,
		MaxMessageSize:           16 << 20,
		Keepalive:                true,
		KeepaliveInterval:        30 * time.Second,
		MaxPendingMessages:       1000,
		MaxPendingBytes:          64 << 20,
		RecvBufferSize:           1000,
		ReceiveWindow:            4 << 20,
		MemoryBudget:             512 << 20,
		ConnMemoryReserve:        256 << 10,
		EventLoops:               runtime.NumCPU(),
		HandshakeConcurrency:     64,
		HandshakeIdleTimeout:     time.Second,
		MaxInboundConnections:    1024,
		StreamWindow:             4 << 20,
		PingInterval:             time.Second,
		MaxStreamsPerPeer:        16,
		MaxConnectionsPerAddress: 64,
		MaxConnectionsPerPeer:    32,
		CloseTimeout:             5 * time.Second,
		SecurityMode:             Strict,
		RateLimit:                bucket.Default(),
		InboundRateLimit:         bucket.Disabled(),
		Compression:              DefaultCompression(),
		Reconnect:                DefaultReconnect(),
	}
}

// ValidateSecurity checks the security mode against the TLS configuration:
// Strict needs TLS with client certificates and NodeId verification
// (ErrTLSRequired, ErrMTLSRequired, ErrNodeIDVerificationRequired),
// Permissive needs TLS, Development and Legacy need nothing.
func (c *Config) ValidateSecurity() error {
	return tlsstate.ValidateMode(c.SecurityMode, c.TLS)
}

// Validate checks every field and the security configuration; Start calls it.
func (c *Config) Validate() error {
	if err := codec.ValidateNodeID(c.NodeID); err != nil {
		return fmt.Errorf("%w: node_id: %v", ErrInvalidConfig, err)
	}
	checks := []struct {
		name string
		bad  bool
	}{
		{"listen_addr", c.ListenAddr == ""},
		{"pool_size", c.PoolSize < 1 || c.PoolSize > 64},
		{"connect_timeout", c.ConnectTimeout <= 0},
		{"io_timeout", c.IOTimeout <= 0},
		{"frame_timeout", c.FrameTimeout <= 0},
		{"max_message_size", c.MaxMessageSize < 1 || c.MaxMessageSize > 1<<30},
		{"keepalive_interval", c.Keepalive && c.KeepaliveInterval < time.Second},
		{"max_pending_messages", c.MaxPendingMessages < 1},
		{"max_pending_bytes", c.MaxPendingBytes < 1},
		{"recv_buffer_size", c.RecvBufferSize < 1},
		{"recv_buffer_bytes", c.RecvBufferBytes < 0},
		{"receive_window", c.ReceiveWindow < 64<<10 || c.ReceiveWindow > 1<<30},
		{"memory_budget", c.MemoryBudget < 4<<20},
		{"conn_memory_reserve", c.ConnMemoryReserve < 64<<10 || int64(c.ConnMemoryReserve) > c.MemoryBudget},
		{"event_loops", c.EventLoops < 1},
		{"handshake_concurrency", c.HandshakeConcurrency < 1},
		{"handshake_idle_timeout", c.HandshakeIdleTimeout <= 0},
		{"max_inbound_connections", c.MaxInboundConnections < 1},
		{"max_connections_per_address", c.MaxConnectionsPerAddress < 1},
		{"max_connections_per_peer", c.MaxConnectionsPerPeer < 1},
		{"close_timeout", c.CloseTimeout < 0},
		{"stream_window", c.StreamWindow < codec.StreamInitialWindow || c.StreamWindow > 1<<30},
		{"max_streams_per_peer", c.MaxStreamsPerPeer < 1},
		{"ping_interval", c.PingInterval < 0},
		{"message_handler", c.Handler != nil && c.MessageHandler != nil},
		{"compression.method", c.Compression.Enabled && c.Compression.Method != Lz4},
		{"compression.min_size", c.Compression.MinSize < 0},
		{"reconnect.initial_backoff", c.Reconnect.Enabled && c.Reconnect.InitialBackoff <= 0},
		{"reconnect.max_backoff", c.Reconnect.Enabled && c.Reconnect.MaxBackoff < c.Reconnect.InitialBackoff},
		{"reconnect.multiplier", c.Reconnect.Enabled && !(c.Reconnect.Multiplier >= 1)},
		{"reconnect.max_attempts", c.Reconnect.MaxAttempts < 0},
		{"reconnect.jitter", !(c.Reconnect.Jitter >= 0 && c.Reconnect.Jitter < 1)},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("%w: %s out of range", ErrInvalidConfig, ch.name)
		}
	}
	if err := c.RateLimit.Validate(); err != nil {
		return fmt.Errorf("%w: rate_limit: %v", ErrInvalidConfig, err)
	}
	if err := c.InboundRateLimit.Validate(); err != nil {
		return fmt.Errorf("%w: inbound_rate_limit: %v", ErrInvalidConfig, err)
	}
	return c.ValidateSecurity()
}

// PeerConfig names a peer to connect to.
type PeerConfig struct {
	// NodeID is the id the peer must prove in its handshake (and, with
	// NodeId verification, in its certificate).
	NodeID string
	// Address is the peer's listen address, "host:port".
	Address string
}

// inline reports whether messages go to a handler on the event loop
// rather than to Recv.
func (c *Config) inline() bool { return c.Handler != nil || c.MessageHandler != nil }

// recvBufferBytes is RecvBufferBytes with its default applied.
func (c *Config) recvBufferBytes() int64 {
	if c.RecvBufferBytes > 0 {
		return int64(c.RecvBufferBytes)
	}
	return 2 * int64(codec.FrameLen(c.MaxMessageSize))
}

// sharedMemory is how much of MemoryBudget connections may hold beyond
// their reserves, together: what the reserves of MaxInboundConnections
// connections leave, and at least half.
func (c *Config) sharedMemory() int64 {
	return max(c.MemoryBudget/2, c.MemoryBudget-int64(c.MaxInboundConnections)*int64(c.ConnMemoryReserve))
}
