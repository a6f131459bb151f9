package config

import (
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// table is every setting, once. A setting added here is a TOML key, a
// flag, a line of SETTINGS.md and a case of the tests; engine.Config's
// fields must each have one (TestEveryConfigFieldHasASetting).
var table = slices.Concat(topLevel, tlsSettings,
	rateLimit("rate_limit", "outbound rate limit per peer", func(n *Node) *engine.RateLimitConfig { return &n.Engine.RateLimit }),
	rateLimit("inbound_rate_limit", "inbound rate limit per peer", func(n *Node) *engine.RateLimitConfig { return &n.Engine.InboundRateLimit }),
	compression, reconnect)

// section is a TOML table of settings.
type section struct {
	name string
	doc  string
	// open, when set, runs when the section is present in a file, even
	// empty, before its keys are applied.
	open func(n *Node)
}

// sections are the sections of the table's keys, in its order.
var sections = []section{
	{name: "tls", doc: "TLS. A [tls] section, even empty, turns TLS on with the Strict defaults " +
		"(client certificates required, node id checked against the certificate's common name, TLS 1.3); " +
		"so does any -tls-* flag. Relative paths in a file are taken from the file's directory.",
		open: func(n *Node) { openTLS(n) }},
	{name: "rate_limit", doc: "The outbound token bucket of each peer. A preset is applied before the other keys and flags of the section."},
	{name: "inbound_rate_limit", doc: "The inbound token bucket of each peer: a peer over its budget is not read until tokens refill (never dropped). Disabled by default."},
	{name: "compression", doc: "LZ4 frame compression, used on a connection when both ends offer it."},
	{name: "reconnect", doc: "Redialing lost outbound connections: attempt n waits min(initial_backoff x multiplier^n, max_backoff), ± jitter."},
}

// topLevel are the keys outside any section.
var topLevel = []Setting{
	value("node_id", nodeID, field(func(n *Node) *string { return &n.Engine.NodeID }),
		"n5", "this node's `id` (required)").flagNamed("id").defaultIs("none (required)"),
	value("listen", address, field(func(n *Node) *string { return &n.Engine.ListenAddr }),
		"127.0.0.1:9105", "listen `address` host:port"),
	value("peers", peerList, field(func(n *Node) *[]engine.PeerConfig { return &n.Peers }),
		"n2=10.0.1.2:9100", "`ID=HOST:PORT` of a peer to connect to; repeat for more (the first flag replaces the file's list)").flagNamed("peer"),
	ranged("pool_size", integer, between(1, 64), field(func(n *Node) *int { return &n.Engine.PoolSize }),
		"7", "`number` of outbound connections per peer"),
	ranged("connect_timeout", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.ConnectTimeout }),
		"7s", "time limit (a `duration`) for TCP connect + TLS + handshake"),
	ranged("io_timeout", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.IOTimeout }),
		"7s", "fail a connection whose pending output makes no progress for this `duration`"),
	ranged("frame_timeout", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.FrameTimeout }),
		"7s", "cut a peer whose frame, once begun, takes longer than this `duration` to arrive"),
	ranged("max_message_size", integer, between(1, 1<<30), field(func(n *Node) *int { return &n.Engine.MaxMessageSize }),
		"7000", "largest message, in `bytes`"),
	value("keepalive", boolean, field(func(n *Node) *bool { return &n.Engine.Keepalive }),
		"false", "TCP keepalive"),
	ranged("keepalive_interval", duration, atLeast(time.Second), field(func(n *Node) *time.Duration { return &n.Engine.KeepaliveInterval }),
		"7s", "TCP keepalive interval (a `duration`)"),
	ranged("max_pending_messages", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxPendingMessages }),
		"7", "outbound queue per peer and class, in `messages`"),
	ranged("max_pending_bytes", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxPendingBytes }),
		"7", "outbound queue per peer and class, in `bytes`"),
	ranged("recv_buffer_size", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.RecvBufferSize }),
		"7", "inbox per peer and class, in `messages`"),
	ranged("recv_buffer_bytes", integer, atLeast(0), field(func(n *Node) *int { return &n.Engine.RecvBufferBytes }),
		"7000", "inbox per peer and class, in `bytes`; 0 = 2 x max_message_size"),
	ranged("receive_window", integer, between(64<<10, 1<<30), field(func(n *Node) *int { return &n.Engine.ReceiveWindow }),
		"700000", "flow-control window per inbound connection, in `bytes`"),
	ranged("memory_budget", integer64, atLeast(int64(4<<20)), field(func(n *Node) *int64 { return &n.Engine.MemoryBudget }),
		"7000000000", "memory peers can make this node hold, in `bytes`; unless GOMEMLIMIT is set, tcnode sets the Go memory limit to this + 128 MiB"),
	ranged("conn_memory_reserve", integer, atLeast(64<<10), field(func(n *Node) *int { return &n.Engine.ConnMemoryReserve }),
		"700000", "share of memory_budget guaranteed to each connection, in `bytes` (<= memory_budget)"),
	ranged("event_loops", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.EventLoops }),
		"7", "`number` of event loops (reactors)").defaultIs("number of CPUs"),
	ranged("handshake_concurrency", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.HandshakeConcurrency }),
		"7", "`number` of TLS handshakes working at once"),
	ranged("handshake_idle_timeout", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.HandshakeIdleTimeout }),
		"7s", "cut an inbound connection whose first message is not complete within this `duration`"),
	ranged("max_inbound_connections", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxInboundConnections }),
		"7", "inbound connections held at once, in all (a `number`)"),
	ranged("max_connections_per_address", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxConnectionsPerAddress }),
		"7", "inbound connections held at once per remote IP (a `number`)"),
	ranged("max_connections_per_peer", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxConnectionsPerPeer }),
		"7", "inbound connections held at once per peer node id (a `number`)"),
	ranged("stream_window", integer, between(codec.StreamInitialWindow, 1<<30), field(func(n *Node) *int { return &n.Engine.StreamWindow }),
		"7000000", "`bytes` of one incoming stream in flight or unread"),
	ranged("max_streams_per_peer", integer, atLeast(1), field(func(n *Node) *int { return &n.Engine.MaxStreamsPerPeer }),
		"7", "incoming streams open at once per peer (a `number`)"),
	ranged("ping_interval", duration, atLeast(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.PingInterval }),
		"7s", "how often to measure the round trip to each peer we dial (a `duration`; 0 = off)"),
	ranged("close_timeout", duration, atLeast(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.CloseTimeout }),
		"7s", "how long (a `duration`) Close waits to flush queued messages"),
	value("security_mode", securityMode, field(func(n *Node) *engine.SecurityMode { return &n.Engine.SecurityMode }),
		"legacy", "security `mode`: strict, permissive, development or legacy"),
	ranged("stats_interval", duration, atLeast(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.StatsInterval }),
		"7s", "print stats to stderr every `duration`; 0 = off"),
	value("log_level", logLevel, field(func(n *Node) *slog.Level { return &n.LogLevel }),
		"debug", "log `level`: debug, info, warn or error"),
}

// tlsSettings are the keys of [tls] (tlsstate.Config).
var tlsSettings = []Setting{
	value("tls.cert_path", filePath, tlsField(func(c *tlsstate.Config) *string { return &c.CertPath }),
		"/etc/tc/n1.pem", "this node's certificate chain (PEM `file`)").flagNamed("tls-cert"),
	value("tls.key_path", filePath, tlsField(func(c *tlsstate.Config) *string { return &c.KeyPath }),
		"/etc/tc/n1.key", "this node's private key (PEM `file`)").flagNamed("tls-key"),
	value("tls.ca_path", filePath, tlsField(func(c *tlsstate.Config) *string { return &c.CAPath }),
		"/etc/tc/ca.pem", "CA certificates trusted for peers (PEM `file`)").flagNamed("tls-ca"),
	value("tls.require_client_auth", boolean, tlsField(func(c *tlsstate.Config) *bool { return &c.RequireClientAuth }),
		"false", "require client certificates (mutual TLS)"),
	value("tls.node_id_verification", nodeIDVerification, tlsField(func(c *tlsstate.Config) *tlsstate.NodeIDVerification { return &c.NodeIDVerification }),
		"subject_alt_name", "how a peer's certificate names its node id (`method`): none, common_name or subject_alt_name"),
	value("tls.min_version", tlsVersion, tlsField(func(c *tlsstate.Config) *tlsstate.TLSVersion { return &c.MinVersion }),
		"1.2", "lowest TLS `version`, 1.2 or 1.3"),
	value("tls.record_layer", recordLayer, tlsField(func(c *tlsstate.Config) *tlsstate.RecordLayer { return &c.RecordLayer }),
		"crypto/tls", "what protects records after a TLS 1.3 handshake (`layer`): engine (its own, decrypting in place) or crypto/tls"),
	ranged("tls.key_update_interval", integer, between(0, 1<<24), tlsField(func(c *tlsstate.Config) *int { return &c.KeyUpdateInterval }),
		"1000000", "engine record layer: rotate this side's TLS key every `n` records, and ask a peer to rotate after 2n (0: 2^24, the most)"),
}

// rateLimit returns the keys of a rate-limit section (bucket.Config), the
// preset first. Their examples differ from the section's defaults.
func rateLimit(name, what string, rl func(n *Node) *engine.RateLimitConfig) []Setting {
	def := Default()
	enabled := *rl(&def)
	presetOf := access[string]{
		get: func(*Node) string { return "" }, // a preset is an action, not a value
		set: func(n *Node, p string) { *rl(n), _ = bucket.Preset(p) },
	}
	return []Setting{
		value(name+".preset", preset, presetOf, "aggressive",
			what+": `preset` default, aggressive, permissive or disabled, applied before the section's other keys and flags").
			flagNamed(flagName(name)).appliedFirst().defaultIs("none"),
		value(name+".enabled", boolean, field(func(n *Node) *bool { return &rl(n).Enabled }),
			strconv.FormatBool(!enabled.Enabled), what+": on or off"),
		ranged(name+".bucket_size", integer, between(1, 1<<30), field(func(n *Node) *int { return &rl(n).BucketSize }),
			"7", what+": burst, in `messages`"),
		ranged(name+".refill_rate", float, aboveAtMost(0.0, 1e6), field(func(n *Node) *float64 { return &rl(n).RefillRate }),
			"7.5", what+": `rate` in messages per second"),
	}
}

// compression are the keys of [compression] (engine.CompressionConfig).
var compression = []Setting{
	value("compression.enabled", boolean, field(func(n *Node) *bool { return &n.Engine.Compression.Enabled }),
		"false", "offer LZ4 compression"),
	value("compression.method", compressionMethod, field(func(n *Node) *engine.CompressionMethod { return &n.Engine.Compression.Method }),
		"LZ4", "compression `method` (lz4)"),
	ranged("compression.min_size", integer, atLeast(0), field(func(n *Node) *int { return &n.Engine.Compression.MinSize }),
		"7", "smallest payload compressed, in `bytes`"),
}

// reconnect are the keys of [reconnect] (engine.ReconnectConfig).
var reconnect = []Setting{
	value("reconnect.enabled", boolean, field(func(n *Node) *bool { return &n.Engine.Reconnect.Enabled }),
		"false", "redial lost connections"),
	ranged("reconnect.initial_backoff", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.Reconnect.InitialBackoff }),
		"7s", "first redial delay (a `duration`)"),
	ranged("reconnect.max_backoff", duration, above(time.Duration(0)), field(func(n *Node) *time.Duration { return &n.Engine.Reconnect.MaxBackoff }),
		"70s", "longest redial delay (a `duration`, >= initial_backoff)"),
	ranged("reconnect.multiplier", float, atLeast(1.0), field(func(n *Node) *float64 { return &n.Engine.Reconnect.Multiplier }),
		"7.5", "delay growth `factor` per attempt"),
	ranged("reconnect.max_attempts", integer, atLeast(0), field(func(n *Node) *int { return &n.Engine.Reconnect.MaxAttempts }),
		"7", "`number` of failed redials before the peer fails; 0 = unlimited"),
	ranged("reconnect.jitter", float, atLeastBelow(0.0, 1.0), field(func(n *Node) *float64 { return &n.Engine.Reconnect.Jitter }),
		"0.7", "random spread of each delay, as a `fraction`"),
}
