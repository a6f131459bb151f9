package main

import (
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// value is a flag.Value holding a setting of type T: Set parses the text,
// checks the result against the setting's rule and stores it.
type value[T any] struct {
	get     func() T
	set     func(T)
	parse   func(string) (T, error)
	check   func(T) error
	format  func(T) string
	boolean bool
}

// Set implements flag.Value.
func (v *value[T]) Set(s string) error {
	x, err := v.parse(s)
	if err != nil {
		return err
	}
	if v.check != nil {
		if err := v.check(x); err != nil {
			return err
		}
	}
	v.set(x)
	return nil
}

// String implements flag.Value. The zero value (used by flag.PrintDefaults)
// prints "".
func (v *value[T]) String() string {
	if v == nil || v.get == nil {
		return ""
	}
	return v.format(v.get())
}

// IsBoolFlag lets a boolean flag stand alone ("-keepalive" for
// "-keepalive=true").
func (v *value[T]) IsBoolFlag() bool { return v != nil && v.boolean }

// ptrValue returns a value stored at p.
func ptrValue[T any](p *T, parse func(string) (T, error), format func(T) string) *value[T] {
	return &value[T]{get: func() T { return *p }, set: func(x T) { *p = x }, parse: parse, format: format}
}

// intValue, int64Value, durationValue, floatValue, boolValue and
// stringValue return values at p, checked by the rule of key if it has one.
func intValue(key string, p *int) *value[int] {
	v := ptrValue(p, parseInt, strconv.Itoa)
	v.check = checkFor(intRules, key)
	return v
}

func int64Value(key string, p *int64) *value[int64] {
	v := ptrValue(p, parseInt64, func(n int64) string { return strconv.FormatInt(n, 10) })
	v.check = checkFor(int64Rules, key)
	return v
}

func durationValue(key string, p *time.Duration) *value[time.Duration] {
	v := ptrValue(p, parseDuration, time.Duration.String)
	v.check = checkFor(durationRules, key)
	return v
}

func floatValue(key string, p *float64) *value[float64] {
	v := ptrValue(p, parseFloat, func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) })
	v.check = checkFor(floatRules, key)
	return v
}

func boolValue(p *bool) *value[bool] {
	v := ptrValue(p, parseBool, strconv.FormatBool)
	v.boolean = true
	return v
}

func stringValue(p *string, parse func(string) (string, error)) *value[string] {
	return ptrValue(p, parse, func(s string) string { return s })
}

// tlsValue returns a value stored in a field of cfg.TLS. Setting it
// creates cfg.TLS with the Strict defaults (tlsstate.NewSecureConfig) when
// there is none; reading it never does.
func tlsValue[T any](cfg *engine.Config, field func(*tlsstate.Config) *T,
	parse func(string) (T, error), format func(T) string, boolean bool) *value[T] {
	return &value[T]{
		get: func() T {
			c := cfg.TLS
			if c == nil {
				c = tlsstate.NewSecureConfig("", "", "")
			}
			return *field(c)
		},
		set: func(x T) {
			if cfg.TLS == nil {
				cfg.TLS = tlsstate.NewSecureConfig("", "", "")
			}
			*field(cfg.TLS) = x
		},
		parse: parse, format: format, boolean: boolean,
	}
}

// peersValue is the repeatable -peer flag. The first -peer replaces the
// peers of the configuration file; the next ones add to the list.
type peersValue struct {
	peers    *[]engine.PeerConfig
	replaced bool
}

// Set implements flag.Value.
func (v *peersValue) Set(s string) error {
	p, err := parsePeer(s)
	if err != nil {
		return err
	}
	if !v.replaced {
		*v.peers, v.replaced = nil, true
	}
	*v.peers = append(*v.peers, p)
	return nil
}

// String implements flag.Value.
func (v *peersValue) String() string {
	if v == nil || v.peers == nil {
		return ""
	}
	parts := make([]string, len(*v.peers))
	for i, p := range *v.peers {
		parts[i] = formatPeer(p)
	}
	return strings.Join(parts, ",")
}

// flagSet is a flag.FlagSet being filled with the flags of the TOML keys.
type flagSet struct{ *flag.FlagSet }

// add registers the flag of key (see flagName).
func (fs flagSet) add(key string, v flag.Value, usage string) {
	fs.Var(v, flagName(key), fmt.Sprintf("%s (key %s)", usage, key))
}

// newFlagSet returns the command line's flags, writing into cfg and opt.
// Errors are returned, never printed; see printUsage for -h.
func newFlagSet(cfg *engine.Config, opt *options) *flag.FlagSet {
	fs := flagSet{flag.NewFlagSet("tcnode", flag.ContinueOnError)}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	fs.StringVar(&opt.ConfigPath, "config", "", "read settings from this TOML `file`; flags override it")
	addCoreFlags(fs, cfg, opt)
	addTLSFlags(fs, cfg)
	addRateLimitFlags(fs, "rate_limit", &cfg.RateLimit, &opt.rateLimitPreset, "outbound rate limit per peer")
	addRateLimitFlags(fs, "inbound_rate_limit", &cfg.InboundRateLimit, &opt.inboundRateLimitPreset, "inbound rate limit per peer")
	addCompressionFlags(fs, &cfg.Compression)
	addReconnectFlags(fs, &cfg.Reconnect)
	return fs.FlagSet
}

// addCoreFlags registers the flags of the top-level keys.
func addCoreFlags(fs flagSet, cfg *engine.Config, opt *options) {
	fs.add("node_id", stringValue(&cfg.NodeID, parseNodeID), "this node's `id` (required)")
	fs.add("listen", stringValue(&cfg.ListenAddr, parseListen), "listen `address` host:port")
	fs.add("peers", &peersValue{peers: &opt.Peers}, "`ID=HOST:PORT` of a peer to connect to; repeat for more")
	fs.add("pool_size", intValue("pool_size", &cfg.PoolSize), "`number` of outbound connections per peer")
	fs.add("connect_timeout", durationValue("connect_timeout", &cfg.ConnectTimeout), "time limit (a `duration`) for TCP connect + TLS + handshake")
	fs.add("io_timeout", durationValue("io_timeout", &cfg.IOTimeout), "fail a connection whose pending output makes no progress for this `duration`")
	fs.add("frame_timeout", durationValue("frame_timeout", &cfg.FrameTimeout), "cut a peer whose frame, once begun, takes longer than this `duration` to arrive")
	fs.add("max_message_size", intValue("max_message_size", &cfg.MaxMessageSize), "largest message, in `bytes`")
	fs.add("keepalive", boolValue(&cfg.Keepalive), "TCP keepalive")
	fs.add("keepalive_interval", durationValue("keepalive_interval", &cfg.KeepaliveInterval), "TCP keepalive interval (a `duration` >= 1s)")
	fs.add("max_pending_messages", intValue("max_pending_messages", &cfg.MaxPendingMessages), "outbound queue per peer, in `messages`")
	fs.add("max_pending_bytes", intValue("max_pending_bytes", &cfg.MaxPendingBytes), "outbound queue per peer, in `bytes`")
	fs.add("recv_buffer_size", intValue("recv_buffer_size", &cfg.RecvBufferSize), "capacity of each peer's inbox per class, in `messages`")
	fs.add("recv_buffer_bytes", intValue("recv_buffer_bytes", &cfg.RecvBufferBytes), "inbox per peer and class, in `bytes`; 0 = 2 x max message size")
	fs.add("receive_window", intValue("receive_window", &cfg.ReceiveWindow), "flow-control window per inbound connection, in `bytes`")
	fs.add("memory_budget", int64Value("memory_budget", &cfg.MemoryBudget),
		"memory peers can make this node hold, in `bytes` (>= 4 MiB); unless GOMEMLIMIT is set, the Go memory limit is this + 128 MiB")
	fs.add("conn_memory_reserve", intValue("conn_memory_reserve", &cfg.ConnMemoryReserve), "share of memory_budget guaranteed to each connection, in `bytes` (>= 64 KiB, <= memory_budget)")
	fs.add("event_loops", intValue("event_loops", &cfg.EventLoops), "`number` of event loops (reactors)")
	fs.add("handshake_concurrency", intValue("handshake_concurrency", &cfg.HandshakeConcurrency), "`number` of concurrent TLS handshakes")
	fs.add("handshake_idle_timeout", durationValue("handshake_idle_timeout", &cfg.HandshakeIdleTimeout), "cut an inbound connection whose first message is not complete within this `duration`")
	fs.add("max_inbound_connections", intValue("max_inbound_connections", &cfg.MaxInboundConnections), "inbound connections held at once, in all (a `number`)")
	fs.add("max_connections_per_address", intValue("max_connections_per_address", &cfg.MaxConnectionsPerAddress), "inbound connections held at once per remote IP (a `number`)")
	fs.add("max_connections_per_peer", intValue("max_connections_per_peer", &cfg.MaxConnectionsPerPeer), "inbound connections held at once per peer node id (a `number`)")
	fs.add("stream_window", intValue("stream_window", &cfg.StreamWindow), "`bytes` of one incoming stream in flight or unread")
	fs.add("max_streams_per_peer", intValue("max_streams_per_peer", &cfg.MaxStreamsPerPeer), "incoming streams open at once per peer (a `number`)")
	fs.add("close_timeout", durationValue("close_timeout", &cfg.CloseTimeout), "how long (a `duration`) shutdown waits to flush queued messages")
	fs.add("security_mode", ptrValue(&cfg.SecurityMode, parseSecurityMode, engine.SecurityMode.String),
		"security `mode`: strict, permissive, development or legacy")
	fs.add("stats_interval", durationValue("stats_interval", &opt.StatsInterval), "print stats to stderr every `duration`; 0 = off")
	fs.add("log_level", ptrValue(&opt.LogLevel, parseLogLevel, formatLogLevel), "log `level`: debug, info, warn or error")
}

// addTLSFlags registers the flags of the [tls] section.
func addTLSFlags(fs flagSet, cfg *engine.Config) {
	str := func(s string) string { return s }
	path := func(f func(*tlsstate.Config) *string) flag.Value { return tlsValue(cfg, f, parseString, str, false) }
	fs.add("tls.cert_path", path(func(c *tlsstate.Config) *string { return &c.CertPath }), "this node's certificate (PEM `file`)")
	fs.add("tls.key_path", path(func(c *tlsstate.Config) *string { return &c.KeyPath }), "this node's private key (PEM `file`)")
	fs.add("tls.ca_path", path(func(c *tlsstate.Config) *string { return &c.CAPath }), "CA certificates trusted for peers (PEM `file`)")
	fs.add("tls.require_client_auth", tlsValue(cfg, func(c *tlsstate.Config) *bool { return &c.RequireClientAuth },
		parseBool, strconv.FormatBool, true), "require client certificates (mutual TLS)")
	fs.add("tls.node_id_verification", tlsValue(cfg, func(c *tlsstate.Config) *tlsstate.NodeIDVerification { return &c.NodeIDVerification },
		parseNodeIDVerification, tlsstate.NodeIDVerification.String, false), "how a peer's certificate names its node id (`method`): none, common_name or subject_alt_name")
	fs.add("tls.min_version", tlsValue(cfg, func(c *tlsstate.Config) *tlsstate.TLSVersion { return &c.MinVersion },
		parseTLSVersion, tlsstate.TLSVersion.String, false), "lowest TLS `version`, 1.2 or 1.3")
}

// addRateLimitFlags registers the flags of a rate-limit section.
func addRateLimitFlags(fs flagSet, section string, rl *engine.RateLimitConfig, preset *string, what string) {
	fs.add(section+".preset", stringValue(preset, parsePreset),
		what+": `preset` default, aggressive, permissive or disabled, applied before the other "+flagName(section)+"-* flags")
	fs.add(section+".enabled", boolValue(&rl.Enabled), what+": on or off")
	fs.add(section+".bucket_size", intValue(section+".bucket_size", &rl.BucketSize), what+": burst, in `messages`")
	fs.add(section+".refill_rate", floatValue(section+".refill_rate", &rl.RefillRate), what+": `rate` in messages per second")
}

// addCompressionFlags registers the flags of the [compression] section.
func addCompressionFlags(fs flagSet, c *engine.CompressionConfig) {
	fs.add("compression.enabled", boolValue(&c.Enabled), "offer LZ4 compression")
	fs.add("compression.method", ptrValue(&c.Method, parseMethod, func(m engine.CompressionMethod) string { return string(m) }),
		"compression `method` (lz4)")
	fs.add("compression.min_size", intValue("compression.min_size", &c.MinSize), "smallest payload compressed, in `bytes`")
}

// addReconnectFlags registers the flags of the [reconnect] section.
func addReconnectFlags(fs flagSet, r *engine.ReconnectConfig) {
	fs.add("reconnect.enabled", boolValue(&r.Enabled), "redial lost connections")
	fs.add("reconnect.initial_backoff", durationValue("reconnect.initial_backoff", &r.InitialBackoff), "first redial delay (a `duration`)")
	fs.add("reconnect.max_backoff", durationValue("reconnect.max_backoff", &r.MaxBackoff), "longest redial delay (a `duration`)")
	fs.add("reconnect.multiplier", floatValue("reconnect.multiplier", &r.Multiplier), "delay growth `factor` per attempt (>= 1)")
	fs.add("reconnect.max_attempts", intValue("reconnect.max_attempts", &r.MaxAttempts), "`number` of failed redials before giving up; 0 = unlimited")
	fs.add("reconnect.jitter", floatValue("reconnect.jitter", &r.Jitter), "random spread of each delay, as a `fraction` in [0, 1)")
}
