package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// fileConfig is the TOML file. Every field is a pointer: nil means the key
// is absent and the setting keeps its default. Durations and enumerations
// are strings parsed with the same functions as the flags (go-toml would
// take a bare integer as nanoseconds, or as a mode's number).
type fileConfig struct {
	NodeID                   *string   `toml:"node_id"`
	Listen                   *string   `toml:"listen"`
	Peers                    *[]string `toml:"peers"`
	PoolSize                 *int      `toml:"pool_size"`
	ConnectTimeout           *string   `toml:"connect_timeout"`
	IOTimeout                *string   `toml:"io_timeout"`
	FrameTimeout             *string   `toml:"frame_timeout"`
	MaxMessageSize           *int      `toml:"max_message_size"`
	Keepalive                *bool     `toml:"keepalive"`
	KeepaliveInterval        *string   `toml:"keepalive_interval"`
	MaxPendingMessages       *int      `toml:"max_pending_messages"`
	MaxPendingBytes          *int      `toml:"max_pending_bytes"`
	RecvBufferSize           *int      `toml:"recv_buffer_size"`
	RecvBufferBytes          *int      `toml:"recv_buffer_bytes"`
	ReceiveWindow            *int      `toml:"receive_window"`
	MemoryBudget             *int64    `toml:"memory_budget"`
	ConnMemoryReserve        *int      `toml:"conn_memory_reserve"`
	EventLoops               *int      `toml:"event_loops"`
	HandshakeConcurrency     *int      `toml:"handshake_concurrency"`
	HandshakeIdleTimeout     *string   `toml:"handshake_idle_timeout"`
	MaxInboundConnections    *int      `toml:"max_inbound_connections"`
	MaxConnectionsPerAddress *int      `toml:"max_connections_per_address"`
	MaxConnectionsPerPeer    *int      `toml:"max_connections_per_peer"`
	StreamWindow             *int      `toml:"stream_window"`
	MaxStreamsPerPeer        *int      `toml:"max_streams_per_peer"`
	CloseTimeout             *string   `toml:"close_timeout"`
	SecurityMode             *string   `toml:"security_mode"`
	StatsInterval            *string   `toml:"stats_interval"`
	LogLevel                 *string   `toml:"log_level"`

	TLS              *tlsFile         `toml:"tls"`
	RateLimit        *rateLimitFile   `toml:"rate_limit"`
	InboundRateLimit *rateLimitFile   `toml:"inbound_rate_limit"`
	Compression      *compressionFile `toml:"compression"`
	Reconnect        *reconnectFile   `toml:"reconnect"`
}

// tlsFile is the [tls] section (keys of tlsstate.Config).
type tlsFile struct {
	CertPath           *string `toml:"cert_path"`
	KeyPath            *string `toml:"key_path"`
	CAPath             *string `toml:"ca_path"`
	RequireClientAuth  *bool   `toml:"require_client_auth"`
	NodeIDVerification *string `toml:"node_id_verification"`
	MinVersion         *string `toml:"min_version"`
}

// rateLimitFile is a [rate_limit] or [inbound_rate_limit] section (keys of
// bucket.Config, plus preset, applied before the other keys).
type rateLimitFile struct {
	Preset     *string  `toml:"preset"`
	Enabled    *bool    `toml:"enabled"`
	BucketSize *int     `toml:"bucket_size"`
	RefillRate *float64 `toml:"refill_rate"`
}

// compressionFile is the [compression] section (keys of
// engine.CompressionConfig).
type compressionFile struct {
	Enabled *bool   `toml:"enabled"`
	Method  *string `toml:"method"`
	MinSize *int    `toml:"min_size"`
}

// reconnectFile is the [reconnect] section (keys of engine.ReconnectConfig).
type reconnectFile struct {
	Enabled        *bool    `toml:"enabled"`
	InitialBackoff *string  `toml:"initial_backoff"`
	MaxBackoff     *string  `toml:"max_backoff"`
	Multiplier     *float64 `toml:"multiplier"`
	MaxAttempts    *int     `toml:"max_attempts"`
	Jitter         *float64 `toml:"jitter"`
}

// loadFile reads the TOML file at path over cfg and opt. Errors start with
// "config PATH:" and name the offending key.
func loadFile(path string, cfg *engine.Config, opt *options) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	var f fileConfig
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return fmt.Errorf("config %s: %w", path, describeTOMLError(err))
	}
	a := applier{dir: filepath.Dir(path)}
	a.apply(&f, cfg, opt)
	if err := errors.Join(a.errs...); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	return nil
}

// applier copies the keys present in a fileConfig into the settings,
// checking each value against its rule and collecting one error per key.
type applier struct {
	dir  string // the file's directory, base of relative TLS paths
	errs []error
}

// fail records an error for key.
func (a *applier) fail(key string, err error) {
	a.errs = append(a.errs, fmt.Errorf("key %s: %w", key, err))
}

// put stores *src in *dst if src is set and passes check (which may be nil).
func put[T any](a *applier, key string, src *T, dst *T, check func(T) error) {
	if src == nil {
		return
	}
	if check != nil {
		if err := check(*src); err != nil {
			a.fail(key, err)
			return
		}
	}
	*dst = *src
}

// putParsed parses *src with parse and stores the result in *dst.
func putParsed[T any](a *applier, key string, src *string, dst *T, parse func(string) (T, error)) {
	if src == nil {
		return
	}
	v, err := parse(*src)
	if err != nil {
		a.fail(key, err)
		return
	}
	*dst = v
}

// putInt, putInt64, putFloat and putDuration store a number checked by its
// key's rule.
func putInt(a *applier, key string, src *int, dst *int) {
	put(a, key, src, dst, checkFor(intRules, key))
}

func putInt64(a *applier, key string, src *int64, dst *int64) {
	put(a, key, src, dst, checkFor(int64Rules, key))
}

func putFloat(a *applier, key string, src *float64, dst *float64) {
	put(a, key, src, dst, checkFor(floatRules, key))
}

func putDuration(a *applier, key string, src *string, dst *time.Duration) {
	if src == nil {
		return
	}
	v, err := parseDuration(*src)
	if err != nil {
		a.fail(key, err)
		return
	}
	put(a, key, &v, dst, checkFor(durationRules, key))
}

// apply copies every key of f.
func (a *applier) apply(f *fileConfig, cfg *engine.Config, opt *options) {
	a.applyCore(f, cfg, opt)
	a.applyTLS(f.TLS, cfg)
	a.applyRateLimit("rate_limit", f.RateLimit, &cfg.RateLimit)
	a.applyRateLimit("inbound_rate_limit", f.InboundRateLimit, &cfg.InboundRateLimit)
	a.applyCompression(f.Compression, &cfg.Compression)
	a.applyReconnect(f.Reconnect, &cfg.Reconnect)
}

// applyCore copies the top-level keys.
func (a *applier) applyCore(f *fileConfig, cfg *engine.Config, opt *options) {
	putParsed(a, "node_id", f.NodeID, &cfg.NodeID, parseNodeID)
	putParsed(a, "listen", f.Listen, &cfg.ListenAddr, parseListen)
	a.applyPeers(f.Peers, opt)
	putInt(a, "pool_size", f.PoolSize, &cfg.PoolSize)
	putDuration(a, "connect_timeout", f.ConnectTimeout, &cfg.ConnectTimeout)
	putDuration(a, "io_timeout", f.IOTimeout, &cfg.IOTimeout)
	putDuration(a, "frame_timeout", f.FrameTimeout, &cfg.FrameTimeout)
	putInt(a, "max_message_size", f.MaxMessageSize, &cfg.MaxMessageSize)
	put(a, "keepalive", f.Keepalive, &cfg.Keepalive, nil)
	putDuration(a, "keepalive_interval", f.KeepaliveInterval, &cfg.KeepaliveInterval)
	putInt(a, "max_pending_messages", f.MaxPendingMessages, &cfg.MaxPendingMessages)
	putInt(a, "max_pending_bytes", f.MaxPendingBytes, &cfg.MaxPendingBytes)
	putInt(a, "recv_buffer_size", f.RecvBufferSize, &cfg.RecvBufferSize)
	putInt(a, "recv_buffer_bytes", f.RecvBufferBytes, &cfg.RecvBufferBytes)
	putInt(a, "receive_window", f.ReceiveWindow, &cfg.ReceiveWindow)
	putInt64(a, "memory_budget", f.MemoryBudget, &cfg.MemoryBudget)
	putInt(a, "conn_memory_reserve", f.ConnMemoryReserve, &cfg.ConnMemoryReserve)
	putInt(a, "event_loops", f.EventLoops, &cfg.EventLoops)
	putInt(a, "handshake_concurrency", f.HandshakeConcurrency, &cfg.HandshakeConcurrency)
	putDuration(a, "handshake_idle_timeout", f.HandshakeIdleTimeout, &cfg.HandshakeIdleTimeout)
	putInt(a, "max_inbound_connections", f.MaxInboundConnections, &cfg.MaxInboundConnections)
	putInt(a, "max_connections_per_address", f.MaxConnectionsPerAddress, &cfg.MaxConnectionsPerAddress)
	putInt(a, "max_connections_per_peer", f.MaxConnectionsPerPeer, &cfg.MaxConnectionsPerPeer)
	putInt(a, "stream_window", f.StreamWindow, &cfg.StreamWindow)
	putInt(a, "max_streams_per_peer", f.MaxStreamsPerPeer, &cfg.MaxStreamsPerPeer)
	putDuration(a, "close_timeout", f.CloseTimeout, &cfg.CloseTimeout)
	putParsed(a, "security_mode", f.SecurityMode, &cfg.SecurityMode, parseSecurityMode)
	putDuration(a, "stats_interval", f.StatsInterval, &opt.StatsInterval)
	putParsed(a, "log_level", f.LogLevel, &opt.LogLevel, parseLogLevel)
}

// applyPeers parses the peers array ("ID=HOST:PORT" strings).
func (a *applier) applyPeers(src *[]string, opt *options) {
	if src == nil {
		return
	}
	peers := make([]engine.PeerConfig, 0, len(*src))
	for _, s := range *src {
		p, err := parsePeer(s)
		if err != nil {
			a.fail("peers", err)
			continue
		}
		peers = append(peers, p)
	}
	opt.Peers = peers
}

// applyTLS copies the [tls] section. A section that is present turns TLS
// on, starting from the Strict defaults (tlsstate.NewSecureConfig: client
// certificates required, node id checked against the common name, TLS 1.3).
// Relative paths are taken from the configuration file's directory.
func (a *applier) applyTLS(f *tlsFile, cfg *engine.Config) {
	if f == nil {
		return
	}
	if cfg.TLS == nil {
		cfg.TLS = tlsstate.NewSecureConfig("", "", "")
	}
	c := cfg.TLS
	putParsed(a, "tls.cert_path", f.CertPath, &c.CertPath, a.path)
	putParsed(a, "tls.key_path", f.KeyPath, &c.KeyPath, a.path)
	putParsed(a, "tls.ca_path", f.CAPath, &c.CAPath, a.path)
	put(a, "tls.require_client_auth", f.RequireClientAuth, &c.RequireClientAuth, nil)
	putParsed(a, "tls.node_id_verification", f.NodeIDVerification, &c.NodeIDVerification, parseNodeIDVerification)
	putParsed(a, "tls.min_version", f.MinVersion, &c.MinVersion, parseTLSVersion)
}

// path resolves a file name relative to the configuration file.
func (a *applier) path(p string) (string, error) {
	if p == "" || filepath.IsAbs(p) {
		return p, nil
	}
	return filepath.Join(a.dir, p), nil
}

// applyRateLimit copies a rate-limit section: first its preset, then the
// other keys over it.
func (a *applier) applyRateLimit(section string, f *rateLimitFile, rl *engine.RateLimitConfig) {
	if f == nil {
		return
	}
	if f.Preset != nil {
		if name, err := parsePreset(*f.Preset); err != nil {
			a.fail(section+".preset", err)
		} else {
			*rl, _ = bucket.Preset(name)
		}
	}
	put(a, section+".enabled", f.Enabled, &rl.Enabled, nil)
	putInt(a, section+".bucket_size", f.BucketSize, &rl.BucketSize)
	putFloat(a, section+".refill_rate", f.RefillRate, &rl.RefillRate)
}

// applyCompression copies the [compression] section.
func (a *applier) applyCompression(f *compressionFile, c *engine.CompressionConfig) {
	if f == nil {
		return
	}
	put(a, "compression.enabled", f.Enabled, &c.Enabled, nil)
	putParsed(a, "compression.method", f.Method, &c.Method, parseMethod)
	putInt(a, "compression.min_size", f.MinSize, &c.MinSize)
}

// applyReconnect copies the [reconnect] section.
func (a *applier) applyReconnect(f *reconnectFile, r *engine.ReconnectConfig) {
	if f == nil {
		return
	}
	put(a, "reconnect.enabled", f.Enabled, &r.Enabled, nil)
	putDuration(a, "reconnect.initial_backoff", f.InitialBackoff, &r.InitialBackoff)
	putDuration(a, "reconnect.max_backoff", f.MaxBackoff, &r.MaxBackoff)
	putFloat(a, "reconnect.multiplier", f.Multiplier, &r.Multiplier)
	putInt(a, "reconnect.max_attempts", f.MaxAttempts, &r.MaxAttempts)
	putFloat(a, "reconnect.jitter", f.Jitter, &r.Jitter)
}
