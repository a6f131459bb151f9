package config

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"

	"github.com/tensorchain/transport/bucket"
	"github.com/tensorchain/transport/codec"
	"github.com/tensorchain/transport/engine"
	"github.com/tensorchain/transport/tlsstate"
)

// The kinds of settings written as TOML strings and parsed: identities,
// addresses and enumerations. Their errors say what is wanted; the caller
// names the flag or the key.

// nodeID is the kind of node ids: 1 to 255 bytes of UTF-8, no spaces or
// control characters.
var nodeID = text("node id", parseNodeID, identity)

// address is the kind of listen addresses, "host:port".
var address = text("host:port", func(s string) (string, error) {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return "", invalid("%q is not a host:port address", s)
	}
	return s, nil
}, identity)

// securityMode is the kind of security_mode.
var securityMode = text("strict | permissive | development | legacy", func(s string) (engine.SecurityMode, error) {
	m, err := tlsstate.ParseSecurityMode(s)
	if err != nil {
		return m, invalid("unknown mode %q (want strict, permissive, development or legacy)", s)
	}
	return m, nil
}, engine.SecurityMode.String)

// nodeIDVerification is the kind of tls.node_id_verification.
var nodeIDVerification = text("none | common_name | subject_alt_name", func(s string) (tlsstate.NodeIDVerification, error) {
	v, err := tlsstate.ParseNodeIDVerification(s)
	if err != nil {
		return v, invalid("unknown value %q (want none, common_name or subject_alt_name)", s)
	}
	return v, nil
}, tlsstate.NodeIDVerification.String)

// recordLayer is the kind of tls.record_layer.
var recordLayer = text("engine | crypto/tls", func(s string) (tlsstate.RecordLayer, error) {
	v, err := tlsstate.ParseRecordLayer(s)
	if err != nil {
		return v, invalid("unknown value %q (want engine or crypto/tls)", s)
	}
	return v, nil
}, tlsstate.RecordLayer.String)

// tlsVersion is the kind of tls.min_version.
var tlsVersion = text(`"1.2" | "1.3"`, func(s string) (tlsstate.TLSVersion, error) {
	v, err := tlsstate.ParseTLSVersion(s)
	if err != nil {
		return v, invalid("unsupported version %q (want \"1.2\" or \"1.3\")", s)
	}
	return v, nil
}, tlsstate.TLSVersion.String)

// logLevel is the kind of log_level (any case).
var logLevel = text("debug | info | warn | error", func(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.TrimSpace(s))); err != nil {
		return l, invalid("unknown level %q (want debug, info, warn or error)", s)
	}
	return l, nil
}, func(l slog.Level) string { return strings.ToLower(l.String()) })

// compressionMethod is the kind of compression.method: only "lz4".
var compressionMethod = text("lz4", func(s string) (engine.CompressionMethod, error) {
	m := engine.CompressionMethod(strings.ToLower(strings.TrimSpace(s)))
	if m != engine.Lz4 {
		return m, invalid("unknown method %q (want lz4)", s)
	}
	return m, nil
}, func(m engine.CompressionMethod) string { return string(m) })

// preset is the kind of a rate-limit preset's name (bucket.Preset).
var preset = text("default | aggressive | permissive | disabled", func(s string) (string, error) {
	name := strings.TrimSpace(s)
	if _, err := bucket.Preset(name); err != nil {
		return "", invalid("unknown preset %q (want default, aggressive, permissive or disabled)", s)
	}
	return name, nil
}, identity)

// identity formats a string setting.
func identity(s string) string { return s }

// parseNodeID accepts a valid node id.
func parseNodeID(s string) (string, error) {
	if err := codec.ValidateNodeID(s); err != nil {
		return "", invalid("invalid node id %q (want 1 to 255 bytes, no spaces or control characters)", s)
	}
	return s, nil
}

// parsePeer parses "ID=HOST:PORT".
func parsePeer(s string) (engine.PeerConfig, error) {
	id, addr, ok := strings.Cut(s, "=")
	if !ok {
		return engine.PeerConfig{}, invalid("%q: want ID=HOST:PORT", s)
	}
	if _, err := parseNodeID(id); err != nil {
		return engine.PeerConfig{}, invalid("%q: %v", s, err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" {
		return engine.PeerConfig{}, invalid("%q: address %q is not host:port", s, addr)
	}
	return engine.PeerConfig{NodeID: id, Address: addr}, nil
}

// formatPeer is the inverse of parsePeer.
func formatPeer(p engine.PeerConfig) string { return p.NodeID + "=" + p.Address }

// resolve takes a relative file name from dir ("" or an absolute name
// stays as it is).
func resolve(dir, name string) string {
	if name == "" || dir == "" || filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(dir, name)
}

// quote writes s as a TOML basic string.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
